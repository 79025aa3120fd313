"""``gridsight detect``: run one detector model on images and print what it sees.

For ML engineers trying a model before putting it in a camera config: boxes in the
image's own pixels, score, the model's class id and name, and the role the engine
would map the class to (or ``-`` when the class is dropped).

Example:
    gridsight detect street.jpg lobby.png --model yolo11n.onnx --conf 0.3
    gridsight detect frames/ --model m.onnx --json --out annotated/
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import cv2
import numpy as np

from gridsight.commands import options
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.detector import (
    ULTRALYTICS_CONF,
    ULTRALYTICS_IOU,
    ULTRALYTICS_MAX_DET,
    Detector,
)
from gridsight.core.detection.roles import role_name
from gridsight.core.errors import DataError, ModelError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; a directory stands for the images directly inside it, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot read image {str(path)!r} (missing, or not an image OpenCV reads)")
    return image


def _chunks(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _palette(class_id: int) -> tuple[int, int, int]:
    # A fixed, well-spread colour per class (golden-ratio hue steps).
    hue = int((class_id * 0.618033988749895 % 1.0) * 179)
    hsv = np.array([[[hue, 200, 255]]], np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def annotate(image: np.ndarray, det: Detections, names: dict[int, str]) -> np.ndarray:
    """A copy of ``image`` with each detection's box, class name and score drawn."""
    out = image.copy()
    for (x1, y1, x2, y2), score, cid in zip(
        det.xyxy.round().astype(int), det.confidence, det.class_id, strict=True
    ):
        color = _palette(int(cid))
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), color, 2)
        label = f"{names.get(int(cid), str(int(cid)))} {float(score):.2f}"
        cv2.putText(
            out, label, (int(x1), max(12, int(y1) - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1
        )
    return out


def _records(det: Detections, detector: Detector) -> list[dict[str, Any]]:
    records = det.to_records(detector.class_names)
    for rec in records:
        role = detector.mapper.role_of(rec["class_id"])
        rec["role"] = role_name(role) if role is not None else None
    return records


@click.command("detect")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--model",
    "-m",
    type=click.Path(path_type=Path),
    help="ONNX detector (YOLOv8/YOLO11 or end-to-end layout). Default: the bundled model.",
)
@click.option(
    "--conf",
    type=click.FloatRange(0, 1),
    help=f"Score threshold (default: the detector's own, else {ULTRALYTICS_CONF} as Ultralytics).",
)
@click.option(
    "--iou",
    type=click.FloatRange(0, 1),
    help=f"NMS IoU threshold (default: the detector's own, else {ULTRALYTICS_IOU} as Ultralytics).",
)
@click.option(
    "--max-det",
    type=click.IntRange(min=1),
    help=f"Most detections per image (default: the detector's own, else {ULTRALYTICS_MAX_DET}).",
)
@click.option(
    "--backend",
    default="auto",
    show_default=True,
    help="auto, onnxruntime, opencv, tensorrt (or a plugin's backend).",
)
@options.names()
@click.option("--batch", default=8, show_default=True, type=click.IntRange(min=1))
@options.as_json("Print one JSON document.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save annotated copies of the images in this directory.",
)
def detect(
    images: tuple[Path, ...],
    model: Path | None,
    conf: float | None,
    iou: float | None,
    max_det: int | None,
    backend: str,
    names: tuple[str, ...] | None,
    batch: int,
    as_json: bool,
    out: Path | None,
) -> None:
    """Run a detector model on IMAGES (files or directories) and print the detections.

    An image that cannot be read is reported and skipped; the others are still run, and
    the command then exits with status 2. The model is checked on a blank frame before
    any image: an output layout gridsight cannot decode, or a class count other than the
    names' (``--names`` or the model's metadata), is an error naming both (status 2).

    \b
    Examples:
      gridsight detect frame.jpg                         # the bundled model
      gridsight detect shots/ --model yolo11n.onnx --conf 0.4 --out annotated/
      gridsight detect frame.jpg --json > detections.json
    """
    from gridsight.core.detection.spec import resolve_model
    from gridsight.core.plugins import build_plugin_manager

    pm = build_plugin_manager()
    try:
        model_path, spec = resolve_model(model, pm)
    except ModelError as exc:
        raise click.UsageError(str(exc)) from exc
    paths = _expand(images)
    if not paths:
        raise click.UsageError("no images found in the given paths")
    results: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    kwargs: dict[str, Any] = dict(conf=conf, iou=iou, max_det=max_det, pm=pm)
    if names:
        kwargs.update(class_names=list(names), names_from="--names")
    if spec is not None:
        detector = Detector.from_spec(spec, backend, **kwargs)
    else:
        defaults = dict(conf=ULTRALYTICS_CONF, iou=ULTRALYTICS_IOU, max_det=ULTRALYTICS_MAX_DET)
        kwargs.update({k: v for k, v in defaults.items() if kwargs[k] is None})
        detector = Detector(model_path, backend, **kwargs)
    with detector:
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        if not as_json:
            h, w = detector.input_size
            click.echo(
                f"model {model_path} ({detector.backend_name}, input {w}x{h}, "
                f"{len(detector.class_names)} classes)"
            )
        for batch_paths in _chunks(paths, batch):
            chunk, frames = [], []
            for p in batch_paths:
                try:
                    frames.append(_read(p))
                except DataError as exc:
                    skipped.append({"image": str(p), "error": str(exc)})
                    click.echo(f"warning: skipped: {exc}", err=True)
                    continue
                chunk.append(p)
            if not frames:
                continue
            for path, frame, det in zip(
                chunk, frames, detector.detect_model_classes(frames), strict=True
            ):
                records = _records(det, detector)
                results.append(
                    {
                        "image": str(path),
                        "width": int(frame.shape[1]),
                        "height": int(frame.shape[0]),
                        "detections": records,
                    }
                )
                if out is not None:
                    target = out / f"{path.stem}.jpg"
                    if not cv2.imwrite(str(target), annotate(frame, det, detector.class_names)):
                        raise DataError(f"cannot write annotated image {str(target)!r}")
                if not as_json:
                    _echo_text(path, frame, records)
    if as_json:
        doc = {
            "model": str(model_path),
            "backend": detector.backend_name,
            "conf": detector.conf,
            "iou": detector.iou,
            "max_det": detector.max_det,
            "images": results,
            "skipped": skipped,
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    if skipped:
        raise DataError(
            f"{len(skipped)} of {len(paths)} images could not be read and were skipped "
            f"(first: {skipped[0]['image']}); check that they are images OpenCV reads"
        )


def _echo_text(path: Path, frame: np.ndarray, records: list[dict[str, Any]]) -> None:
    click.echo(f"{path} ({frame.shape[1]}x{frame.shape[0]}): {len(records)} detections")
    for rec in records:
        x1, y1, x2, y2 = rec["xyxy"]
        role = rec["role"] or "-"
        click.echo(
            f"  [{x1:7.1f} {y1:7.1f} {x2:7.1f} {y2:7.1f}]  {rec['confidence']:.3f}  "
            f"{rec['class_id']:>3} {rec['class_name']:<16} role={role}"
        )
