"""Tracker cost per frame: gridsight's ByteTracker vs Roboflow's ByteTrack, side by side.

Run: ``nice .venv/bin/pytest benchmarks/bench_tracker.py --benchmark-columns=min,median,ops``

Groups (compare within a group):
    tracker-50det   one frame of 50 detections (a busy camera), the sequence continuing
                    from call to call so the trackers hold ~50 live tracks: ours
                    (``ByteTracker.update``) and ``trackers.ByteTrackTracker.update`` —
                    the ByteTrack that ``supervision.ByteTrack`` became when Roboflow
                    moved its trackers out of supervision (0.26+) into the ``trackers``
                    package. The median is the µs per frame.
    tracker-200det  the same with 200 detections a frame, to show how each scales.

Both trackers get the same pre-built detections (conversion is outside the timing):
objects of three sizes moving at constant velocity with a little jitter, bouncing off
the image edges, a fifth of them scored below the high threshold, and one in twenty
missing from any frame. ``trackers`` is installed with ``pip install --no-deps
trackers`` (its own requirements would add the GUI build of OpenCV beside the headless
one); without it only our side runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gridsight.core.detection.detections import Detections
from gridsight.core.tracking.bytetrack import ByteTracker, TrackerSettings

W, H = 640, 360
WARMUP = 30
ROUNDS = 300


def scene(
    n_objects: int, n_frames: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per frame: ``(xyxy (n, 4) float32, confidence (n,), class_id (n,))``."""
    rng = np.random.default_rng(seed)
    cls = rng.choice([0, 2, 4], n_objects, p=[0.6, 0.2, 0.2])
    size = np.where(
        cls[:, None] == 0, [30.0, 70.0], np.where(cls[:, None] == 2, [55.0, 50.0], [120.0, 70.0])
    )
    size *= rng.uniform(0.7, 1.3, (n_objects, 1))
    pos = rng.uniform([0, 0], [W, H], (n_objects, 2)) - size / 2
    vel = rng.normal(0, 4.0, (n_objects, 2))
    frames = []
    for _ in range(n_frames):
        pos += vel
        # Bounce off the edges so the object count stays at n_objects.
        out_lo, out_hi = pos < 0, pos + size > [W, H]
        vel[out_lo | out_hi] *= -1
        pos = np.clip(pos, 0, np.array([W, H]) - size)
        xyxy = np.concatenate([pos, pos + size], axis=1)
        xyxy += rng.normal(0, 1.5, xyxy.shape)
        xyxy[:, 2:] = np.maximum(xyxy[:, 2:], xyxy[:, :2] + 2)
        conf = np.where(
            rng.random(n_objects) < 0.2,
            rng.uniform(0.2, 0.49, n_objects),
            rng.uniform(0.6, 0.95, n_objects),
        )
        seen = rng.random(n_objects) >= 0.05
        frames.append((xyxy[seen].astype(np.float32), conf[seen].astype(np.float32), cls[seen]))
    return frames


def ours(frames) -> Callable[[], Any]:
    dets = [Detections(xyxy=x, confidence=c, class_id=k) for x, c, k in frames]
    tracker = ByteTracker(TrackerSettings())
    it = iter(dets)
    return lambda: tracker.update(next(it))


def roboflow(frames) -> Callable[[], Any]:
    sv = pytest.importorskip("supervision")
    trackers = pytest.importorskip("trackers")
    dets = [sv.Detections(xyxy=x, confidence=c, class_id=k) for x, c, k in frames]
    tracker = trackers.ByteTrackTracker(
        lost_track_buffer=30,
        frame_rate=30.0,
        track_activation_threshold=0.6,
        minimum_consecutive_frames=2,
        high_conf_det_threshold=0.5,
    )
    it = iter(dets)
    return lambda: tracker.update(next(it))


IMPLS = {"gridsight": ours, "trackers_bytetrack": roboflow}


def _run(benchmark, n_det: int, impl: str, group: str) -> None:
    benchmark.group = group
    frames = scene(n_det, WARMUP + ROUNDS + 1)
    step = IMPLS[impl](frames)
    benchmark.extra_info["detections_per_frame"] = n_det
    benchmark.pedantic(step, rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)


@pytest.mark.parametrize("impl", list(IMPLS))
def test_tracker_50det(benchmark, impl):
    _run(benchmark, 50, impl, "tracker-50det")


@pytest.mark.parametrize("impl", list(IMPLS))
def test_tracker_200det(benchmark, impl):
    _run(benchmark, 200, impl, "tracker-200det")


def test_both_track_the_same_scene():
    """Not a timing: checks the benchmark scene is trackable, so the timing is meaningful."""
    frames = scene(50, 60)
    step = ours(frames)
    outs = [step() for _ in range(60)]
    # Most of the 50 objects are output with an id once tracks are confirmed.
    assert np.mean([len(o) for o in outs[10:]]) > 35
    ids = np.concatenate([o.tracker_id for o in outs])
    assert len(np.unique(ids)) < 90  # ids are kept, not re-issued every frame
