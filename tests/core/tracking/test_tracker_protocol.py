"""The tracker a camera uses is chosen by name, and ByteTrack satisfies the protocol."""

from __future__ import annotations

import pytest

from gridsight.core.config.base import StrictModel
from gridsight.core.config.camera import CameraConfig
from gridsight.core.errors import ConfigError
from gridsight.core.hookspecs import hookimpl
from gridsight.core.tracking import TRACKERS, Tracker, make_tracker
from gridsight.core.tracking.bytetrack import ByteTracker, TrackerSettings


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
    cam = CameraConfig.model_validate(_camera(tracker="sort"))  # plugins not known yet
    with pytest.raises(ConfigError, match="known trackers: bytetrack"):
        make_tracker(cam.tracker)
    from gridsight.core.engine.camera import CameraPipeline

    with pytest.raises(ConfigError, match="unknown tracker 'sort'"):
        CameraPipeline(cam, {})


class MineSettings(StrictModel):
    gap: int = 1


class MineTracker(ByteTracker):
    name = "test-mine"
    Settings = MineSettings

    def __init__(self, settings: MineSettings) -> None:
        super().__init__()
        self.mine = settings


class MinePlugin:
    @hookimpl
    def gridsight_register_trackers(self) -> list[type]:
        return [MineTracker]


def test_a_plugin_tracker_is_chosen_per_camera_with_its_own_settings() -> None:
    from gridsight.core.engine.camera import CameraPipeline
    from gridsight.core.plugins import build_plugin_manager, trackers

    pm = build_plugin_manager(load_entrypoints=False, plugins=[MinePlugin()])
    assert trackers(pm) == {"test-mine": MineTracker}
    assert "test-mine" in TRACKERS
    cam = CameraConfig.model_validate(_camera(tracker="test-mine", tracker_settings={"gap": 3}))
    pipe = CameraPipeline(cam, {})
    assert isinstance(pipe.tracker, MineTracker) and pipe.tracker.mine.gap == 3
    bad = CameraConfig.model_validate(_camera(tracker="test-mine", tracker_settings={"gapp": 3}))
    with pytest.raises(ConfigError, match="tracker_settings for 'test-mine': gapp"):
        CameraPipeline(bad, {})


def test_bytetrack_settings_per_camera_over_the_engines() -> None:
    from gridsight.core.engine.camera import CameraPipeline

    cam = CameraConfig.model_validate(
        _camera(fps=4, tracker_settings={"high_thresh": 0.3, "min_hits": 1})
    )
    pipe = CameraPipeline(cam, {}, TrackerSettings(lost_buffer_frames=7))
    settings = pipe.tracker.settings  # type: ignore[attr-defined]
    assert (settings.high_thresh, settings.min_hits) == (0.3, 1)
    assert settings.lost_buffer_frames == 7 and settings.frame_interval_s == 0.25
    with pytest.raises(ConfigError, match="high_thresh"):
        CameraPipeline(
            CameraConfig.model_validate(_camera(tracker_settings={"high_thresh": 2})), {}
        )


def test_config_check_names_the_camera_and_line_of_a_bad_tracker() -> None:
    from pathlib import Path

    from gridsight.core.config import parse_yaml_model
    from gridsight.core.config.hazards import check_camera_trackers
    from gridsight.core.config.township import Township

    root = Path(__file__).resolve().parents[3]
    text = (root / "configs/jingqiao.yaml").read_text()
    text = text.replace(
        "near_water: {zone: water_edge}", "near_water: {zone: water_edge}\n    tracker: sort", 1
    )
    town = parse_yaml_model(text, Township, source="town.yaml")
    with pytest.raises(ConfigError, match=r"town.yaml:\d+.*camera 'cam-reservoir-01'.*'sort'"):
        check_camera_trackers(town)
