"""Frames carry their wall-clock time: synthetic worlds, files, live streams, the reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from gridsight.core.config.camera import CameraConfig
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions
from gridsight.core.sources.frame_queue import FrameQueue
from gridsight.core.sources.opencv_source import OpenCVSource
from gridsight.core.sources.reader import CameraReader
from gridsight.simulator.source import SyntheticSource
from gridsight.simulator.world import WORLD_DATE, open_world

from .test_sources import write_video

CST = timezone(timedelta(hours=8))


def test_synthetic_frames_carry_the_worlds_clock() -> None:
    uri = "synthetic://street?seed=5&fps=2&w=160&h=90&clock=07:59"
    src = SyntheticSource(uri)
    frames = [src.read() for _ in range(3)]
    start = datetime(WORLD_DATE.year, WORLD_DATE.month, WORLD_DATE.day, 7, 59, tzinfo=CST)
    assert [f.wall_time for f in frames if f is not None] == [
        start,
        start + timedelta(seconds=0.5),
        start + timedelta(seconds=1.0),
    ]
    # The world's clock is its own: the same URI, another instance, the same times.
    assert open_world(uri).wall_time(1.0) == start + timedelta(seconds=1.0)


def test_a_file_with_start_time_stamps_start_plus_ts(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, 6, fps=10.0)
    start = datetime(2026, 3, 1, 6, 0, tzinfo=CST)
    src = OpenCVSource(str(path), SourceOptions(start_time=start))
    walls = [f.wall_time for f in iter(src.read, None)]
    assert walls == [start + timedelta(seconds=i / 10) for i in range(6)]


def test_a_file_without_start_time_starts_when_it_was_opened(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, 3, fps=10.0)
    opened = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    src = OpenCVSource(str(path), wall_clock=lambda: opened)
    walls = [f.wall_time for f in iter(src.read, None)]
    assert walls == [opened + timedelta(seconds=i / 10) for i in range(3)]


class _NoWallTime(FrameSource):
    """A third-party source that predates wall times (builds Frames without one)."""

    uri = "old://"

    def __init__(self) -> None:
        self.i = 0

    @property
    def fps(self) -> float:
        return 10.0

    def read(self) -> Frame | None:
        if self.i >= 3:
            return None
        import numpy as np

        frame = Frame(np.zeros((4, 4, 3), np.uint8), self.i / 10, self.i)
        self.i += 1
        return frame


def test_the_reader_stamps_frames_that_come_without_a_wall_time() -> None:
    q: FrameQueue[Frame] = FrameQueue(10)
    before = datetime.now(UTC)
    reader = CameraReader("cam", "old://", opener=lambda u, o: _NoWallTime(), queue=q)
    reader.start()
    frames = [f for f in iter(lambda: q.get(timeout=5.0), None)]
    assert reader.stop(timeout=5.0)
    assert len(frames) == 3
    for f in frames:
        assert f.wall_time is not None and f.wall_time.tzinfo is not None
        assert before <= f.wall_time <= datetime.now(UTC)


def _camera(source: str, start_time: str) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "cam",
            "name": "cam",
            "village": "v",
            "grid": "g",
            "source": source,
            "resolution": [640, 360],
            "start_time": start_time,
        }
    )


def test_camera_start_time_is_an_aware_iso_time_for_files_only() -> None:
    cam = _camera("/data/clip.mp4", "2026-03-01T06:00:00+08:00")
    assert cam.start_time == datetime(2026, 3, 1, 6, 0, tzinfo=CST)
    with pytest.raises(ValidationError, match="start_time"):
        _camera("/data/clip.mp4", "2026-03-01T06:00:00")  # no offset: ambiguous
    with pytest.raises(ValidationError, match="world's clock"):
        _camera("synthetic://street?seed=1", "2026-03-01T06:00:00+08:00")
    with pytest.raises(ValidationError, match="capture clock"):
        _camera("rtsp://cam/1", "2026-03-01T06:00:00+08:00")
