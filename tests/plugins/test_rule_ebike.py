"""Scenario tests of the ``ebike`` rule."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.errors import ConfigError
from gridsight.plugins.rules.ebike import EbikeRule, EbikeSettings

from .rule_scenarios import Actor, phases, run, starts, stay, stream

# The lobby seen from outside: the doorway at y=300, the street below it. The entrance
# line runs left to right, so its screen-left side (inward) is up, into the lobby.
ZONES = [
    {
        "name": "lobby",
        "kind": "polygon",
        "points": [[200, 100], [440, 100], [440, 300], [200, 300]],
    },
    {
        "name": "lobby_entrance",
        "kind": "line",
        "points": [[200, 300], [440, 300]],
        "inward": "left",
    },
]
BIKE = (40.0, 60.0)
INTO_LOBBY = [(0, 320, 380), (3, 320, 250), (20, 320, 250)]


def test_ebike_entering_the_lobby_is_one_event() -> None:
    bike = Actor(Role.EBIKE, BIKE, INTO_LOBBY, track=4, jitter=1.0)
    events = run(EbikeRule, ZONES, {}, stream([bike], 40))
    assert phases(events) == ["start", "end"]
    (start,) = starts(events)
    # The anchor crosses the doorway at ~t=1.8; confirmation 0.5 s.
    assert 2.0 <= start.ts <= 2.6
    assert start.track_ids == (4,)
    assert start.extra["crossed_inward"] == 1


@pytest.mark.parametrize("role", [Role.BICYCLE, Role.PERSON])
def test_bicycles_and_pedestrians_never_alert(role: Role) -> None:
    actor = Actor(role, BIKE if role is Role.BICYCLE else (30, 80), INTO_LOBBY, jitter=1.0)
    assert run(EbikeRule, ZONES, {}, stream([actor], 40)) == []


def test_crossing_alone_alerts_when_the_bike_vanishes_indoors() -> None:
    # Seen for a single frame past the doorway, then gone into the dark stairwell.
    bike = Actor(Role.EBIKE, BIKE, [(0, 320, 380), (2.2, 320, 298)], track=9)
    events = run(EbikeRule, ZONES, {}, stream([bike], 20))
    assert phases(events) == ["start", "end"]
    # Crossed at t=2.2; held by the crossing, it confirms at the first frame 0.5 s later.
    assert starts(events)[0].ts == pytest.approx(2.8, abs=0.01)
    assert starts(events)[0].extra["in_lobby"] == 0
    # The polygon alone sees it for one frame only: shorter than the confirmation.
    assert run(EbikeRule, ZONES, {"line": None}, stream([bike], 20)) == []


def test_crossings_survive_dropped_frames() -> None:
    bike = Actor(Role.EBIKE, BIKE, [(0, 320, 380), (2.2, 320, 298)], track=9)
    events = run(EbikeRule, ZONES, {"zone": None}, stream([bike], 20, drop_frames=0.3, seed=2))
    assert phases(events) == ["start", "end"]


def test_ebike_passing_by_or_parked_outside_never_alerts() -> None:
    passing = Actor(Role.EBIKE, BIKE, [(0, -40, 340), (10, 680, 340)], track=1)
    parked = Actor(Role.EBIKE, BIKE, stay(480, 320, 0, 60), track=2)
    beside = Actor(Role.EBIKE, BIKE, [(0, 150, 380), (5, 150, 200), (30, 150, 200)], track=3)
    assert run(EbikeRule, ZONES, {}, stream([passing, parked, beside], 60)) == []


def test_ebike_taken_back_out_cancels_the_crossing() -> None:
    rule = EbikeRule(EbikeSettings(zone=None, crossing_hold_s=10), _zones())
    box_out = np.array([[300, 320, 340, 380]], np.float32)  # anchor y=380: outside
    box_in = np.array([[300, 230, 340, 290]], np.float32)  # anchor y=290: inside
    seq = [box_out, box_in, box_out]
    active = [
        rule.observe(t, _det(b, tid=5)).active for t, b in zip([0.0, 0.2, 0.4], seq, strict=True)
    ]
    assert active == [False, True, False]


def test_works_without_track_ids() -> None:
    rule = EbikeRule(EbikeSettings(), _zones())
    inside = _det(np.array([[300, 200, 340, 260]], np.float32), tid=None)
    obs = rule.observe(0.0, inside)
    assert obs.active and obs.track_ids == ()


def test_settings_and_zone_checks() -> None:
    with pytest.raises(ValidationError, match="at least one of zone"):
        EbikeSettings(zone=None, line=None)
    assert EbikeRule.zone_names(EbikeSettings()) == ("lobby", "lobby_entrance")
    assert EbikeRule.zone_names(EbikeSettings(line=None)) == ("lobby",)
    with pytest.raises(ConfigError, match=r"hazards\.ebike: .*line must name a line zone"):
        run(EbikeRule, ZONES, {"line": "lobby"}, iter([]))
    with pytest.raises(
        ConfigError, match=r"camera 'cam-test', hazards\.ebike: needs zone\(s\) hall"
    ):
        run(EbikeRule, ZONES, {"zone": "hall"}, iter([]))


def _zones():
    from gridsight.core.hazards.zones import zones_from_config

    return zones_from_config(ZONES)


def _det(box: np.ndarray, tid: int | None) -> Detections:
    return Detections(
        xyxy=box,
        confidence=np.array([0.9]),
        class_id=np.array([int(Role.EBIKE)]),
        tracker_id=None if tid is None else np.array([tid]),
    )
