"""``Detector``: stages, sizes, names and errors (on a tiny model and the YOLO fixture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridsight.core.detection.detector import Detector
from gridsight.core.detection.roles import Role
from gridsight.core.detection.spec import DetectorSpec
from gridsight.core.errors import BackendUnavailableError, ConfigError, ModelError
from gridsight.core.plugins import build_plugin_manager

from .._tiny_onnx import make_tiny_detector

pytest.importorskip("onnx")
YOLO = Path(__file__).resolve().parents[2] / "fixtures" / "yolo11n-160.onnx"

PM = build_plugin_manager()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_detector(tmp_path_factory.mktemp("det") / "tiny.onnx")


@pytest.fixture(scope="module")
def nameless(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_detector(tmp_path_factory.mktemp("det") / "nameless.onnx", names=None)


def _frames() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(48, 64), (64, 20)]]


def test_stages_equal_detect() -> None:
    frames = _frames()
    with Detector(YOLO, backend="onnxruntime", conf=0.3, iou=0.5, pm=PM) as det:
        assert det.input_size == (160, 160)
        assert det.class_names[0] == "person" and len(det.class_names) == 80
        batch, infos = det.preprocess(frames)
        assert batch.shape == (2, 3, 160, 160)
        staged = det.postprocess(det.infer(batch), infos)
        direct = det.detect(frames)
        raw = det.detect_model_classes(frames)
        assert det.detect([]) == []
    assert sum(len(d) for d in direct) > 0
    for a, b, r, frame in zip(staged, direct, raw, frames, strict=True):
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
        np.testing.assert_array_equal(a.class_id, b.class_id)
        assert set(a.class_id.tolist()) <= {int(role) for role in Role}
        assert len(a) <= len(r)  # classes without a role were dropped
        h, w = frame.shape[:2]  # boxes are in the frame's own pixels, clipped to it
        assert np.all((a.xyxy >= 0) & (a.xyxy <= [w, h, w, h]))


def test_tiny_model_names_and_size(tiny: Path) -> None:
    with Detector(tiny, backend="onnxruntime", pm=PM) as det:
        assert det.input_size == (32, 32)
        assert det.class_names == {0: "person", 1: "dog"}
        assert det.mapper.role_of(1) is None


def test_opencv_and_onnxruntime_detectors_agree() -> None:
    frames = _frames()
    results = []
    for backend in ("onnxruntime", "opencv"):
        with Detector(YOLO, backend=backend, conf=0.3, pm=PM) as det:
            results.append(det.detect_model_classes(frames))
    for a, b in zip(*results, strict=True):
        assert len(a) == len(b)
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.05)
        np.testing.assert_array_equal(a.class_id, b.class_id)


def test_names_from_config_when_metadata_has_none(nameless: Path) -> None:
    with pytest.raises(ModelError, match="no 'names' metadata"):
        Detector(nameless, backend="onnxruntime", pm=PM)
    with Detector(nameless, backend="onnxruntime", class_names=["car", "stall"], pm=PM) as det:
        assert det.mapper.role_of(1) is Role.STALL


def test_input_size_conflicts_and_bad_thresholds(tiny: Path) -> None:
    with pytest.raises(ConfigError, match="fixed at"):
        Detector(tiny, backend="onnxruntime", input_size=(64, 64), pm=PM)
    with pytest.raises(ConfigError, match="conf"):
        Detector(tiny, backend="onnxruntime", conf=1.5, pm=PM)
    with pytest.raises(BackendUnavailableError, match="unknown backend"):
        Detector(tiny, backend="nope", pm=PM)
    with pytest.raises(ModelError, match="does not exist"):
        Detector(tiny.with_name("missing.onnx"), pm=PM)
    with pytest.raises(ConfigError, match="no class 'cat'"):
        Detector(tiny, backend="onnxruntime", class_to_role={"cat": "person"}, pm=PM)


def test_from_spec_applies_names_and_roles(nameless: Path) -> None:
    spec = DetectorSpec(
        name="custom", path=nameless, class_names=("van", "kiosk"), class_to_role={"kiosk": "stall"}
    )
    with Detector.from_spec(spec, backend="onnxruntime", pm=PM) as det:
        assert det.class_names == {0: "van", 1: "kiosk"}
        assert det.mapper.role_of(0) is Role.CAR and det.mapper.role_of(1) is Role.STALL
