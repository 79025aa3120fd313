"""Scenario tests of the ``vending`` rule."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.errors import DataError
from gridsight.core.hazards.rule import FrameInfo
from gridsight.core.hazards.zones import zones_from_config
from gridsight.plugins.rules.vending import (
    VendingRule,
    VendingSettings,
    in_hours,
    parse_hours,
    parse_time_of_day,
)

from .rule_scenarios import Actor, at, phases, run, starts, stay, stream

ROAD = [
    {
        "name": "no_vending",
        "kind": "polygon",
        "points": [[0, 200], [640, 200], [640, 360], [0, 360]],
    }
]
STALL = (80.0, 60.0)
PERSON = (30.0, 80.0)
FPS = 2.0


def scene(with_vendor: bool = True, stall_y: float = 280) -> list[Actor]:
    """A stall set up at t=5 and a vendor beside it, both there until t=605."""
    actors = [Actor(Role.STALL, STALL, stay(340, stall_y, 5, 605), track=1, jitter=1.0)]
    if with_vendor:
        actors.append(
            Actor(Role.PERSON, PERSON, stay(395, stall_y - 10, 5, 605), track=2, jitter=3.0)
        )
    return actors


def passers_by() -> list[Actor]:
    return [
        Actor(Role.PERSON, PERSON, [(t, -20, 330), (t + 20, 660, 330)], track=100 + k)
        for k, t in enumerate(range(0, 600, 15))
    ]


def test_stall_outside_allowed_hours_is_one_event() -> None:
    settings = {"allowed_hours": ["06:00-08:00"]}
    frames = stream(scene() + passers_by(), 700, fps=FPS)
    events = run(VendingRule, ROAD, settings, frames, start=at("10:00:00"))
    assert phases(events).count("start") == 1 and phases(events).count("end") == 1
    (start,) = starts(events)
    # Set up at t=5, default dwell 120 s.
    assert start.ts == pytest.approx(125.0, abs=1.0)
    assert set(start.track_ids) == {1, 2}  # the stall and its vendor, not the passers-by
    assert start.extra["time_of_day"] == "10:02:05"
    assert start.extra["stalls"] == 1 and start.extra["people"] == 1


def test_stall_inside_allowed_hours_is_not_an_alert() -> None:
    settings = {"allowed_hours": ["06:00-08:00"]}
    assert run(VendingRule, ROAD, settings, stream(scene(), 700, fps=FPS), start=at("06:30")) == []


@pytest.mark.parametrize(("clock", "alerts"), [("23:55", False), ("01:59", True), ("21:00", True)])
def test_allowed_hours_over_midnight(clock: str, alerts: bool) -> None:
    settings = {"allowed_hours": ["22:00-02:00"]}
    events = run(VendingRule, ROAD, settings, stream(scene(), 700, fps=FPS), start=at(clock))
    assert (phases(events).count("start") == 1) is alerts
    assert phases(events).count("start") <= 1


def test_stall_staying_past_the_allowed_hours_alerts_when_they_end() -> None:
    settings = {"allowed_hours": ["06:00-08:00"]}
    events = run(VendingRule, ROAD, settings, stream(scene(), 700, fps=FPS), start=at("07:55"))
    assert phases(events) == ["start", "update", "end"]
    assert starts(events)[0].ts == pytest.approx(300.0)  # 08:00:00, dwell long past
    assert starts(events)[0].extra["time_of_day"] == "08:00:00"


def test_unattended_stall_needs_min_people_zero() -> None:
    settings: dict = {}
    assert run(VendingRule, ROAD, settings, stream(scene(with_vendor=False), 700, fps=FPS)) == []
    settings["min_people"] = 0
    events = run(VendingRule, ROAD, settings, stream(scene(with_vendor=False), 700, fps=FPS))
    assert phases(events).count("start") == 1


def test_passers_by_do_not_man_a_stall() -> None:
    events = run(
        VendingRule, ROAD, {}, stream(scene(with_vendor=False) + passers_by(), 700, fps=FPS)
    )
    assert events == []


def test_stall_off_the_road_is_not_an_alert() -> None:
    assert run(VendingRule, ROAD, {}, stream(scene(stall_y=190), 700, fps=FPS)) == []


def test_the_frames_wall_time_is_read_in_the_rules_time_zone() -> None:
    settings = {"allowed_hours": ["06:00-08:00"]}
    # 23:00 UTC is 07:00 in Jingqiao (UTC+8): allowed. 02:00 UTC is 10:00: not allowed.
    frames = list(stream(scene(), 300, fps=FPS))
    assert run(VendingRule, ROAD, settings, iter(frames), start=at("23:00", UTC)) == []
    events = run(VendingRule, ROAD, settings, iter(frames), start=at("02:00", UTC))
    assert phases(events) == ["start", "end"]
    assert starts(events)[0].extra["time_of_day"] == "10:02:05"
    # The event's wall_time is the frame's, not the machine's.
    assert starts(events)[0].wall_time == "2026-03-02T02:02:05.000+00:00"
    # The same frames read in another zone: 02:00 UTC is 07:00 at UTC+5, allowed.
    east = {**settings, "utc_offset_h": 5.0}
    assert run(VendingRule, ROAD, east, iter(frames), start=at("02:00", UTC)) == []


def test_observe_without_a_wall_time_is_refused() -> None:
    zones = zones_from_config(ROAD)
    with pytest.raises(DataError, match="observe_frame"):
        VendingRule(VendingSettings(), zones).observe(0.0, Detections.empty(with_tracker=True))
    rule = VendingRule(VendingSettings(dwell_s=0, min_people=0, stationary_window_s=0), zones)
    stall = Detections(
        xyxy=np.array([[300, 260, 380, 300]], np.float32),
        confidence=np.array([0.9], np.float32),
        class_id=np.array([int(Role.STALL)]),
        tracker_id=np.array([1]),
    )
    with pytest.raises(DataError, match="without a time zone"):
        rule.observe_frame(FrameInfo(0.0, datetime(2026, 3, 2, 10, 0)), stall)


def test_clock_start_is_gone_with_a_message_saying_what_to_use() -> None:
    with pytest.raises(ValidationError, match=r"clock_start is no longer.*start_time"):
        VendingSettings.model_validate({"clock_start": "10:00"})


def test_parse_and_match_hours() -> None:
    assert parse_time_of_day("7:05") == 7 * 3600 + 300
    assert parse_time_of_day("23:59:59") == 86_399
    assert parse_hours(["06:00-08:00", "22:00-02:00", "00:00-24:00"]) == [
        (21_600, 28_800),
        (79_200, 7_200),
        (0, 86_400),
    ]
    night = parse_hours(["22:00-02:00"])
    assert [in_hours(h * 3600, night) for h in (21, 22, 23, 0, 1, 2, 3)] == [
        False,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert in_hours(12 * 3600, parse_hours(["00:00-24:00"]))
    assert not in_hours(12 * 3600, [])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allowed_hours": ["06:00-06:00"]}, "starts where it ends"),
        ({"allowed_hours": ["0600-0800"]}, "HH:MM"),
        ({"allowed_hours": ["25:00-26:00"]}, "out of range"),
        ({"allowed_hours": ["06:00-08:00-09:00"]}, "range"),
        ({"min_people": -1}, "min_people"),
        ({"stall_roles": ["kiosk"]}, "unknown role"),
    ],
)
def test_settings_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        VendingSettings(**kwargs)


def test_default_allowed_hours_are_the_morning_market() -> None:
    assert VendingSettings().allowed_hours == ["06:00-08:00"]
    assert VendingSettings(allowed_hours=[]).allowed_hours == []


def pacing_vendor(y: float = 280) -> Actor:
    """A vendor pacing about his stall: 50-70 px steps (over his 30 px width) every 5 s."""
    spots = [(315.0, y - 5), (365.0, y + 5), (340.0, y + 20), (385.0, y - 8)]
    path: list[tuple[float, float, float]] = []
    t = 5.0
    k = 0
    while t < 605:
        x, yy = spots[k % len(spots)]
        path += [(t, x, yy), (min(t + 4.0, 605.0), x, yy)]
        t += 5.0
        k += 1
    return Actor(Role.PERSON, PERSON, path, track=2, jitter=2.0)


def test_vendor_pacing_about_his_stall_is_one_event_at_the_dwell() -> None:
    stall = Actor(Role.STALL, STALL, stay(340, 280, 5, 605), track=1, jitter=1.0)
    frames = stream([stall, pacing_vendor()], 700, fps=FPS)
    settings: dict = {}
    events = run(VendingRule, ROAD, settings, frames)
    assert phases(events).count("start") == 1 and phases(events).count("end") == 1
    (start,) = starts(events)
    assert start.ts == pytest.approx(125.0, abs=2.0)
    assert set(start.track_ids) == {1, 2}
    # Judged by his own box alone (no neighbourhood), he never stands still long enough.
    assert run(VendingRule, ROAD, {**settings, "attend_factor": 0.0}, frames) == []


def test_vendor_pacing_far_from_the_stall_does_not_man_it() -> None:
    stall = Actor(Role.STALL, STALL, stay(340, 280, 5, 605), track=1, jitter=1.0)
    # The same pacing, 100 px below the stall's neighbourhood (y 190-310).
    frames = stream([stall, pacing_vendor(y=400)], 700, fps=FPS)
    road = [{**ROAD[0], "points": [[0, 200], [640, 200], [640, 460], [0, 460]]}]
    assert run(VendingRule, road, {}, frames) == []


@pytest.mark.parametrize(("every_s", "speed"), [(3.0, 60.0), (4.0, 40.0), (6.0, 30.0)])
def test_stream_of_passers_by_through_an_unmanned_stall_is_not_an_alert(
    every_s: float, speed: float
) -> None:
    stall = Actor(Role.STALL, STALL, stay(340, 280, 5, 605), track=1, jitter=1.0)
    crossing = 680.0 / speed
    walkers = [
        Actor(Role.PERSON, PERSON, [(t, -20, y), (t + crossing, 660, y)], track=100 + k)
        for k, (t, y) in enumerate(
            (t, 285.0 + 15.0 * (k % 3)) for k, t in enumerate(np.arange(0, 600, every_s))
        )
    ]
    frames = stream([stall, *walkers], 700, fps=FPS)
    assert run(VendingRule, ROAD, {}, frames) == []
