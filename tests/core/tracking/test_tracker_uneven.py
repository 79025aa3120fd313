"""ByteTrack on unevenly spaced frames (a motion-gated camera): the step is real time."""

from __future__ import annotations

import numpy as np
import pytest

from gridsight.core.detection.detections import Detections
from gridsight.core.tracking.bytetrack import ByteTracker, TrackerSettings


def _box(x: float) -> Detections:
    return Detections(
        xyxy=np.array([[x, 100.0, x + 40.0, 180.0]]),
        confidence=np.array([0.9]),
        class_id=np.array([0]),
    )


def _ids(tracker: ByteTracker, times: list[float], speed: float, start_move: float) -> list[int]:
    """Track one box that stands until ``start_move`` and then moves at ``speed`` px/s."""
    out = []
    for t in times:
        x = 50.0 + speed * max(0.0, t - start_move)
        tracked = tracker.update(_box(x), t)
        out.extend(tracked.tracker_id.tolist() if tracked.tracker_id is not None else [])
    return out


def test_a_gap_of_ten_frames_is_predicted_as_ten_steps() -> None:
    # Moving 50 px/s (a 40 px box): 0.2 s apart, then a 2 s gap (100 px: no overlap with
    # the last box at all), then 0.2 s apart again. One id throughout.
    times = [0.2 * k for k in range(8)] + [3.4 + 0.2 * k for k in range(8)]
    tracker = ByteTracker(TrackerSettings(frame_interval_s=0.2))
    ids = _ids(tracker, times, speed=50.0, start_move=0.0)
    assert len(ids) == len(times) - 1  # confirmed from the second frame on
    assert set(ids) == {1}


def test_keepalive_spacing_then_motion_keeps_one_id() -> None:
    # A parked car seen every 2 s for 40 s (the keep-alive of a still scene), then it
    # drives off at 60 px/s, seen every 0.2 s. With the camera's frame interval as the
    # step, the velocity keeps one unit through the change of spacing. (With the median
    # of recent intervals as the step, this switches ids twice: the median is still 2 s
    # when the car starts, so its speed is learnt per 2 s step, then applied per 0.2 s.)
    still = [2.0 * k for k in range(21)]
    moving = [40.0 + 0.2 * k for k in range(1, 26)]
    tracker = ByteTracker(TrackerSettings(frame_interval_s=0.2))
    ids = _ids(tracker, still + moving, speed=60.0, start_move=40.0)
    assert set(ids) == {1}
    assert len(ids) == len(still) + len(moving) - 1


def test_frame_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="frame_interval_s"):
        TrackerSettings(frame_interval_s=0)
