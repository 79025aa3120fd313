"""Scenario tests of the ``near_water`` rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gridsight.core.detection.roles import Role
from gridsight.plugins.rules.near_water import NearWaterRule, NearWaterSettings

from .rule_scenarios import Actor, phases, run, starts, stay, stream

# The water's edge is a band along the reservoir; the footpath runs above it (y ~ 190).
EDGE = [
    {
        "name": "water_edge",
        "kind": "polygon",
        "points": [[0, 250], [640, 230], [640, 300], [0, 320]],
    }
]
PERSON = (30.0, 80.0)


def test_person_walking_along_the_path_never_alerts() -> None:
    walker = Actor(Role.PERSON, PERSON, [(0, -20, 190), (60, 660, 195)], jitter=1.0)
    assert run(NearWaterRule, EDGE, {}, stream([walker], 70)) == []


def test_person_standing_at_the_edge_is_one_event() -> None:
    path = [(0, 100, 190), (5, 300, 190), (8, 300, 270), (68, 300, 270), (71, 300, 190)]
    path += [(76, 600, 190)]
    person = Actor(Role.PERSON, PERSON, path, track=7, jitter=1.0)
    events = run(NearWaterRule, EDGE, {}, stream([person], 100))
    assert phases(events).count("start") == 1
    assert phases(events).count("end") == 1
    (start,) = starts(events)
    # Feet enter the band at about t=7.1 (y crosses ~248); confirmation is 2 s.
    assert 8.8 <= start.ts <= 9.6
    assert start.track_ids == (7,)
    assert start.confidence == pytest.approx(0.9)
    assert start.extra["people"] == 1
    assert events[-1].id == start.id and events[-1].extra["reason"] == "cleared"
    # Feet leave the band at ~t=69.1; the end comes at the first frame 10 s later.
    assert 79.0 < events[-1].ts <= 79.6


def test_crossing_the_band_quickly_is_not_an_alert() -> None:
    # Walks down to the water and straight back: feet in the band for about 1 s.
    path = [(0, 300, 190), (3, 300, 240), (3.5, 300, 275), (4, 300, 240), (7, 300, 190)]
    person = Actor(Role.PERSON, PERSON, path)
    assert run(NearWaterRule, EDGE, {}, stream([person], 20)) == []


def test_dropped_frames_do_not_split_or_delay_much() -> None:
    person = Actor(Role.PERSON, PERSON, stay(300, 270, 10, 130), jitter=1.0)
    frames = stream([person], 160, drop_frames=0.25, miss=0.1, seed=5)
    events = run(NearWaterRule, EDGE, {}, frames)
    assert phases(events).count("start") == 1 and phases(events).count("end") == 1
    assert 12.0 <= starts(events)[0].ts <= 13.5


def test_only_confident_people_count() -> None:
    faint = Actor(Role.PERSON, PERSON, stay(300, 270, 0, 30), conf=0.2)
    assert run(NearWaterRule, EDGE, {}, stream([faint], 30)) == []
    events = run(NearWaterRule, EDGE, {"min_confidence": 0.1}, stream([faint], 30))
    assert phases(events) == ["start", "end"]
    car = Actor(Role.CAR, (120, 60), stay(300, 270, 0, 30))
    assert run(NearWaterRule, EDGE, {}, stream([car], 30)) == []


def test_a_second_person_is_an_update() -> None:
    a = Actor(Role.PERSON, PERSON, stay(200, 275, 0, 60), track=1)
    b = Actor(Role.PERSON, PERSON, stay(400, 265, 20, 60), track=2)
    events = run(NearWaterRule, EDGE, {"update_every_s": None}, stream([a, b], 60))
    assert phases(events) == ["start", "update", "end"]
    assert events[1].track_ids == (1, 2) and events[1].extra["people"] == 2
    assert events[-1].track_ids == (1, 2)


def test_camera_anchor_setting_is_used() -> None:
    # Box bottom in the band but its centre above it: with anchor=center, no alert.
    person = Actor(Role.PERSON, PERSON, stay(300, 262, 0, 30))

    def use_center(cam: object) -> None:
        cam.anchor = "center"  # type: ignore[attr-defined]

    assert phases(run(NearWaterRule, EDGE, {}, stream([person], 30))) == ["start", "end"]
    assert run(NearWaterRule, EDGE, {}, stream([person], 30), setup=use_center) == []


def test_defaults_and_validation() -> None:
    s = NearWaterSettings()
    assert (s.zone, s.confirm_s, s.min_confidence, s.roles) == (
        "water_edge",
        2.0,
        0.4,
        (Role.PERSON,),
    )
    with pytest.raises(ValidationError, match="min_confidence"):
        NearWaterSettings(min_confidence=1.5)
    assert NearWaterRule.zone_names(NearWaterSettings(zone="pond")) == ("pond",)
