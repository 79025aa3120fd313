"""Privacy for evidence (snapshots and clips): faces blurred whatever the detector saw.

The model that raised the event is not a privacy tool: it may be a boat detector, or miss
the person in the corner. So every evidence frame goes through passes of its own, all
shipped with OpenCV (nothing downloaded), and the union of their regions is blurred:

1. **faces**: OpenCV's frontal Haar cascade (``cv2.data.haarcascades``; with ``profile``
   also its profile cascade, on the frame and mirrored, at three times the cost), on the
   frame as it is: they find faces of 20 px and more (near cameras, doorways). On
   ``vtest.avi`` (faces of 8-15 px) they find none of the 21 faces marked by hand, even
   on the frame enlarged 1.5x, where they cost several times HOG's time; so they run on
   the frame as it is, for the cameras that are close.
2. **people**: OpenCV's HOG pedestrian detector (Dalal-Triggs, the one its
   ``peopledetect`` sample runs on ``vtest.avi``), again on the enlarged frame; the head
   part of every person it finds is blurred. Township cameras are high and far: faces
   there are 8-15 px, turned away or in profile, and the cascades miss most of them,
   while the body is large enough for HOG.
3. **the detector's people**, when the frame's detections are given: the top
   ``head_fraction`` of every box of the ``person`` role.

``strict`` mode goes further: everything outside the kept polygons (the camera's hazard
zones) and the event's own boxes is blurred too, for places where even clothes and cars
must not be recognisable.

Blurring is pixelation (downscale, then upscale with nearest neighbour) followed by a
Gaussian blur: a plain Gaussian blur of a small face is partly reversible, a mosaic of a
few cells is not.

What it achieves on real footage is measured, not assumed: ``docs/privacy.md`` gives the
share of visible faces blurred on frames of OpenCV's ``vtest.avi``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.errors import DataError

log = logging.getLogger(__name__)

_FRONTAL = "haarcascade_frontalface_default.xml"
_PROFILE = "haarcascade_profileface.xml"


def load_cascade(name: str = _FRONTAL) -> tuple[Any, str]:
    """One of OpenCV's bundled Haar cascades, or ``(False, reason)`` where it is absent.

    OpenCV 4.x wheels ship ``CascadeClassifier`` and the XML files under
    ``cv2.data.haarcascades``; OpenCV 5 moved the cascade classifier out of the main
    modules, so its wheels have neither. Then the other passes still blur.
    """
    classifier = getattr(cv2, "CascadeClassifier", None)
    data_dir = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if classifier is None or data_dir is None:
        return False, f"OpenCV {cv2.__version__} has no CascadeClassifier"
    path = Path(data_dir) / name
    if not path.exists():
        return False, f"OpenCV {cv2.__version__} ships no {name}"
    cascade = classifier(str(path))
    if cascade.empty():
        return False, f"cannot load {path}"
    return cascade, "haar"


def pixelate(region: np.ndarray, cells: int = 6) -> np.ndarray:
    """A mosaic of about ``cells`` cells across, then blurred: detail cannot come back."""
    h, w = region.shape[:2]
    if h < 2 or w < 2:
        return region
    size = (max(1, min(cells, w)), max(1, min(cells, h)))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    mosaic = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    k = max(3, (min(h, w) // 4) | 1)
    blurred: np.ndarray = cv2.GaussianBlur(mosaic, (k, k), 0)
    return blurred


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """What the anonymizer blurs.

    Attributes:
        faces: run the frontal face cascade.
        profile: also the profile cascade, both ways (turned faces; 3x the cascades' cost).
        people: run the HOG pedestrian detector and blur the head of each person found.
        upscale: enlarge the frame by this before HOG (small, far people).
        head_fraction: top fraction of a detector's person box blurred as the head.
        strict: also blur everything outside the kept zones and the event's boxes.
    """

    faces: bool = True
    profile: bool = False
    people: bool = True
    upscale: float = 1.5
    head_fraction: float = 0.22
    strict: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.head_fraction <= 1.0:
            raise DataError(f"head_fraction must be in (0, 1], got {self.head_fraction}")
        if not 1.0 <= self.upscale <= 4.0:
            raise DataError(f"privacy upscale must be within 1..4, got {self.upscale}")


def _to_xyxy(rects: Any, scale: float) -> np.ndarray:
    r = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / scale
    return np.stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3]], 1)


class Anonymizer:
    """Finds the regions of a frame to blur and blurs them (thread-safe: one lock).

    Example:
        >>> anon = Anonymizer(PrivacySettings(strict=True))              # doctest: +SKIP
        >>> safe = anon.apply(frame, detections, keep=[zone_points])      # doctest: +SKIP
    """

    def __init__(self, settings: PrivacySettings | None = None) -> None:
        self.settings = settings or PrivacySettings()
        self._lock = threading.Lock()
        self._cascades: list[tuple[Any, bool]] | None = None
        self._hog: Any = None
        #: ``haar`` or why the face cascades are missing (the other passes still run).
        self.face_detector = "not loaded"

    def _load(self) -> list[tuple[Any, bool]]:
        if self._cascades is None:
            cascades: list[tuple[Any, bool]] = []
            frontal, why = load_cascade(_FRONTAL)
            self.face_detector = why
            if frontal is not False:
                cascades.append((frontal, False))
                profile, _ = load_cascade(_PROFILE) if self.settings.profile else (False, "")
                if profile is not False:
                    cascades += [(profile, False), (profile, True)]  # both directions
            else:
                log.warning("face cascades unavailable (%s); blurring heads of people only", why)
            self._cascades = cascades
            if self.settings.people:
                hog = cv2.HOGDescriptor()
                hog.setSVMDetector(
                    np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32)
                )
                self._hog = hog
        return self._cascades

    def regions(self, image: np.ndarray, detections: Detections | None = None) -> np.ndarray:
        """``(k, 4)`` int boxes (x1, y1, x2, y2) to blur: faces, HOG heads, person heads."""
        h, w = image.shape[:2]
        s = self.settings
        found: list[np.ndarray] = []
        with self._lock:
            cascades = self._load()
            if s.faces and cascades:
                gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
                gray = cv2.equalizeHist(gray)
                for cascade, mirrored in cascades:
                    src = cv2.flip(gray, 1) if mirrored else gray
                    rects = cascade.detectMultiScale(src, 1.15, 4, minSize=(20, 20))
                    if len(rects):
                        boxes = _to_xyxy(rects, 1.0)
                        if mirrored:
                            boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
                        pad = 0.15 * (boxes[:, 2:4] - boxes[:, 0:2])
                        found.append(np.concatenate([boxes[:, :2] - pad, boxes[:, 2:] + pad], 1))
            if self._hog is not None and image.ndim == 3:
                big = (
                    cv2.resize(image, None, fx=s.upscale, fy=s.upscale) if s.upscale > 1 else image
                )
                rects, _ = self._hog.detectMultiScale(
                    big, winStride=(8, 8), padding=(8, 8), scale=1.05
                )
                if len(rects):
                    b = _to_xyxy(rects, s.upscale)
                    bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
                    # HOG's window pads the person: the head is in the top third, centred.
                    found.append(
                        np.stack(
                            [b[:, 0] + 0.2 * bw, b[:, 1], b[:, 2] - 0.2 * bw, b[:, 1] + 0.35 * bh],
                            1,
                        )
                    )
        if detections is not None and len(detections):
            people = detections.xyxy[detections.class_id == int(Role.PERSON)].astype(np.float64)
            if len(people):
                heads = people.copy()
                heads[:, 3] = people[:, 1] + s.head_fraction * (people[:, 3] - people[:, 1])
                found.append(heads)
        if not found:
            return np.zeros((0, 4), np.int64)
        boxes = np.concatenate(found)
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        out = np.concatenate([np.floor(boxes[:, :2]), np.ceil(boxes[:, 2:])], 1).astype(np.int64)
        return out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]

    def apply(
        self,
        image: np.ndarray,
        detections: Detections | None = None,
        keep: Sequence[np.ndarray] = (),
        keep_boxes: np.ndarray | None = None,
    ) -> np.ndarray:
        """A copy of ``image`` with the regions blurred (the input is not modified).

        Args:
            image: a BGR frame.
            detections: the frame's detections (role ids), for the person-head pass.
            keep: polygons (``(n, 2)`` pixels) left clear in strict mode (the hazard's
                zones); faces inside them are still blurred.
            keep_boxes: ``(k, 4)`` boxes also left clear in strict mode (the event's
                objects).
        """
        out = image.copy()
        if self.settings.strict:
            clear = np.zeros(image.shape[:2], np.uint8)
            for poly in keep:
                pts = np.round(np.asarray(poly, np.float64).reshape(-1, 2)).astype(np.int32)
                cv2.fillPoly(clear, [pts], 255)
            for x1, y1, x2, y2 in np.round(
                np.asarray(keep_boxes if keep_boxes is not None else np.zeros((0, 4)))
            ).astype(int):
                clear[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = 255
            hidden = pixelate(out, cells=max(8, image.shape[1] // 24))
            out = np.where(clear[..., None] > 0, out, hidden)
        for x1, y1, x2, y2 in self.regions(image, detections).tolist():
            out[y1:y2, x1:x2] = pixelate(out[y1:y2, x1:x2])
        return out
