"""Properties of the four rules together: no hazard, no event."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import zones_from_config
from gridsight.core.plugins import build_plugin_manager, hazard_rules

RULES = hazard_rules(build_plugin_manager())
# Every zone lies in the top half of the image (y < 180).
ZONES = [
    {"name": "water_edge", "points": [[0, 100], [640, 100], [640, 170], [0, 170]]},
    {"name": "fire_lane", "points": [[0, 0], [640, 0], [640, 179], [0, 179]]},
    {"name": "lobby", "points": [[200, 20], [440, 20], [440, 150], [200, 150]]},
    {"name": "lobby_entrance", "kind": "line", "points": [[200, 150], [440, 150]]},
    {"name": "no_vending", "points": [[0, 60], [640, 60], [640, 175], [0, 175]]},
]
HAZARDS = {
    "near_water": {"confirm_s": 0},
    "fire_lane": {"dwell_s": 5, "stationary_window_s": 1},
    "ebike": {"confirm_s": 0},
    "vending": {"dwell_s": 5, "stationary_window_s": 1, "allowed_hours": [], "min_people": 0},
}  # fmt: skip


def camera() -> CameraHazards:
    return CameraHazards.from_config("c", "v", "g", zones_from_config(ZONES), HAZARDS, RULES)


@st.composite
def frames(draw: st.DrawFn, *, below: bool) -> list[tuple[float, Detections]]:
    """Random streams of tracked detections; with ``below``, every anchor is in the bottom
    half of the image (outside every zone), objects moving or standing as they like."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_frames = draw(st.integers(1, 120))
    rng = np.random.default_rng(seed)
    out = []
    t = 0.0
    for _ in range(n_frames):
        t += float(rng.choice([0.2, 0.2, 0.4, 1.0]))
        n = int(rng.integers(0, 8))
        w = rng.uniform(10, 120, n)
        h = rng.uniform(10, 100, n)
        x = rng.uniform(0, 640, n)
        y2 = rng.uniform(181 if below else 0, 360, n)
        out.append(
            (
                t,
                Detections(
                    xyxy=np.column_stack([x - w / 2, y2 - h, x + w / 2, y2]),
                    confidence=rng.uniform(0.5, 1.0, n),
                    class_id=rng.integers(0, len(Role), n),
                    tracker_id=rng.integers(1, 6, n),
                ),
            )
        )
    return out


@settings(max_examples=40, deadline=None)
@given(stream=frames(below=True))
def test_nothing_in_any_zone_gives_no_event(stream: list[tuple[float, Detections]]) -> None:
    cam = camera()
    events = [e for ts, det in stream for e in cam.process(ts, det)]
    assert events == [] and cam.flush() == []


@settings(max_examples=40, deadline=None)
@given(stream=frames(below=False))
def test_any_stream_gives_well_formed_events(stream: list[tuple[float, Detections]]) -> None:
    cam = camera()
    events = [e for ts, det in stream for e in cam.process(ts, det)] + cam.flush()
    open_ids: dict[str, str] = {}
    for e in events:
        if e.phase == "start":
            assert e.hazard not in open_ids
            open_ids[e.hazard] = e.id
        else:
            assert open_ids.get(e.hazard) == e.id
            if e.phase == "end":
                del open_ids[e.hazard]
    assert open_ids == {}  # the flush closed everything
    assert len({e.id for e in events if e.phase == "start"}) == sum(
        e.phase == "start" for e in events
    )
