"""The four rules on the synthetic world's ground truth: one alert per scripted episode.

The world (gridsight.simulator) scripts hazard episodes, look-alike near misses (a walk
along the reservoir path, a car driving through the fire lane, a bicycle into the lobby,
a stall inside the allowed hours or passing by) and background traffic, and labels when
each episode's condition starts. Fed the per-frame truth boxes as perfect detections, the
built-in rules with their default settings must raise exactly one start per episode,
within the rule's confirmation or dwell of the episode's start, and none otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from gridsight.core.detection.detections import Detections
from gridsight.core.events import HazardEvent
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import zones_from_config
from gridsight.core.plugins import build_plugin_manager, hazard_rules

simulator = pytest.importorskip("gridsight.simulator.world")

# Seconds from an episode's start to the alert with default settings: the confirmation
# (near_water 2 s, ebike 0.5 s) or the dwell (fire_lane 300 s, vending 120 s).
DELAY = {"near_water": 2.0, "ebike": 0.5, "fire_lane": 300.0, "vending": 120.0}
SLACK = 3.0  # a frame at 2 fps, and a stopping vehicle's last metres

CASES = [
    ("synthetic://reservoir?seed=9&fps=2&w=640&h=360", 700.0),
    ("synthetic://stairwell?seed=8&fps=2&w=640&h=360", 700.0),
    ("synthetic://fire_lane?seed=7&fps=2&w=640&h=360", 1400.0),
    ("synthetic://street?seed=5&fps=2&w=640&h=360&clock=10:00", 1400.0),
    # Set up at 07:50, inside the morning market: the alert comes when it ends at 08:00.
    ("synthetic://street?seed=6&fps=2&w=640&h=360&clock=07:50", 1000.0),
]


def _run(uri: str, duration: float) -> tuple[str, list[dict], list[HazardEvent]]:
    world = simulator.open_world(uri)
    hazard = world.describe()["hazard"]
    settings: dict = {}
    cam = CameraHazards.from_config(
        "cam",
        "village",
        "grid",
        zones_from_config(world.zones),
        {hazard: settings},
        hazard_rules(build_plugin_manager()),
    )
    events: list[HazardEvent] = []
    for i in range(int(duration * world.fps)):
        truth = world.truth_at(i / world.fps, i)
        det = Detections(
            xyxy=truth.boxes,
            confidence=np.full(len(truth.roles), 0.9, np.float32),
            class_id=truth.roles,
            tracker_id=truth.track_ids,
        )
        events += cam.process(truth.ts, det, world.wall_time(truth.ts))
    events += cam.flush()
    episodes, _ = world.labels(duration)
    return hazard, episodes, events


@pytest.mark.slow
@pytest.mark.parametrize(
    ("uri", "duration"), CASES, ids=[c[0].split("?")[0][12:] + c[0][-5:] for c in CASES]
)
def test_one_alert_per_episode_and_none_for_near_misses(uri: str, duration: float) -> None:
    hazard, episodes, events = _run(uri, duration)
    starts = [e.ts for e in events if e.phase == "start"]
    due = [ep for ep in episodes if ep["start"] + DELAY[hazard] + SLACK < duration]
    assert due, "the scenario should contain at least one episode"
    assert len(starts) == len(due), (starts, episodes)
    for ep, ts in zip(due, starts, strict=True):
        assert ep["start"] - SLACK <= ts <= ep["start"] + DELAY[hazard] + SLACK, (ep, ts)
    assert sum(e.phase == "end" for e in events) == len(starts)
