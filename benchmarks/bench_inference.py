"""Inference-path benchmarks: letterbox, decode + NMS, and the backends side by side.

Run: ``.venv/bin/pytest benchmarks/bench_inference.py --benchmark-columns=min,median,mean,rounds``

Groups (compare within a group; all timings are per call = per batch):
    preprocess  letterbox 12 frames of 640x360 into a 640x640 batch: our reusing
                Letterboxer, the one-shot letterbox_batch, and for reference OpenCV's
                blobFromImages (which stretches instead of letterboxing).
    decode      decode + class-aware NMS of a (12, 84, 8400) YOLO output holding ~50
                detections per frame (~400 candidates): ours against the usual numpy
                decode (argmax and max over all anchors, loop over kept boxes).
    nms         NMS alone on one frame's ~400 candidates: our same-class pair
                fixed-point NMS against the classic numpy loop over kept boxes.
    backend     onnxruntime (default threads, and 1 thread) vs cv2.dnn on the same batch
                of 12 frames, on the genuine YOLO11n fixture (160x160) and on the bundled
                model when it is installed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from gridsight.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from gridsight.core.backends.opencv_backend import OpenCVBackend
from gridsight.core.detection.decode import Decoder
from gridsight.core.detection.nms import box_iou, nms
from gridsight.core.detection.preprocess import Letterboxer, letterbox_batch

ROOT = Path(__file__).resolve().parents[1]
YOLO_FIXTURE = ROOT / "tests" / "fixtures" / "yolo11n-160.onnx"
N_FRAMES = 12
COCO80 = {i: f"class{i}" for i in range(80)}


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(N_FRAMES)]


# ---------------------------------------------------------------------- preprocess


@pytest.mark.benchmark(group="preprocess")
def test_letterbox_reused_buffers(benchmark, frames) -> None:  # type: ignore[no-untyped-def]
    lb = Letterboxer((640, 640))
    batch, infos = benchmark(lb, frames)
    assert batch.shape == (N_FRAMES, 3, 640, 640) and infos[0].pad == (0, 140)


@pytest.mark.benchmark(group="preprocess")
def test_letterbox_one_shot(benchmark, frames) -> None:  # type: ignore[no-untyped-def]
    batch, _ = benchmark(letterbox_batch, frames, (640, 640))
    assert batch.shape == (N_FRAMES, 3, 640, 640)


@pytest.mark.benchmark(group="preprocess")
def test_opencv_blob_stretch_reference(benchmark, frames) -> None:  # type: ignore[no-untyped-def]
    blob = benchmark(cv2.dnn.blobFromImages, frames, 1 / 255.0, (640, 640), swapRB=True)
    assert blob.shape == (N_FRAMES, 3, 640, 640)


# ---------------------------------------------------------------------- decode + NMS


def yolo_output(seed: int = 0, per_frame: int = 50, dup: int = 8) -> np.ndarray:
    """(12, 84, 8400): ``per_frame`` objects, each predicted by ``dup`` jittered anchors."""
    rng = np.random.default_rng(seed)
    out = np.zeros((N_FRAMES, 84, 8400), np.float32)
    out[:, 4:] = rng.uniform(0, 0.05, (N_FRAMES, 80, 8400))
    out[:, 0:2] = rng.uniform(0, 640, (N_FRAMES, 2, 8400))
    out[:, 2:4] = rng.uniform(4, 40, (N_FRAMES, 2, 8400))
    for b in range(N_FRAMES):
        cols = rng.choice(8400, per_frame * dup, replace=False).reshape(per_frame, dup)
        centres = rng.uniform(40, 600, (per_frame, 2))
        sizes = rng.uniform(20, 120, (per_frame, 2))
        classes = rng.integers(0, 80, per_frame)
        frame = out[b]  # a view: basic indexing keeps the (row, anchor) order below
        for k in range(per_frame):
            c = cols[k]
            frame[0:2, c] = (centres[k][:, None] + rng.normal(0, 3, (2, dup))).astype(np.float32)
            frame[2:4, c] = (sizes[k][:, None] * rng.uniform(0.9, 1.1, (2, dup))).astype(np.float32)
            frame[4 + classes[k], c] = rng.uniform(0.3, 0.95, dup)
    return out


def classic_nms(
    boxes: np.ndarray, scores: np.ndarray, thr: float, classes: np.ndarray
) -> np.ndarray:
    """The usual numpy NMS: one Python iteration per kept box (the baseline)."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iou = box_iou(boxes[i : i + 1], boxes[rest])[0]
        order = rest[~((iou > thr) & (classes[rest] == classes[i]))]
    return np.array(keep, np.int64)


