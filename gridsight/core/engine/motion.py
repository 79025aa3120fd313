"""A cheap per-camera motion detector: does this frame need the object detector?

Most of the day most cameras look at a still scene. Running the detector on every frame
of a still scene finds the same parked car again and again; Frigate makes CPU detection
affordable by running it only where and when something moves. :class:`MotionDetector`
is the cheap test in front of the detector, per camera:

1. the frame is shrunk to ``height`` rows (bilinear, about 90 for a 640x360 camera: 1/16 of the
   pixels) and turned grey, then blurred a little so sensor noise and JPEG blocks do
   not count as motion;
2. it is compared with a *background* that adapts slowly (a running average with weight
   ``alpha`` per frame), so a car that parks becomes background after a few seconds and
   stops counting as motion, while a person walking across never does;
3. pixels whose grey level differs from the background by at least ``threshold`` are
   *changed*; masked pixels (trees in the wind, a burnt-in timestamp) never count;
4. the frame has motion when the changed fraction of the unmasked pixels is at least
   ``min_area``. A change over more than ``max_area`` of the image is a lighting change
   (clouds, the camera switching to night mode): the background restarts from this
   frame, and the frame counts as motion once, so the detector looks again.

The whole test costs a bilinear resize, a colour conversion, a blur and three array
operations on a 160x90 image: about 0.15 ms per 640x360 frame on an idle core (the
resize is most of it; INTER_AREA would cost ten times more), against tens of
milliseconds per frame for the detector. Which frames are then inferred is the business
of :class:`gridsight.core.engine.gate.MotionGate`.

Example:
    >>> import numpy as np
    >>> md = MotionDetector(MotionConfig(), (640, 360))
    >>> still = np.full((360, 640, 3), 80, np.uint8)
    >>> md.update(still).moving, md.update(still).moving
    (False, False)
    >>> walker = still.copy(); walker[100:220, 300:340] = 250
    >>> md.update(walker).moving
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gridsight.core.config.camera import MotionConfig


@dataclass(frozen=True, slots=True)
class MotionResult:
    """What the motion test found in one frame.

    Attributes:
        changed: fraction of the unmasked (downscaled) pixels that changed, 0..1.
        moving: ``changed >= min_area``, or the background (re)started on this frame.
        relit: the background (re)started on this frame: the first frame, or a change so
            large it was taken for a lighting change.
    """

    changed: float
    moving: bool
    relit: bool = False


class MotionDetector:
    """Grey-frame differencing against a slowly adapting background, for one camera.

    Args:
        config: thresholds, background rate and mask polygons (image pixels).
        frame_size: ``(width, height)`` of the camera's frames, the pixels the mask
            polygons are drawn in (the camera's ``resolution``).
    """

    def __init__(self, config: MotionConfig, frame_size: tuple[int, int]) -> None:
        self.config = config
        width, height = int(frame_size[0]), int(frame_size[1])
        self.frame_size = (width, height)
        small_h = max(8, min(config.height, height))
        small_w = max(8, round(width * small_h / height))
        self.small_size = (small_w, small_h)
        self._scale = (small_w / width, small_h / height)
        self._valid = self._mask_image()
        self._valid_count = int(np.count_nonzero(self._valid))
        self._background: np.ndarray | None = None
        self._diff = np.empty((small_h, small_w), np.float32)

    def _mask_image(self) -> np.ndarray:
        """``uint8`` 1 where motion counts, 0 under the mask polygons (downscaled)."""
        w, h = self.small_size
        valid = np.ones((h, w), np.uint8)
        sx, sy = self._scale
        for polygon in self.config.mask:
            pts = np.array([[x * sx, y * sy] for x, y in polygon], np.float32)
            cv2.fillPoly(valid, [np.round(pts).astype(np.int32)], 0)
        return valid

    @property
    def masked_fraction(self) -> float:
        """Share of the image the mask hides from the motion test."""
        return 1.0 - self._valid_count / float(self._valid.size)

    def reset(self) -> None:
        """Forget the background; the next frame starts a new one (and counts as motion)."""
        self._background = None

    def _small_grey(self, image: np.ndarray) -> np.ndarray:
        # A frame of another size than configured is scaled the same way, so the mask
        # stays where the config drew it (relative to the image).
        small = cv2.resize(image, self.small_size, interpolation=cv2.INTER_LINEAR)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        return cv2.GaussianBlur(grey, (3, 3), 0).astype(np.float32)

    def update(self, image: np.ndarray) -> MotionResult:
        """Test one BGR (or grey) frame against the background, then adapt the background.

        The first frame (and the first after :meth:`reset`) counts as motion (``relit``):
        nothing is known about the scene yet.
        """
        cfg = self.config
        grey = self._small_grey(image)
        bg = self._background
        if bg is None:
            self._background = grey
            return MotionResult(1.0, True, relit=True)
        cv2.absdiff(grey, bg, dst=self._diff)
        changed_px = int(np.count_nonzero((self._diff >= cfg.threshold) & (self._valid != 0)))
        changed = changed_px / self._valid_count if self._valid_count else 0.0
        if changed > cfg.max_area:
            self._background = grey
            return MotionResult(changed, True, relit=True)
        cv2.accumulateWeighted(grey, bg, cfg.alpha)
        return MotionResult(changed, bool(changed >= cfg.min_area))
