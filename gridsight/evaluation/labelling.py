"""The labelling loop's data: frames of a run's events, with the detector's boxes as
pre-labels, in the YOLO and COCO layouts that CVAT, Label Studio and Ultralytics import.

Layout written under the output folder::

    images/<camera>__<event id>__<kind>.jpg   the raw frame (faces blurred unless told not)
    labels/<same stem>.txt                    YOLO: "class cx cy w h" (0..1), one a line
    classes.txt                               a class name a line (Label Studio, CVAT YOLO)
    data.yaml                                 Ultralytics: path, train/val, names
    annotations.json                          COCO: images, annotations (x, y, w, h), categories

Frames are taken at each event's ``start`` (what alerted) and, with ``around_s``, that
many seconds before it (the moment just before: near misses and the approach), by
reading the camera's own source again from the config: a file camera is read to that
time; a live stream cannot be, so its events are skipped with a count.

Example:
    >>> frames = frames_of_events(events, town.cameras, pm)                # doctest: +SKIP
    >>> write_dataset(out, frames, detector_for, names)                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from gridsight.core.detection.detections import Detections
from gridsight.core.errors import DataError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.evidence_privacy import Anonymizer
from gridsight.core.sources.base import SourceOptions

if TYPE_CHECKING:
    import pluggy

    from gridsight.core.config.camera import CameraConfig

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class EventFrame:
    """One frame to label: the event it comes from, which moment, and the image."""

    event: HazardEvent
    kind: str  # "start" or "before"
    ts: float
    image: np.ndarray

    @property
    def stem(self) -> str:
        return f"{_SAFE.sub('_', self.event.camera)}__{_SAFE.sub('_', self.event.id)}__{self.kind}"


def read_events(path: Path) -> list[HazardEvent]:
    """The events of an alerts JSONL file (``gridsight run --alerts``).

    Raises:
        DataError: a line that breaks the alert contract (naming file and line).
    """
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        out.append(HazardEvent.from_dict(data, where=f"{path}:{n}"))
    return out


def frames_of_events(
    events: Iterable[HazardEvent],
    cameras: Sequence[CameraConfig],
    pm: pluggy.PluginManager,
    *,
    around_s: float = 0.0,
    skipped: dict[str, int] | None = None,
) -> list[EventFrame]:
    """Read the frame of every event start (and ``around_s`` before it) from its camera.

    Each camera's source is read once, in stream-time order; the frame taken is the first
    at or after the wanted time. Events of a camera not in ``cameras``, or past the end
    of its source, are counted in ``skipped`` (by reason) and left out.
    """
    from gridsight.core.sources.registry import open_source

    skipped = skipped if skipped is not None else {}
    by_camera: dict[str, list[tuple[float, str, HazardEvent]]] = defaultdict(list)
    for ev in events:
        if ev.phase != "start":
            continue
        by_camera[ev.camera].append((ev.ts, "start", ev))
        if around_s > 0:
            by_camera[ev.camera].append((max(0.0, ev.ts - around_s), "before", ev))
    configs = {c.id: c for c in cameras}
    out: list[EventFrame] = []
    for camera, wanted in by_camera.items():
        cam = configs.get(camera)
        if cam is None:
            skipped["camera not in the config"] = skipped.get("camera not in the config", 0)
            skipped["camera not in the config"] += len(wanted)
            continue
        wanted.sort(key=lambda w: w[0])
        options = SourceOptions(fps=cam.fps, width=cam.resolution[0], height=cam.resolution[1])
        source = open_source(cam.source, options, pm)
        try:
            k = 0
            while k < len(wanted):
                frame = source.read()
                if frame is None:
                    break
                while k < len(wanted) and frame.ts >= wanted[k][0] - 1e-6:
                    _, kind, ev = wanted[k]
                    out.append(EventFrame(ev, kind, frame.ts, frame.image.copy()))
                    k += 1
            if k < len(wanted):
                skipped["past the end of the source"] = (
                    skipped.get("past the end of the source", 0) + len(wanted) - k
                )
        finally:
            source.close()
    return out


def _yolo_lines(det: Detections, w: int, h: int) -> list[str]:
    lines = []
    for (x1, y1, x2, y2), cid in zip(det.xyxy.tolist(), det.class_id.tolist(), strict=True):
        cx, cy = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
        bw, bh = (x2 - x1) / w, (y2 - y1) / h
        lines.append(f"{int(cid)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    return lines


def write_dataset(
    out: Path,
    frames: Sequence[EventFrame],
    detect: Callable[[str, np.ndarray], Detections],
    names: Mapping[int, str],
    *,
    blur: bool = True,
) -> dict[str, Any]:
    """Write ``frames`` with ``detect``'s boxes (model class ids) as pre-labels.

    ``detect(camera, image)`` runs on the image exactly as written (blurred, JPEG-encoded
    and decoded), so the pre-labels are what the model sees in the file a labeller gets,
    and ``gridsight eval model`` of the same model on the uncorrected set scores 1.0.

    Returns:
        A summary: images, boxes per class name, where the files are.
    """
    images_dir, labels_dir = out / "images", out / "labels"
    images_dir.mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    anonymizer = Anonymizer() if blur else None
    coco: dict[str, Any] = {
        "info": {"description": "gridsight event frames, detector pre-labels"},
        "images": [],
        "annotations": [],
        "categories": [{"id": cid + 1, "name": n} for cid, n in sorted(names.items())],
    }
    counts: dict[str, int] = defaultdict(int)
    for image_id, item in enumerate(frames, 1):
        h, w = item.image.shape[:2]
        image = anonymizer.apply(item.image, None) if anonymizer is not None else item.image
        name = f"{item.stem}.jpg"
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise DataError(f"cannot encode {name}")
        (images_dir / name).write_bytes(buf.tobytes())
        shown = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if shown is None:
            raise DataError(f"cannot decode {name} after encoding it")
        det = detect(item.event.camera, shown)
        (labels_dir / f"{item.stem}.txt").write_text(
            "".join(f"{line}\n" for line in _yolo_lines(det, w, h))
        )
        coco["images"].append(
            {
                "id": image_id,
                "file_name": f"images/{name}",
                "width": w,
                "height": h,
                "camera": item.event.camera,
                "event": item.event.id,
                "hazard": item.event.hazard,
                "ts": item.ts,
                "kind": item.kind,
            }
        )
        for (x1, y1, x2, y2), score, cid in zip(
            det.xyxy.tolist(), det.confidence.tolist(), det.class_id.tolist(), strict=True
        ):
            coco["annotations"].append(
                {
                    "id": len(coco["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": int(cid) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                    "score": score,
                }
            )
            counts[names.get(int(cid), str(cid))] += 1
    ordered = [names[k] for k in sorted(names)]
    (out / "classes.txt").write_text("".join(f"{n}\n" for n in ordered))
    (out / "data.yaml").write_text(
        "path: .\ntrain: images\nval: images\nnames:\n"
        + "".join(f"  {k}: {json.dumps(names[k])}\n" for k in sorted(names))
    )
    (out / "annotations.json").write_text(json.dumps(coco, indent=1))
    return {"out": str(out), "images": len(frames), "boxes": dict(sorted(counts.items()))}