@pytest.fixture(scope="module")
def raw_output() -> np.ndarray:
    return yolo_output()


@pytest.mark.benchmark(group="decode")
def test_decode_nms_ours(benchmark, raw_output) -> None:  # type: ignore[no-untyped-def]
    decoder = Decoder(COCO80)
    dets = benchmark(decoder.decode, [raw_output], None, 0.25, 0.45, 300)
    counts = [len(d) for d in dets]
    assert 40 <= np.mean(counts) <= 60, counts


@pytest.mark.benchmark(group="decode")
def test_decode_nms_classic_loop(benchmark, raw_output) -> None:  # type: ignore[no-untyped-def]
    def decode_classic(out: np.ndarray) -> list[np.ndarray]:
        kept = []
        for b in range(out.shape[0]):
            scores = out[b, 4:]
            best = scores.argmax(0)
            conf = scores.max(0)
            cand = np.flatnonzero(conf > 0.25)
            xywh = out[b, :4][:, cand].T
            boxes = np.concatenate(
                [xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1
            )
            kept.append(cand[classic_nms(boxes, conf[cand], 0.45, best[cand])])
        return kept

    kept = benchmark(decode_classic, raw_output)
    ours = Decoder(COCO80).decode([raw_output], None, 0.25, 0.45, 300)
    assert [len(k) for k in kept] == [len(d) for d in ours]  # same answer, other algorithm


def _candidates(raw_output: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores = raw_output[0, 4:]
    conf = scores.max(0)
    cand = np.flatnonzero(conf > 0.25)
    xywh = raw_output[0, :4][:, cand].T
    boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
    return boxes, conf[cand], scores.argmax(0)[cand]


@pytest.mark.benchmark(group="nms")
def test_nms_only_ours(benchmark, raw_output) -> None:  # type: ignore[no-untyped-def]
    boxes, conf, cls = _candidates(raw_output)  # one frame, ~400 candidates
    keep = benchmark(nms, boxes, conf, 0.45, cls, 300)
    assert 40 <= len(keep) <= 60


@pytest.mark.benchmark(group="nms")
def test_nms_only_classic_loop(benchmark, raw_output) -> None:  # type: ignore[no-untyped-def]
    boxes, conf, cls = _candidates(raw_output)
    keep = benchmark(classic_nms, boxes, conf, 0.45, cls)
    assert keep.tolist() == nms(boxes, conf, 0.45, cls).tolist()


# ---------------------------------------------------------------------- backends


def _models() -> list[Path]:
    models = [YOLO_FIXTURE]
    try:
        from gridsight.models import bundled_model_path

        models.append(bundled_model_path())
    except Exception:  # not trained/installed yet: benchmark the fixture only
        pass
    return models


BACKENDS = {
    "onnxruntime": (OnnxRuntimeBackend, {}),
    "onnxruntime-1thread": (OnnxRuntimeBackend, {"intra_op_threads": 1}),
    "opencv": (OpenCVBackend, {}),
}


@pytest.mark.parametrize("model", _models(), ids=lambda p: p.stem)
@pytest.mark.parametrize("backend_name", list(BACKENDS))
@pytest.mark.benchmark(group="backend")
def test_backend_infer(benchmark, frames, model: Path, backend_name: str) -> None:  # type: ignore[no-untyped-def]
    backend_cls, options = BACKENDS[backend_name]
    with backend_cls() as backend:
        backend.load(model, **options)
        size = backend.model_info.input_hw or (640, 640)
        batch, _ = letterbox_batch(frames, size)
        outs = benchmark(backend.infer, batch)
    assert outs[0].shape[0] == N_FRAMES
