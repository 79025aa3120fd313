"""Evidence snapshots: one JPEG per event start, with boxes and zones drawn, faces blurred.

Privacy. Faces are blurred by default (switch off with ``blur_faces=False`` where the
operator's policy allows it) by :class:`~gridsight.core.sinks.evidence_privacy.Anonymizer`:
OpenCV's face cascades and HOG pedestrian detector on the frame itself, whatever the
event's detector is, plus the heads of the detector's ``person`` boxes; ``strict`` blurs
everything outside the camera's zones and the event's boxes as well.
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
from gridsight.core.errors import DataError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.evidence_privacy import Anonymizer, PrivacySettings, load_cascade

_EVENT_COLOR = (0, 0, 255)  # BGR red: the objects behind the event
_OTHER_COLOR = (180, 180, 180)  # grey: everything else detected in the frame
_ZONE_COLOR = (0, 215, 255)  # amber: polygons
_LINE_COLOR = (255, 200, 0)  # cyan-ish: counting lines
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CASCADE_FILE = "haarcascade_frontalface_default.xml"

log = logging.getLogger(__name__)


def load_face_cascade() -> tuple[Any, str]:
    """OpenCV's bundled frontal-face cascade, or ``(False, reason)`` where it is absent."""
    return load_cascade()


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


class EvidenceWriter:
    """Writes evidence JPEGs for event starts.

    Args:
        directory: where snapshots go (``<directory>/<camera>/<event id>.jpg``).
        blur_faces: blur faces (cascade + person-head fallback); on by default.
        head_fraction: top fraction of a person box treated as the head by the fallback.
        jpeg_quality: JPEG quality 0-100.
        privacy: what to blur (faces, HOG people, strict mode); ``head_fraction`` is
            used when it is not given.

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
        privacy: PrivacySettings | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.blur_faces = blur_faces
        self.anonymizer = Anonymizer(privacy or PrivacySettings(head_fraction=head_fraction))
        self.head_fraction = self.anonymizer.settings.head_fraction
        self.jpeg_quality = int(jpeg_quality)
        self.written = 0

    @property
    def face_detector(self) -> str:
        """``haar``, or why the face cascades are missing (the other passes still run)."""
        return self.anonymizer.face_detector

    # ------------------------------------------------------------------ privacy
    def face_regions(self, image: np.ndarray, detections: Detections | None) -> np.ndarray:
        """``(k, 4)`` int boxes (x1, y1, x2, y2) to blur (see the privacy module)."""
        return self.anonymizer.regions(image, detections)

    def blur(
        self,
        image: np.ndarray,
        detections: Detections | None = None,
        zones: Iterable[Any] = (),
        keep_boxes: np.ndarray | None = None,
    ) -> np.ndarray:
        """A copy of ``image`` with face regions pixelated (the input is not modified);
        in strict mode also everything outside the polygon ``zones`` and ``keep_boxes``."""
        keep = [pts for _, kind, pts in map(_zone_parts, zones) if kind != "line"]
        return self.anonymizer.apply(image, detections, keep, keep_boxes)

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
        boxes = np.asarray(event.boxes, np.float64).reshape(-1, 4)
        canvas = self.blur(image, detections, zones, boxes) if self.blur_faces else image.copy()
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
