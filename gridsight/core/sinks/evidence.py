"""Evidence snapshots: one JPEG per event start, with boxes and zones drawn, faces blurred.

Privacy. Faces are blurred by default (switch off with ``blur_faces=False`` where the
operator's policy allows it). Two passes, because neither is enough alone:

1. OpenCV's bundled frontal-face Haar cascade (``cv2.data.haarcascades``), shipped with
   opencv-python-headless 4.x, so nothing is downloaded. It finds frontal faces of about
   20 px and more. OpenCV 5 wheels no longer include the cascade classifier; there this
   pass is skipped (logged once, and ``EvidenceWriter.face_detector`` says why).
2. A fallback on every *person* box: the top part of the box (where the head is) is
   pixelated. Township cameras are high and far; faces there are often 5-15 px, turned
   away or in profile, and the cascade misses them. Person boxes come from the detector,
   which sees people the cascade cannot.

Blurring is pixelation (downscale then upscale with nearest neighbour) followed by a
Gaussian blur: a plain Gaussian blur of a small face is partly reversible, a mosaic of
a few cells is not.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.errors import DataError
from gridsight.core.events import HazardEvent

_EVENT_COLOR = (0, 0, 255)  # BGR red: the objects behind the event
_OTHER_COLOR = (180, 180, 180)  # grey: everything else detected in the frame
_ZONE_COLOR = (0, 215, 255)  # amber: polygons
_LINE_COLOR = (255, 200, 0)  # cyan-ish: counting lines
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CASCADE_FILE = "haarcascade_frontalface_default.xml"

log = logging.getLogger(__name__)


def load_face_cascade() -> tuple[Any, str]:
    """OpenCV's bundled frontal-face cascade, or ``(False, reason)`` where it is absent.

    OpenCV 4.x wheels ship ``CascadeClassifier`` and the cascade XML under
    ``cv2.data.haarcascades``; OpenCV 5 moved the cascade classifier out of the main
    modules, so its wheels have neither. Then only the person-head fallback blurs.
    """
    classifier = getattr(cv2, "CascadeClassifier", None)
    data_dir = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if classifier is None or data_dir is None:
        return False, f"OpenCV {cv2.__version__} has no CascadeClassifier"
    path = Path(data_dir) / _CASCADE_FILE
    if not path.exists():
        return False, f"OpenCV {cv2.__version__} ships no {_CASCADE_FILE}"
    cascade = classifier(str(path))
    if cascade.empty():
        return False, f"cannot load {path}"
    return cascade, "haar"


def _zone_parts(zone: Any) -> tuple[str, str, np.ndarray]:
    """``(name, kind, points)`` of a zone given as a config dict or a config model."""
    if isinstance(zone, Mapping):
        name, kind, points = zone.get("name", ""), zone.get("kind", "polygon"), zone["points"]
    else:
        name = getattr(zone, "name", "")
        kind = getattr(zone, "kind", "polygon")
        points = zone.points
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return str(name), str(kind), pts


def _pixelate(region: np.ndarray, cells: int = 6) -> np.ndarray:
    h, w = region.shape[:2]
    if h < 2 or w < 2:
        return region
    size = (max(1, min(cells, w)), max(1, min(cells, h)))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    mosaic = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    k = max(3, (min(h, w) // 4) | 1)
    blurred: np.ndarray = cv2.GaussianBlur(mosaic, (k, k), 0)
    return blurred


class EvidenceWriter:
    """Writes evidence JPEGs for event starts.

    Args:
        directory: where snapshots go (``<directory>/<camera>/<event id>.jpg``).
        blur_faces: blur faces (cascade + person-head fallback); on by default.
        head_fraction: top fraction of a person box treated as the head by the fallback.
        jpeg_quality: JPEG quality 0-100.

    Example:
        >>> writer = EvidenceWriter("snapshots")                       # doctest: +SKIP
        >>> path = writer.save(event, frame.image, camera_zones, dets)  # doctest: +SKIP
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        blur_faces: bool = True,
        head_fraction: float = 0.22,
        jpeg_quality: int = 85,
    ) -> None:
        if not 0.0 < head_fraction <= 1.0:
            raise DataError(f"EvidenceWriter: head_fraction must be in (0, 1], got {head_fraction}")
        self.directory = Path(directory)
        self.blur_faces = blur_faces
        self.head_fraction = head_fraction
        self.jpeg_quality = int(jpeg_quality)
        # None: not loaded yet; False: this OpenCV build has no cascade.
        self._cascade: Any = None
        #: ``haar`` or why the cascade is missing (the head fallback always runs).
        self.face_detector = "not loaded"
        self.written = 0

    # ------------------------------------------------------------------ privacy
    def _face_cascade(self) -> Any | None:
        """The Haar face cascade, or None where this OpenCV build has none (see module doc)."""
        if self._cascade is None:
            self._cascade, self.face_detector = load_face_cascade()
            if self._cascade is None:
                log.warning(
                    "face cascade unavailable (%s); evidence snapshots blur person heads only",
                    self.face_detector,
                )
        return self._cascade or None

    def face_regions(self, image: np.ndarray, detections: Detections | None) -> np.ndarray:
        """``(k, 4)`` int boxes (x1, y1, x2, y2) to blur: cascade faces + person heads."""
        h, w = image.shape[:2]
        regions: list[np.ndarray] = []
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        cascade = self._face_cascade()
        faces = (
            cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(12, 12))
            if cascade is not None
            else ()
        )
        if len(faces):
            f = np.asarray(faces, dtype=np.float64).reshape(-1, 4)
            regions.append(np.stack([f[:, 0], f[:, 1], f[:, 0] + f[:, 2], f[:, 1] + f[:, 3]], 1))
        if detections is not None and len(detections):
            people = detections.xyxy[detections.class_id == int(Role.PERSON)].astype(np.float64)
            if len(people):
                heads = people.copy()
                heads[:, 3] = people[:, 1] + self.head_fraction * (people[:, 3] - people[:, 1])
                regions.append(heads)
        if not regions:
            return np.zeros((0, 4), np.int64)
        boxes = np.concatenate(regions)
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        out = np.stack(
            [
                np.floor(boxes[:, 0]),
                np.floor(boxes[:, 1]),
                np.ceil(boxes[:, 2]),
                np.ceil(boxes[:, 3]),
            ],
            1,
        ).astype(np.int64)
        return out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]

    def blur(self, image: np.ndarray, detections: Detections | None = None) -> np.ndarray:
        """A copy of ``image`` with face regions pixelated (the input is not modified)."""
        out = image.copy()
        for x1, y1, x2, y2 in self.face_regions(image, detections).tolist():
            out[y1:y2, x1:x2] = _pixelate(out[y1:y2, x1:x2])
        return out

    # ------------------------------------------------------------------ drawing
    @staticmethod
    def draw(
        image: np.ndarray,
        event: HazardEvent,
        zones: Iterable[Any] = (),
        detections: Detections | None = None,
    ) -> np.ndarray:
        """Draw zones, all detections (grey) and the event's boxes (red) on ``image`` in place."""
        overlay = image.copy()
        for zone in zones:
            name, kind, pts = _zone_parts(zone)
            ipts = np.round(pts).astype(np.int32)
            if kind == "line" and len(ipts) >= 2:
                cv2.line(image, tuple(ipts[0]), tuple(ipts[1]), _LINE_COLOR, 2, cv2.LINE_AA)
                anchor = ipts[0]
                color = _LINE_COLOR
            else:
                cv2.fillPoly(overlay, [ipts], _ZONE_COLOR)
                cv2.polylines(image, [ipts], True, _ZONE_COLOR, 2, cv2.LINE_AA)
                anchor = ipts[np.argmin(ipts[:, 1])]
                color = _ZONE_COLOR
            cv2.putText(
                image,
                name,
                (int(anchor[0]) + 3, max(12, int(anchor[1]) - 4)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                color,
                1,
                cv2.LINE_AA,
            )
        # Translucent zone fill so the objects inside stay visible.
        cv2.addWeighted(overlay, 0.2, image, 0.8, 0, dst=image)
        if detections is not None:
            for x1, y1, x2, y2 in np.round(detections.xyxy).astype(int).tolist():
                cv2.rectangle(image, (x1, y1), (x2, y2), _OTHER_COLOR, 1)
        for i, box in enumerate(event.boxes):
            x1, y1, x2, y2 = (round(v) for v in box)
            cv2.rectangle(image, (x1, y1), (x2, y2), _EVENT_COLOR, 2)
            label = f"#{event.track_ids[i]}" if i < len(event.track_ids) else ""
            if label:
                cv2.putText(
                    image,
                    label,
                    (x1, max(12, y1 - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.45,
                    _EVENT_COLOR,
                    1,
                    cv2.LINE_AA,
                )
        header = f"{event.camera}  {event.hazard}  t={event.ts:.1f}s  {event.id}"
        cv2.rectangle(image, (0, 0), (image.shape[1], 18), (0, 0, 0), -1)
        cv2.putText(
            image, header, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA
        )
        return image

    # ------------------------------------------------------------------ writing
    def path_for(self, event: HazardEvent) -> Path:
        """Where the snapshot of ``event`` goes (ids are sanitised for the filesystem)."""
        camera = _SAFE_NAME.sub("_", event.camera) or "camera"
        return self.directory / camera / f"{_SAFE_NAME.sub('_', event.id)}.jpg"

    def save(
        self,
        event: HazardEvent,
        image: np.ndarray,
        zones: Sequence[Any] = (),
        detections: Detections | None = None,
    ) -> str:
        """Write the evidence JPEG of ``event`` and return its path.

        Args:
            event: the start event (its boxes and track ids are highlighted).
            image: the BGR frame the event was raised on (not modified).
            zones: the camera's zones, as config dicts or config models.
            detections: all tracked detections of the frame (role ids), for context and
                for the person-head blur.

        Raises:
            DataError: the image is not a BGR ``uint8`` array or cannot be written.
        """
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise DataError(
                f"evidence for {event.id}: expected a BGR uint8 (h, w, 3) image, "
                f"got {image.dtype} {image.shape}"
            )
        canvas = self.blur(image, detections) if self.blur_faces else image.copy()
        self.draw(canvas, event, zones, detections)
        path = self.path_for(event)
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise DataError(f"evidence for {event.id}: JPEG encoding failed")
        # Write then rename, so a reader never sees half a JPEG.
        tmp = path.with_suffix(".jpg.tmp")
        tmp.write_bytes(buf.tobytes())
        tmp.replace(path)
        self.written += 1
        return str(path)
