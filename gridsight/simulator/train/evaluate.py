"""COCO-style accuracy of a detector in the YOLOv8 output layout.

The bundled model is evaluated the way it is deployed: the ONNX file runs in
onnxruntime on frames letterboxed by the engine's own letterbox, and the ``(B, 4 + nc, N)``
output is decoded by the engine's own decoder (:class:`gridsight.core.detection.decode.Decoder`:
best class per cell, class-wise NMS, boxes mapped back to the frame), only with the low
confidence threshold that COCO mAP needs. pycocotools then computes AP at IoU 0.50 and
averaged over IoU 0.50:0.95, per class and overall, against the YOLO-txt labels of a
split (the ``test`` split of ``gridsight world dataset`` holds scenes from seeds never
seen in training).

The same decode and scoring run on the PyTorch model during training, so the per-epoch
validation mAP and the final ONNX figures are computed identically.

Example:
    >>> report = evaluate_onnx(Path("gridsight-synth.onnx"), Path("data"), split="test")
    >>> print(report.table())  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import numpy.typing as npt

from gridsight.core.detection.decode import (
    Decoder,
    OutputLayout,
    class_names_from_metadata,
    imgsz_from_metadata,
)
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.preprocess import Letterboxer, LetterboxInfo
from gridsight.core.errors import DataError, ModelError
from gridsight.simulator.train.data import (
    LabelledImage,
    list_split,
    read_class_names,
    read_labelled,
)

#: Settings that COCO mAP needs: keep low-confidence boxes so the whole PR curve counts.
EVAL_CONF = 0.001
EVAL_IOU = 0.6
EVAL_MAX_DET = 100


def decode_for_eval(
    output: np.ndarray, infos: Sequence[LetterboxInfo], class_names: Sequence[str]
) -> list[Detections]:
    """Decode a ``(B, 4 + nc, N)`` output with the engine's decoder at evaluation settings."""
    decoder = Decoder(dict(enumerate(class_names)), layout=OutputLayout.YOLOV8)
    return decoder.decode([output], infos, conf=EVAL_CONF, iou=EVAL_IOU, max_det=EVAL_MAX_DET)


@dataclass(frozen=True, slots=True)
class ClassAccuracy:
    """AP of one class (NaN where the split has no instance of it)."""

    name: str
    instances: int
    ap50: float
    ap50_95: float


