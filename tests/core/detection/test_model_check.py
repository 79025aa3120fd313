"""Models checked at load, per-class thresholds, detector configs and per-camera models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridsight.core.config.detector import DetectorConfig
from gridsight.core.detection.decode import check_output
from gridsight.core.detection.detector import Detector
from gridsight.core.detection.pool import DetectorPool
from gridsight.core.detection.spec import DetectorSpec
from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.errors import ModelError
from gridsight.core.plugins import build_plugin_manager

from .._tiny_onnx import make_tiny_detector
from ..engine_helpers import ScriptedSourcePlugin, camera

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
YOLO = FIXTURES / "yolo11n-160.onnx"
PM = build_plugin_manager()


def test_a_model_with_more_classes_than_names_is_refused_at_load_naming_both_counts() -> None:
    with pytest.raises(ModelError) as err:
        Detector(YOLO, class_names=["person", "bicycle", "car"], names_from="--names", pm=PM)
    msg = str(err.value)
    assert "outputs 80 classes" in msg and "3 class names" in msg and "--names" in msg
    assert "(1, 84, 525)" in msg


def test_names_matching_the_model_load_and_the_metadata_names_are_checked_too() -> None:
    with Detector(YOLO, pm=PM) as det:  # the export's own 80 COCO names
        assert len(det.class_names) == 80 and det.layout == "yolov8"
    names = [f"c{i}" for i in range(80)]
    with Detector(YOLO, class_names=names, pm=PM) as det:
        assert det.class_names[79] == "c79"


def test_an_output_layout_that_fits_no_decoder_is_refused_on_the_dry_run() -> None:
    with pytest.raises(ModelError, match=r"model m.onnx: cannot decode a model output of shape"):
        check_output((1, 3, 2), {0: "a"}, "m.onnx", "metadata")
    # end-to-end outputs say nothing of the class count: accepted.
    assert check_output((1, 300, 6), {0: "a"}, "m.onnx", "metadata") == "end2end"


def test_the_tiny_model_with_three_names_for_two_classes_is_refused(tmp_path: Path) -> None:
    path = make_tiny_detector(tmp_path / "tiny.onnx")
    with pytest.raises(ModelError, match=r"outputs 2 classes .* but 3 class names"):
        Detector(path, class_names=["a", "b", "c"], pm=PM)


def test_per_class_thresholds_drop_only_the_named_class() -> None:
    with np.load(FIXTURES / "yolo11n-160.npz") as ref:
        frames = [ref[f"image{i}"] for i in range(3)]
    with Detector(YOLO, conf=0.05, pm=PM) as plain:
        base = plain.detect_model_classes(frames)
    counts = np.bincount(np.concatenate([d.class_id for d in base]), minlength=80)
    busiest = int(counts.argmax())
    name = plain.class_names[busiest]
    with Detector(YOLO, conf=0.05, class_conf={name: 0.99}, pm=PM) as strict:
        got = strict.detect_model_classes(frames)
    for before, after in zip(base, got, strict=True):
        assert not (after.class_id == busiest).any()
        others = before[before.class_id != busiest]
        assert len(after) == len(others)
        np.testing.assert_allclose(np.sort(after.confidence), np.sort(others.confidence))


def test_spec_settings_apply_unless_the_caller_overrides_them() -> None:
    spec = DetectorSpec(name="y", path=YOLO, conf=0.4, iou=0.6, max_det=7)
    with Detector.from_spec(spec, pm=PM) as det:
        assert (det.conf, det.iou, det.max_det) == (0.4, 0.6, 7)
    with Detector.from_spec(spec, conf=0.2, pm=PM) as det:
        assert (det.conf, det.iou) == (0.2, 0.6)


def test_a_camera_detector_block_overrides_the_townships_and_drops_another_models_names() -> None:
    town = DetectorConfig(model="a.onnx", names=("x", "y"), conf=0.2)
    same = DetectorConfig(conf=0.5).over(town)
    assert (same.model, same.names, same.conf) == ("a.onnx", ("x", "y"), 0.5)
    other = DetectorConfig(model="b.onnx").over(town)
    assert (other.model, other.names, other.conf) == ("b.onnx", None, 0.2)


def _two_model_cameras(tmp_path: Path) -> tuple[Path, Path, list]:
    a = make_tiny_detector(tmp_path / "a.onnx", seed=1)
    b = make_tiny_detector(tmp_path / "b.onnx", seed=2)
    cams = [
        camera("cam-a", "scripted://a?frames=20").model_copy(
            update={"detector": DetectorConfig(model=str(a))}
        ),
        camera("cam-b", "scripted://b?frames=15").model_copy(
            update={"detector": DetectorConfig(model=str(b))}
        ),
        camera("cam-c", "scripted://c?frames=10").model_copy(
            update={"detector": DetectorConfig(model=str(a))}
        ),
    ]
    return a, b, cams


def test_the_pool_shares_a_model_between_cameras_and_names_the_camera_on_error(
    tmp_path: Path,
) -> None:
    a, _, cams = _two_model_cameras(tmp_path)
    pool = DetectorPool(cams, PM)
    try:
        assert len(pool.detectors) == 2
        assert pool.for_camera("cam-a") is pool.for_camera("cam-c")
        assert pool.for_camera("cam-b") is not pool.for_camera("cam-a")
    finally:
        pool.close()
    bad = cams[0].model_copy(update={"detector": DetectorConfig(model=str(a), names=("p",))})
    with pytest.raises(ModelError, match=r"camera 'cam-a'.*2 classes.*1 class names"):
        DetectorPool([bad], PM)


def test_an_engine_runs_each_model_on_its_own_cameras_frames(tmp_path: Path) -> None:
    _, _, cams = _two_model_cameras(tmp_path)
    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
    engine = Engine(cams, pm, options=EngineOptions(max_batch=6, view_check=None))
    assert engine.pool is not None
    seen: dict[str, int] = {}
    for key, det in engine.pool.detectors.items():
        infer = det.infer

        def counting(batch: np.ndarray, _infer=infer, _key=key) -> list[np.ndarray]:
            seen[_key] = seen.get(_key, 0) + len(batch)
            return _infer(batch)

        det.infer = counting  # type: ignore[method-assign]
    summary = engine.run()
    assert summary.frames == 45
    frames = {c.camera: c.frames for c in summary.status.cameras}
    by_key = {k: 0 for k in engine.pool.detectors}
    for cam in cams:
        by_key[engine.pool.config_for(cam).key] += frames[cam.id]
    assert seen == by_key  # cam-a and cam-c on model a (30 frames), cam-b on b (15)
    assert sorted(by_key.values()) == [15, 30]
