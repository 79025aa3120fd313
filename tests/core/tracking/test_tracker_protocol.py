"""The tracker a camera uses is chosen by name, and ByteTrack satisfies the protocol."""

from __future__ import annotations

import pytest

from gridsight.core.config.camera import CameraConfig
from gridsight.core.errors import ConfigError
from gridsight.core.tracking import TRACKERS, Tracker, make_tracker
from gridsight.core.tracking.bytetrack import ByteTracker


def _camera(**extra: object) -> dict:
    return {
        "id": "cam-1",
        "name": "c",
        "village": "v",
        "grid": "v-g01",
        "source": "file:///x.mp4",
        "resolution": [640, 360],
        **extra,
    }


def test_bytetrack_is_the_default_and_satisfies_the_protocol() -> None:
    cam = CameraConfig.model_validate(_camera())
    assert cam.tracker == "bytetrack"
    tracker = make_tracker(cam.tracker)
    assert isinstance(tracker, ByteTracker) and isinstance(tracker, Tracker)
    assert tracker.track_count == 0


def test_an_unknown_tracker_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown tracker 'sort'; expected one of bytetrack"):
        CameraConfig.model_validate(_camera(tracker="sort"))
    with pytest.raises(ConfigError, match="known trackers: bytetrack"):
        make_tracker("sort")


def test_a_registered_tracker_is_selectable_per_camera(monkeypatch: pytest.MonkeyPatch) -> None:
    made = []

    def factory(settings):  # type: ignore[no-untyped-def]
        made.append(settings)
        return ByteTracker(settings)

    monkeypatch.setitem(TRACKERS, "mine", factory)
    cam = CameraConfig.model_validate(_camera(tracker="mine"))
    from gridsight.core.engine.camera import CameraPipeline

    pipe = CameraPipeline(cam, {})
    assert isinstance(pipe.tracker, ByteTracker) and len(made) == 1