@dataclass(frozen=True, slots=True)
class EvalReport:
    """COCO-style accuracy of a detector on one split."""

    split: str
    images: int
    per_class: tuple[ClassAccuracy, ...]
    map50: float
    map50_95: float
    slices: dict[str, EvalReport] = field(default_factory=dict)

    def table(self) -> str:
        """A Markdown table: one row per class, then ``all``."""
        lines = [
            "| class | instances | mAP50 | mAP50-95 |",
            "|---|---:|---:|---:|",
        ]
        for c in self.per_class:
            lines.append(f"| {c.name} | {c.instances} | {_fmt(c.ap50)} | {_fmt(c.ap50_95)} |")
        total = sum(c.instances for c in self.per_class)
        lines.append(f"| **all** | {total} | {_fmt(self.map50)} | {_fmt(self.map50_95)} |")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return {
            "split": self.split,
            "images": self.images,
            "map50": self.map50,
            "map50_95": self.map50_95,
            "per_class": {
                c.name: {"instances": c.instances, "ap50": c.ap50, "ap50_95": c.ap50_95}
                for c in self.per_class
            },
            "slices": {name: report.as_dict() for name, report in self.slices.items()},
        }


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def coco_evaluate(
    items: Sequence[LabelledImage],
    predictions: Sequence[Detections],
    class_names: Sequence[str],
    split: str = "test",
) -> EvalReport:
    """AP50 and AP50-95 per class and overall with pycocotools.

    Args:
        items: ground truth per image (boxes in image pixels).
        predictions: detections per image, same order.
        class_names: names by class id.
        split: name of the split, for the report.

    Raises:
        DataError: pycocotools is missing, or the two lists differ in length.
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as exc:
        raise DataError("COCO evaluation needs pycocotools: pip install 'gridsight[eval]'") from exc
    if len(items) != len(predictions):
        raise DataError(f"{len(items)} images but {len(predictions)} prediction sets")
    nc = len(class_names)
    images: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    detections: list[dict[str, object]] = []
    for image_id, (item, pred) in enumerate(zip(items, predictions, strict=True), start=1):
        h, w = item.shape
        images.append({"id": image_id, "width": w, "height": h, "file_name": item.path.name})
        for cls, box in zip(item.classes.tolist(), item.xyxy.tolist(), strict=True):
            bw, bh = box[2] - box[0], box[3] - box[1]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(cls) + 1,
                    "bbox": [box[0], box[1], bw, bh],
                    "area": bw * bh,
                    "iscrowd": 0,
                }
            )
        for cls, box, score in zip(
            pred.class_id.tolist(), pred.xyxy.tolist(), pred.confidence.tolist(), strict=True
        ):
            detections.append(
                {
                    "image_id": image_id,
                    "category_id": int(cls) + 1,
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "score": float(score),
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(class_names)]
    instances = np.bincount(
        np.concatenate([item.classes for item in items]).astype(np.int64), minlength=nc
    )
    nan = float("nan")
    if not detections or not annotations:
        per_class = tuple(
            ClassAccuracy(
                name, int(instances[i]), 0.0 if instances[i] else nan, 0.0 if instances[i] else nan
            )
            for i, name in enumerate(class_names)
        )
        return EvalReport(split, len(items), per_class, 0.0, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": annotations, "categories": categories}
        gt.createIndex()
        dt = gt.loadRes(detections)
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.params.maxDets = [1, 10, EVAL_MAX_DET]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # precision: [iou thresholds, recall points, classes, area ranges, max dets]
    precision = ev.eval["precision"][:, :, :, 0, -1]
    per_class_list: list[ClassAccuracy] = []
    for k, name in enumerate(class_names):
        all_iou = precision[:, :, k]
        at50 = precision[0, :, k]
        ap = float(all_iou[all_iou > -1].mean()) if (all_iou > -1).any() else nan
        ap50 = float(at50[at50 > -1].mean()) if (at50 > -1).any() else nan
        per_class_list.append(ClassAccuracy(name, int(instances[k]), ap50, ap))
    return EvalReport(
        split=split,
        images=len(items),
        per_class=tuple(per_class_list),
        map50=float(ev.stats[1]),
        map50_95=float(ev.stats[0]),
    )


#: ``infer(batch NCHW float32) -> (B, 4 + nc, N)``: the model under evaluation.
InferFn = Callable[[npt.NDArray[np.float32]], np.ndarray]


def predict_split(
    infer: InferFn,
    root: Path,
    split: str,
    imgsz: tuple[int, int],
    class_names: Sequence[str],
    batch_size: int = 12,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[LabelledImage], list[Detections]]:
    """Run ``infer`` over a split (letterboxed like the engine) and decode its output.

    Args:
        infer: the model.
        root: the dataset folder.
        split: ``train``, ``val`` or ``test``.
        imgsz: model input ``(h, w)``.
        class_names: the model's classes (labels may use ids below their count).
        batch_size: images per inference call.
        limit: evaluate only the first ``limit`` images (sorted by name).
        progress: called with the number of images done after each batch.
    """
    pairs = list_split(root, split)
    if limit is not None:
        pairs = pairs[:limit]
    boxer = Letterboxer(imgsz)
    items: list[LabelledImage] = []
    preds: list[Detections] = []
    for start in range(0, len(pairs), batch_size):
        frames = []
        for image_path, label_path in pairs[start : start + batch_size]:
            frame, item = read_labelled(image_path, label_path, len(class_names))
            frames.append(frame)
            items.append(item)
        batch, infos = boxer(frames)
        preds.extend(decode_for_eval(infer(batch), infos, class_names))
        if progress is not None:
            progress(len(frames))
    return items, preds


def onnx_infer(
    model_path: Path, threads: int = 2
) -> tuple[InferFn, tuple[int, int], tuple[str, ...]]:
    """An onnxruntime CPU session as an :data:`InferFn`, with the model's input size and names.

    Raises:
        ModelError: the file is missing, not an ONNX model, or lacks ``imgsz``/``names``
            metadata.
    """
    import onnxruntime as ort

    if not model_path.is_file():
        raise ModelError(f"{model_path}: no such model file")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(
            str(model_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{model_path}: onnxruntime cannot load it: {exc}") from exc
    meta = session.get_modelmeta().custom_metadata_map
    found_names = class_names_from_metadata(meta)
    imgsz = imgsz_from_metadata(meta)
    if not found_names or imgsz is None:
        raise ModelError(f"{model_path}: metadata lacks 'names' or 'imgsz'; cannot evaluate it")
    names = tuple(found_names[i] for i in sorted(found_names))
    input_name = session.get_inputs()[0].name

    def infer(batch: npt.NDArray[np.float32]) -> np.ndarray:
        result: np.ndarray = session.run(None, {input_name: batch})[0]
        return result

    return infer, imgsz, names


def evaluate_onnx(
    model_path: Path,
    data: Path,
    split: str = "test",
    threads: int = 2,
    progress: Callable[[int], None] | None = None,
) -> EvalReport:
    """Evaluate an ONNX detector on a split of a YOLO dataset with onnxruntime.

    The report carries slices of the split (:func:`slice_reports`): lighting when the
    dataset has a ``manifest.json`` from ``gridsight world dataset``, and occlusion.

    Raises:
        DataError: the dataset's class names differ from the model's.
    """
    infer, imgsz, names = onnx_infer(model_path, threads)
    data_names = read_class_names(data)
    if tuple(data_names) != tuple(names):
        raise DataError(
            f"{data}/data.yaml names {list(data_names)} differ from the model's {list(names)}"
        )
    items, preds = predict_split(infer, data, split, imgsz, names, progress=progress)
    report = coco_evaluate(items, preds, names, split)
    slices = slice_reports(items, preds, names, data, split)
    return EvalReport(
        report.split, report.images, report.per_class, report.map50, report.map50_95, slices
    )


#: A box counts as occluded when another box covers at least this fraction of its area.
OCCLUDED_IOA = 0.3
_SEED_IN_STEM = re.compile(r"_s(\d+)_f\d+$")


def lighting_of_images(items: Sequence[LabelledImage], data: Path) -> list[str | None]:
    """The lighting (day/dusk/night) of each image's synthetic world, from manifest.json.

    ``gridsight world dataset`` names images ``<scene>_s<seed>_f<frame>`` and lists every
    world's URI and lighting in ``manifest.json``; images it cannot place get None.
    """
    manifest = data / "manifest.json"
    if not manifest.is_file():
        return [None] * len(items)
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        worlds = [w for split in doc.get("worlds", {}).values() for w in split]
        by_seed = {
            int(dict(parse_qsl(urlsplit(w["uri"]).query))["seed"]): str(w["lighting"])
            for w in worlds
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{manifest}: cannot read the worlds' lighting: {exc}") from exc
    out: list[str | None] = []
    for item in items:
        match = _SEED_IN_STEM.search(item.path.stem)
        out.append(by_seed.get(int(match.group(1))) if match else None)
    return out


def occluded_boxes(xyxy: np.ndarray, min_ioa: float = OCCLUDED_IOA) -> npt.NDArray[np.bool_]:
    """Which boxes are covered by another box of the image by at least ``min_ioa`` of their area."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    if len(boxes) < 2:
        return np.zeros(len(boxes), dtype=bool)
    lt = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clip(min=0).prod(-1)
    np.fill_diagonal(inter, 0.0)
    area = (boxes[:, 2:] - boxes[:, :2]).clip(min=1e-9).prod(-1)
    covered: npt.NDArray[np.bool_] = (inter / area[:, None]).max(1) >= min_ioa
    return covered


def slice_reports(
    items: Sequence[LabelledImage],
    predictions: Sequence[Detections],
    class_names: Sequence[str],
    data: Path,
    split: str = "test",
) -> dict[str, EvalReport]:
    """COCO AP on subsets of a split: by lighting, and images with occluded objects.

    The occlusion slice holds the images in which some object is at least 30% covered
    by another labelled object's box (a proxy: the labels do not record visibility).
    """
    subsets: dict[str, list[int]] = {}
    for i, lighting in enumerate(lighting_of_images(items, data)):
        if lighting is not None:
            subsets.setdefault(f"lighting: {lighting}", []).append(i)
    subsets["occlusion: images with an object >= 30% covered"] = [
        i for i, item in enumerate(items) if occluded_boxes(item.xyxy).any()
    ]
    out: dict[str, EvalReport] = {}
    for name in sorted(subsets):
        index = subsets[name]
        if index:
            out[name] = coco_evaluate(
                [items[i] for i in index], [predictions[i] for i in index], class_names, split
            )
    return out
