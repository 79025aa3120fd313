"""A detector's COCO mAP on a labelled folder, per class, without torch (pycocotools).

The folder is what ``gridsight dataset export`` writes once its pre-labels have been
corrected in CVAT or Label Studio and exported back as COCO: ``annotations.json`` whose
``file_name`` entries are relative to the folder. Model classes are matched to the
labelled categories by name (case-insensitive); model classes without a labelled
category are not scored.

The detector runs with Ultralytics' validation settings (``conf`` 0.001, ``iou`` 0.7,
``max_det`` 300), so the figures compare with ``yolo val``'s.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gridsight.core.detection.detector import Detector
from gridsight.core.errors import DataError

#: Ultralytics' ``val`` thresholds.
VAL_CONF, VAL_IOU, VAL_MAX_DET = 0.001, 0.7, 300


def load_coco(folder: Path) -> dict[str, Any]:
    """The folder's ``annotations.json``, checked for what scoring needs.

    Raises:
        DataError: missing file, not JSON, or missing images/annotations/categories.
    """
    path = folder / "annotations.json"
    if not path.is_file():
        raise DataError(f"{folder}: no annotations.json (a COCO export of the labelled set)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from exc
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise DataError(f"{path}: expected a list under {key!r} (COCO format)")
    for ann in doc["annotations"]:
        ann.setdefault("iscrowd", 0)
        if "area" not in ann:
            ann["area"] = float(ann["bbox"][2]) * float(ann["bbox"][3])
    return doc


def evaluate_detector(folder: Path, detector: Detector, batch: int = 8) -> dict[str, Any]:
    """COCO mAP@[.5:.95] and mAP@.5, overall and per class, of ``detector`` on ``folder``.

    Returns:
        ``{"images", "map", "map50", "classes": {name: {"ap", "ap50", "labels"}}}``; a
        class with no labels has ``ap`` None.

    Raises:
        DataError: the annotations are malformed or an image cannot be read.
        BackendUnavailableError: pycocotools is missing (``pip install 'gridsight[eval]'``).
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as exc:
        from gridsight.core.errors import BackendUnavailableError

        raise BackendUnavailableError(
            "gridsight eval model needs pycocotools: pip install 'gridsight[eval]'"
        ) from exc
    doc = load_coco(folder)
    cats = {str(c["name"]).strip().lower(): int(c["id"]) for c in doc["categories"]}
    to_cat = {
        cid: cats[name.strip().lower()]
        for cid, name in detector.class_names.items()
        if name.strip().lower() in cats
    }
    if not to_cat:
        raise DataError(
            f"{folder}: none of the model's classes is a labelled category "
            f"({', '.join(sorted(cats))})"
        )
    results: list[dict[str, Any]] = []
    images = doc["images"]
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        frames = []
        for img in chunk:
            frame = cv2.imread(str(folder / img["file_name"]), cv2.IMREAD_COLOR)
            if frame is None:
                raise DataError(f"{folder}: cannot read image {img['file_name']!r}")
            frames.append(frame)
        for img, det in zip(chunk, detector.detect_model_classes(frames), strict=True):
            for (x1, y1, x2, y2), score, cid in zip(
                det.xyxy.tolist(), det.confidence.tolist(), det.class_id.tolist(), strict=True
            ):
                if int(cid) in to_cat:
                    results.append(
                        {
                            "image_id": img["id"],
                            "category_id": to_cat[int(cid)],
                            "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "score": score,
                        }
                    )
    gt = COCO()
    gt.dataset = doc
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    labels = {c: 0 for c in cats.values()}
    for ann in doc["annotations"]:
        labels[int(ann["category_id"])] = labels.get(int(ann["category_id"]), 0) + 1
    names = {v: k for k, v in cats.items()}
    out: dict[str, Any] = {"images": len(images), "map": 0.0, "map50": 0.0, "classes": {}}
    if not results:
        for cat, n in labels.items():
            out["classes"][names[cat]] = {"ap": 0.0 if n else None, "ap50": 0.0, "labels": n}
        return out
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "bbox")
        ev.params.catIds = sorted(set(to_cat.values()))
        ev.params.maxDets = [1, 10, VAL_MAX_DET]
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"]  # [iou thresholds, recall, class, area, max dets]
    for k, cat in enumerate(ev.params.catIds):
        p_all = precision[:, :, k, 0, -1]
        p50 = precision[0, :, k, 0, -1]
        n = labels.get(cat, 0)
        out["classes"][names[cat]] = {
            "ap": float(np.mean(p_all[p_all > -1])) if n and (p_all > -1).any() else None,
            "ap50": float(np.mean(p50[p50 > -1])) if n and (p50 > -1).any() else None,
            "labels": n,
        }
    # From the precision array itself: summarize()'s first figure is hard-wired to
    # maxDets=100, which our 300 (Ultralytics') does not list.
    p_all, p50 = precision[:, :, :, 0, -1], precision[0, :, :, 0, -1]
    out["map"] = float(np.mean(p_all[p_all > -1])) if (p_all > -1).any() else 0.0
    out["map50"] = float(np.mean(p50[p50 > -1])) if (p50 > -1).any() else 0.0
    return out
