"""Episodes alert and near misses do not: the built-in rules run on the world's truth.

The truth boxes stand in for a perfect detector and tracker, so these tests check the
schedule against the rules' defaults (gridsight/plugins/rules): every labelled episode
raises its hazard within the rule's onset delay of its ``start``, and nothing alerts
outside an episode — the near misses (a walk along the footpath, a car driving through
the lane, a bicycle in the lobby, a vendor inside the allowed hours) stay silent.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from gridsight.core.detection.detections import Detections
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import zones_from_config
from gridsight.core.plugins import build_plugin_manager, hazard_rules
from gridsight.simulator import SCENES, open_world
from gridsight.simulator.schedule import HAZARD_OF_SCENE

HAZARD_SETTINGS: dict[str, dict[str, Any]] = {
    "near_water": {"zone": "water_edge"},
    "ebike": {"zone": "lobby", "line": "lobby_entrance"},
    "fire_lane": {"zone": "fire_lane"},
    "vending": {"zone": "no_vending", "allowed_hours": ["06:00-08:00"]},
}
# Longest expected delay from an episode's start to the rule's alert, per hazard.
ONSET_S = {"near_water": 4.0, "ebike": 3.0, "fire_lane": 300.0 + 25.0, "vending": 120.0 + 25.0}


def _run_rules(uri: str, duration: float) -> tuple[list[float], dict[str, Any]]:
    world = open_world(uri)
    hazard = HAZARD_OF_SCENE[world.spec.scene]
    settings = dict(HAZARD_SETTINGS[hazard])
    runner = CameraHazards.from_config(
        "cam",
        "village",
        "grid",
        zones_from_config(world.zones),
        {hazard: settings},
        hazard_rules(build_plugin_manager()),
    )
    starts: list[float] = []
    n = round(duration * world.fps)
    for index in range(n):
        ts = index / world.fps
        truth = world.truth_at(ts, index)
        det = Detections(
            xyxy=truth.boxes,
            confidence=np.ones(len(truth.boxes)),
            class_id=truth.roles,
            tracker_id=truth.track_ids,
        )
        starts += [e.ts for e in runner.process(ts, det, world.wall_time(ts)) if e.phase == "start"]
    episodes, near = world.labels(duration)
    return starts, {"episodes": episodes, "near_misses": near, "hazard": hazard}


def _check(starts: list[float], labels: dict[str, Any], duration: float) -> None:
    hazard = labels["hazard"]
    onset = ONSET_S[hazard]
    episodes = labels["episodes"]
    for ts in starts:
        assert any(e["start"] - 0.5 <= ts <= e["end"] + 1.0 for e in episodes), (
            f"{hazard} alert at {ts:.1f}s outside every episode {episodes}; "
            f"near misses: {labels['near_misses']}"
        )
    for e in episodes:
        if e["start"] + onset + 2.0 > min(e["end"], duration):
            continue  # the stream ends before the rule could confirm it
        hits = [ts for ts in starts if e["start"] - 0.5 <= ts <= e["start"] + onset + 1.0]
        assert hits, f"{hazard} episode {e} raised no alert (alerts: {starts})"


@pytest.mark.parametrize(
    ("scene", "seed", "duration"), [("reservoir", 3, 240.0), ("stairwell", 3, 240.0)]
)
def test_short_hazards_alert_only_in_episodes(scene: str, seed: int, duration: float) -> None:
    starts, labels = _run_rules(f"synthetic://{scene}?seed={seed}&fps=2", duration)
    assert labels["episodes"], "the schedule must hold an episode in the first minutes"
    assert labels["near_misses"]
    assert starts
    _check(starts, labels, duration)


@pytest.mark.slow
@pytest.mark.parametrize(("scene", "seed"), [(s, k) for s in SCENES for k in (21, 22)])
def test_all_hazards_alert_only_in_episodes(scene: str, seed: int) -> None:
    duration = 900.0
    starts, labels = _run_rules(f"synthetic://{scene}?seed={seed}&fps=2", duration)
    _check(starts, labels, duration)


def test_fire_lane_parked_car_alerts_after_the_dwell() -> None:
    duration = 420.0
    starts, labels = _run_rules("synthetic://fire_lane?seed=3&fps=1", duration)
    episode = labels["episodes"][0]
    assert episode["start"] < 60.0
    near = {n["kind"] for n in labels["near_misses"]}
    assert near  # drive-throughs / parked beside the lane happen alongside
    (first,) = starts
    assert 300.0 - 15.0 <= first - episode["start"] <= 300.0 + 25.0


def test_vendor_inside_allowed_hours_is_a_near_miss() -> None:
    duration = 320.0
    uri = "synthetic://street?seed=4&fps=1&clock=06:05"
    starts, labels = _run_rules(uri, duration)
    assert not labels["episodes"]
    assert any(n["kind"] == "vending_in_allowed_hours" for n in labels["near_misses"])
    assert starts == []
    # The same stall at 20:05 is an episode.
    starts, labels = _run_rules(uri.replace("06:05", "20:05"), duration)
    assert labels["episodes"]
    _check(starts, labels, duration)


@pytest.mark.parametrize("scene", SCENES)
def test_schedule_shape(scene: str) -> None:
    """Episodes are ordered, separate and longer than the rule needs; near misses exist."""
    # Midday, so street stalls are outside the allowed hours (06:00-08:00).
    world = open_world(f"synthetic://{scene}?seed=12&clock=12:00")
    episodes, near = world.labels(3600.0)
    assert episodes and near
    hazard = HAZARD_OF_SCENE[scene]
    min_len = {"near_water": 10.0, "ebike": 5.0, "fire_lane": 400.0, "vending": 150.0}[hazard]
    for a, b in itertools.pairwise(episodes):
        assert a["hazard"] == b["hazard"] == hazard
        assert a["end"] < b["start"], "episodes of one camera must not overlap"
    for e in episodes[:-1]:  # the last may be cut at the duration
        assert e["end"] - e["start"] >= min_len, e
    assert all(n["end"] >= n["start"] for n in near)
