"""Scenario tests of the ``fire_lane`` rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gridsight.core.detection.roles import Role
from gridsight.core.errors import ConfigError
from gridsight.plugins.rules.fire_lane import FireLaneRule, FireLaneSettings

from .rule_scenarios import Actor, phases, run, starts, stay, stream

LANE = [
    {
        "name": "fire_lane",
        "kind": "polygon",
        "points": [[100, 200], [540, 200], [540, 330], [100, 330]],
    }
]
CAR = (120.0, 60.0)
# Fire-lane cameras need no more than 2 fps (dwells are minutes); it keeps tests quick.
FPS = 2.0


def parked_car(arrive: float, leave: float, **kw: object) -> Actor:
    """Drives in from the left, parks at x=300 from ``arrive`` to ``leave``, drives off right."""
    path = [(arrive - 20, -100, 300), (arrive, 300, 300), (leave, 300, 300), (leave + 20, 800, 300)]
    return Actor(Role.CAR, CAR, path, **kw)  # type: ignore[arg-type]


def test_car_parked_ten_minutes_is_one_event_starting_at_the_dwell() -> None:
    car = parked_car(arrive=30, leave=630, jitter=1.5)
    events = run(FireLaneRule, LANE, {}, stream([car], 800, fps=FPS))
    assert phases(events).count("start") == 1
    assert phases(events).count("end") == 1
    (start,) = starts(events)
    # Parked at t=30; default dwell 300 s: the event starts at t=330 (the last metres of
    # braking already count as standing, hence the slack).
    assert start.ts == pytest.approx(330.0, abs=2.0)
    assert start.extra["dwell_s"] == pytest.approx(300.0, abs=0.5)  # by definition
    # Occupancy counts time judged stationary: the first 10 s (the window) are missing.
    assert 0.95 <= start.extra["occupancy"] <= 1.0
    assert start.track_ids == (1,)
    end = events[-1]
    assert end.phase == "end" and end.id == start.id
    # It drove off at 630 (stationarity lost within ~3 s); the end follows 60 s later.
    assert 690 <= end.ts <= 700
    assert end.extra["reason"] == "cleared"


def test_car_driving_through_never_alerts() -> None:
    slow = Actor(Role.CAR, CAR, [(0, -100, 300), (60, 800, 300)])  # 15 px/s: a crawl
    events = run(FireLaneRule, LANE, {"dwell_s": 20}, stream([slow], 120, fps=FPS))
    assert events == []


def test_steady_traffic_never_alerts() -> None:
    cars = [
        Actor(Role.CAR, CAR, [(t, -100, 300), (t + 25, 800, 300)], track=k)
        for k, t in enumerate(range(0, 600, 8))
    ]
    events = run(FireLaneRule, LANE, {"dwell_s": 60}, stream(cars, 650, fps=FPS))
    assert events == []


def test_id_switch_every_30_s_is_still_one_event() -> None:
    car = parked_car(arrive=30, leave=630, track=lambda t: 1 + int(t // 30), jitter=1.0)
    events = run(FireLaneRule, LANE, {}, stream([car], 800, fps=FPS))
    assert phases(events).count("start") == 1
    assert phases(events).count("end") == 1
    assert len({e.id for e in events}) == 1
    assert starts(events)[0].ts == pytest.approx(330.0, abs=2.0)
    # Every id the tracker gave it while the event was open (one per 30 s).
    assert set(range(12, 22)) <= set(events[-1].track_ids)


def test_short_stop_is_not_an_alert() -> None:
    car = parked_car(arrive=30, leave=150)  # a two-minute delivery stop
    assert run(FireLaneRule, LANE, {}, stream([car], 300, fps=FPS)) == []


def test_missed_detections_and_dropped_frames_do_not_split_the_event() -> None:
    car = parked_car(arrive=30, leave=630, jitter=1.5)
    frames = stream([car], 800, drop_frames=0.2, miss=0.3, seed=3, fps=FPS)
    events = run(FireLaneRule, LANE, {}, frames)
    assert phases(events).count("start") == 1
    assert phases(events).count("end") == 1
    assert starts(events)[0].ts == pytest.approx(330.0, abs=2.0)


def test_car_parked_next_to_the_lane_is_not_an_alert() -> None:
    outside = Actor(Role.CAR, CAR, stay(300, 380, 0, 600))  # anchor below the lane
    assert run(FireLaneRule, LANE, {}, stream([outside], 600, fps=FPS)) == []


def test_roles_are_configurable() -> None:
    person = Actor(Role.PERSON, (30, 80), stay(300, 300, 0, 500))
    assert run(FireLaneRule, LANE, {"dwell_s": 60}, stream([person], 500, fps=FPS)) == []
    stall = Actor(Role.STALL, (80, 60), stay(300, 300, 0, 500))
    events = run(
        FireLaneRule, LANE, {"dwell_s": 60, "roles": ["stall"]}, stream([stall], 500, fps=FPS)
    )
    assert phases(events) == ["start", "update", "end"]
    car = Actor(Role.CAR, CAR, stay(300, 300, 0, 500))
    assert (
        run(FireLaneRule, LANE, {"dwell_s": 60, "roles": ["stall"]}, stream([car], 500, fps=FPS))
        == []
    )


def test_second_car_joining_is_an_update_not_a_new_event() -> None:
    first = parked_car(arrive=30, leave=900, track=1)
    second = Actor(Role.CAR, CAR, [(400, 800, 260), (420, 460, 260), (900, 460, 260)], track=2)
    events = run(
        FireLaneRule, LANE, {"update_every_s": None}, stream([first, second], 1000, fps=FPS)
    )
    assert phases(events) == ["start", "update", "end"]
    assert events[1].track_ids == (1, 2) and events[1].extra["reason"] == "new_tracks"


def test_settings() -> None:
    s = FireLaneSettings()
    assert (s.dwell_s, s.confirm_s, s.roles) == (300.0, 0.0, (Role.CAR, Role.MOTORBIKE, Role.STALL))
    assert FireLaneSettings(roles=["Car", 3]).roles == (Role.CAR, Role.MOTORBIKE)
    with pytest.raises(ValidationError, match="unknown role 'tractor'"):
        FireLaneSettings(roles=["tractor"])
    with pytest.raises(ValidationError, match="dwell_minutes"):
        FireLaneSettings(dwell_minutes=5)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="must name a polygon zone"):
        FireLaneRule(FireLaneSettings(zone="gate"), {"gate": _line()})


def _line():
    from gridsight.core.hazards.zones import LineZone

    return LineZone("gate", (0, 0), (10, 0))
