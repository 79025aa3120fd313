"""Our letterbox, backends and decode + NMS against Ultralytics on a genuine YOLO11 export.

The fixture (tests/fixtures/yolo11n-160.*) was made once, offline, by
tests/fixtures/make_yolo_fixture.py with Ultralytics' own exporter and post-processing;
Ultralytics is not needed (nor installed) to run these tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridsight.core.backends.model_info import read_model_info
from gridsight.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from gridsight.core.backends.opencv_backend import OpenCVBackend
from gridsight.core.detection.decode import Decoder, OutputLayout, detect_layout
from gridsight.core.detection.detector import Detector
from gridsight.core.detection.preprocess import letterbox_batch
from gridsight.core.detection.roles import Role
from gridsight.core.plugins import build_plugin_manager

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODEL = FIXTURES / "yolo11n-160.onnx"
REF = FIXTURES / "yolo11n-160.npz"
N_FRAMES = 3

PM = build_plugin_manager()


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(REF) as data:
        return {k: data[k] for k in data.files}


def test_export_is_what_we_expect() -> None:
    info = read_model_info(MODEL)
    assert info.input.shape == (1, 3, 160, 160)
    assert info.outputs[0].shape == (1, 84, 525)
    dec = Decoder.from_metadata(info.metadata)  # Ultralytics' Python-literal names
    assert len(dec.class_names) == 80 and dec.class_names[3] == "motorcycle"
    assert detect_layout(info.outputs[0].shape, 80) is OutputLayout.YOLOV8


def test_letterbox_matches_ultralytics_pixel_for_pixel(ref: dict[str, np.ndarray]) -> None:
    for i in range(N_FRAMES):
        batch, _ = letterbox_batch([ref[f"image{i}"]], (160, 160))
        theirs = ref[f"letterbox{i}"][..., ::-1].transpose(2, 0, 1).astype(np.float32)
        np.testing.assert_allclose(batch[0] * 255, theirs, atol=1e-3)


@pytest.mark.parametrize("backend_cls", [OnnxRuntimeBackend, OpenCVBackend])
def test_backends_reproduce_the_raw_outputs(backend_cls: type, ref: dict[str, np.ndarray]) -> None:
    frames = [ref[f"image{i}"] for i in range(N_FRAMES)]
    batch, _ = letterbox_batch(frames, (160, 160))
    with backend_cls() as backend:
        backend.load(MODEL)
        (out,) = backend.infer(batch)  # batch of 3 through a batch-1 export
    for i in range(N_FRAMES):
        np.testing.assert_allclose(out[i : i + 1], ref[f"raw{i}"], rtol=1e-4, atol=2e-3)


@pytest.mark.parametrize("case", ["natural45", "natural70", "planted45", "planted60"])
def test_decode_matches_ultralytics_nms(case: str, ref: dict[str, np.ndarray]) -> None:
    decoder = Decoder.from_metadata(read_model_info(MODEL).metadata)
    conf, iou = float(ref[f"{case}_conf"]), float(ref[f"{case}_iou"])
    source = "raw" if case.startswith("natural") else "planted"
    total = 0
    for i in range(N_FRAMES):
        _, infos = letterbox_batch([ref[f"image{i}"]], (160, 160))
        (ours,) = decoder.decode([ref[f"{source}{i}"]], infos, conf=conf, iou=iou, max_det=300)
        theirs = ref[f"{case}_det{i}"]
        assert len(ours) == len(theirs), f"frame {i}"
        np.testing.assert_allclose(ours.xyxy, theirs[:, :4], atol=1e-3)
        np.testing.assert_allclose(ours.confidence, theirs[:, 4], rtol=1e-6)
        np.testing.assert_array_equal(ours.class_id, theirs[:, 5].astype(np.int64))
        total += len(ours)
    assert total > 20  # the comparison is about real detections, not empty lists


def test_suppression_really_happened(ref: dict[str, np.ndarray]) -> None:
    """The reference cases are not trivial: NMS removed many candidates."""
    conf = float(ref["planted45_conf"])
    candidates = sum(int((ref[f"planted{i}"][0, 4:].max(0) > conf).sum()) for i in range(N_FRAMES))
    kept = sum(len(ref[f"planted45_det{i}"]) for i in range(N_FRAMES))
    assert kept < 0.8 * candidates


def test_detector_end_to_end_matches_ultralytics(ref: dict[str, np.ndarray]) -> None:
    """Frames in -> our letterbox -> onnxruntime -> our decode == Ultralytics' result."""
    conf, iou = float(ref["natural45_conf"]), float(ref["natural45_iou"])
    frames = [ref[f"image{i}"] for i in range(N_FRAMES)]
    with Detector(MODEL, backend="onnxruntime", conf=conf, iou=iou, pm=PM) as det:
        assert det.input_size == (160, 160)
        per_frame = det.detect_model_classes(frames)
        roles = det.detect(frames)
    for i, (ours, role_det) in enumerate(zip(per_frame, roles, strict=True)):
        theirs = ref[f"natural45_det{i}"]
        np.testing.assert_allclose(ours.xyxy, theirs[:, :4], atol=1e-2)
        np.testing.assert_array_equal(ours.class_id, theirs[:, 5].astype(np.int64))
        # Role detections: the COCO classes with a role, relabelled; the rest dropped.
        has_role = np.isin(ours.class_id, [0, 1, 2, 3, 5, 7, 25])
        assert len(role_det) == int(has_role.sum())
        assert set(role_det.class_id.tolist()) <= {int(r) for r in Role}
        np.testing.assert_array_equal(role_det.data["model_class_id"], ours.class_id[has_role])
