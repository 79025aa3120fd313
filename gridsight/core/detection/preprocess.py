"""Letterboxing camera frames into a model's input batch, and mapping boxes back.

A frame of any size is resized to fit the model input ``(h, w)`` keeping its aspect
ratio, centred, and padded with grey (114, as YOLO models are trained with). The batch
is RGB, scaled to [0, 1], ``float32`` NCHW. :class:`LetterboxInfo` remembers the exact
resize and padding of each frame so detections map back to the frame's own pixels.

Example:
    >>> import numpy as np
    >>> frames = [np.zeros((360, 640, 3), np.uint8), np.zeros((480, 480, 3), np.uint8)]
    >>> batch, infos = letterbox_batch(frames, (320, 320))
    >>> batch.shape, infos[0].resized, infos[0].pad
    ((2, 3, 320, 320), (180, 320), (0, 70))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from gridsight.core.errors import DataError

#: The grey YOLO models are trained to see as "nothing here".
PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class LetterboxInfo:
    """How one frame was placed in the model input.

    Attributes:
        scale: the nominal resize factor ``min(h_in / h, w_in / w)``.
        pad: ``(left, top)`` padding in model-input pixels.
        resized: ``(height, width)`` of the resized frame inside the input.
        orig_shape: ``(height, width)`` of the original frame.
    """

    scale: float
    pad: tuple[int, int]
    resized: tuple[int, int]
    orig_shape: tuple[int, int]

    @property
    def scale_xy(self) -> tuple[float, float]:
        """The exact per-axis factors the pixels were resized by (rounding makes them differ)."""
        return self.resized[1] / self.orig_shape[1], self.resized[0] / self.orig_shape[0]

    def to_original(self, xyxy: np.ndarray, clip: bool = True) -> npt.NDArray[np.float32]:
        """Map ``(n, 4)`` boxes from model-input pixels to original-frame pixels.

        The inverse of exactly what :func:`letterbox_batch` did to the pixels: undo the
        padding, then the per-axis resize. Returns a new array.

        Args:
            xyxy: boxes in model-input pixels.
            clip: clip the result to the frame.
        """
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        sx, sy = self.scale_xy
        left, top = self.pad
        out = np.empty_like(boxes)
        out[:, 0::2] = (boxes[:, 0::2] - left) / sx
        out[:, 1::2] = (boxes[:, 1::2] - top) / sy
        if clip:
            h, w = self.orig_shape
            np.clip(out[:, 0::2], 0.0, float(w), out=out[:, 0::2])
            np.clip(out[:, 1::2], 0.0, float(h), out=out[:, 1::2])
        return out.astype(np.float32)

    def to_input(self, xyxy: np.ndarray) -> npt.NDArray[np.float64]:
        """Map ``(n, 4)`` boxes from original-frame pixels to model-input pixels."""
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        sx, sy = self.scale_xy
        left, top = self.pad
        out = np.empty_like(boxes)
        out[:, 0::2] = boxes[:, 0::2] * sx + left
        out[:, 1::2] = boxes[:, 1::2] * sy + top
        return out


def letterbox_geometry(orig_shape: tuple[int, int], size: tuple[int, int]) -> LetterboxInfo:
    """Where a frame of ``orig_shape`` (h, w) lands in a model input of ``size`` (h, w).

    The padding is split evenly, the odd pixel going right/bottom, as Ultralytics does.
    """
    h, w = orig_shape
    h_in, w_in = size
    if h <= 0 or w <= 0:
        raise DataError(f"letterbox: expected a non-empty frame, got shape {orig_shape}")
    scale = min(h_in / h, w_in / w)
    new_w = min(w_in, max(1, round(w * scale)))
    new_h = min(h_in, max(1, round(h * scale)))
    left = round((w_in - new_w) / 2 - 0.1)
    top = round((h_in - new_h) / 2 - 0.1)
    return LetterboxInfo(scale=scale, pad=(left, top), resized=(new_h, new_w), orig_shape=(h, w))


def _as_bgr(image: np.ndarray, index: int) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        got = getattr(image, "dtype", type(image).__name__)
        raise DataError(f"letterbox: frame {index}: expected a uint8 BGR image, got {got}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise DataError(
        f"letterbox: frame {index}: expected shape (h, w, 3) BGR, got {tuple(image.shape)}"
    )


class Letterboxer:
    """Letterboxes batches into buffers it keeps and reuses.

    The uint8 canvas of each batch slot is kept between calls; when a slot receives a
    frame of the same size as last time its padding is already grey and only the image
    area is rewritten. The float batch is reused too, so the array returned by
    :meth:`__call__` is valid until the next call (pass ``copy=True`` to keep it).

    Args:
        size: model input ``(height, width)``.
        pad_value: grey level of the padding.
    """

    def __init__(self, size: tuple[int, int], pad_value: int = PAD_VALUE) -> None:
        h, w = int(size[0]), int(size[1])
        if h <= 0 or w <= 0:
            raise DataError(f"letterbox: expected a positive input size (h, w), got {size}")
        self.size = (h, w)
        self.pad_value = int(pad_value)
        self._canvas = np.full((0, h, w, 3), self.pad_value, np.uint8)
        self._batch = np.empty((0, 3, h, w), np.float32)
        self._slot_geometry: list[LetterboxInfo | None] = []

    def _ensure_capacity(self, n: int) -> None:
        if self._canvas.shape[0] >= n:
            return
        h, w = self.size
        self._canvas = np.full((n, h, w, 3), self.pad_value, np.uint8)
        self._batch = np.empty((n, 3, h, w), np.float32)
        self._slot_geometry = [None] * n

    def __call__(
        self, images: Sequence[np.ndarray], copy: bool = False
    ) -> tuple[npt.NDArray[np.float32], list[LetterboxInfo]]:
        """Letterbox ``images`` (BGR uint8, sizes may differ) into one NCHW float32 batch.

        Args:
            images: the frames.
            copy: return a fresh array instead of the reused buffer.

        Returns:
            ``(batch, infos)``: the ``(n, 3, h, w)`` RGB batch in [0, 1] and one
            :class:`LetterboxInfo` per frame.
        """
        n = len(images)
        h_in, w_in = self.size
        if n == 0:
            return np.empty((0, 3, h_in, w_in), np.float32), []
        self._ensure_capacity(n)
        infos: list[LetterboxInfo] = []
        for i, raw in enumerate(images):
            image = _as_bgr(raw, i)
            info = letterbox_geometry((image.shape[0], image.shape[1]), self.size)
            slot = self._canvas[i]
            if self._slot_geometry[i] != info:
                # A new placement leaves stale pixels where the padding now is.
                slot.fill(self.pad_value)
                self._slot_geometry[i] = info
            new_h, new_w = info.resized
            left, top = info.pad
            region = slot[top : top + new_h, left : left + new_w]
            if (new_h, new_w) == image.shape[:2]:
                region[...] = image
            else:
                # Bilinear, as Ultralytics letterboxes at prediction time: the model sees
                # the same pixels it would in the framework it was trained in.
                cv2.resize(image, (new_w, new_h), dst=region, interpolation=cv2.INTER_LINEAR)
            infos.append(info)
        # One vectorised pass for the whole batch: BGR->RGB, HWC->CHW, /255.
        rgb_chw = self._canvas[:n, :, :, ::-1].transpose(0, 3, 1, 2)
        out = self._batch[:n]
        np.multiply(rgb_chw, np.float32(1.0 / 255.0), out=out, dtype=np.float32)
        return (out.copy() if copy else out), infos


def letterbox_batch(
    images: Sequence[np.ndarray], size: tuple[int, int], pad_value: int = PAD_VALUE
) -> tuple[npt.NDArray[np.float32], list[LetterboxInfo]]:
    """Letterbox frames into a new ``(n, 3, h, w)`` float32 RGB batch in [0, 1].

    A stateless convenience; a pipeline that letterboxes every frame should keep a
    :class:`Letterboxer`, which reuses its buffers.

    Args:
        images: BGR uint8 frames, sizes may differ.
        size: model input ``(height, width)``.
        pad_value: grey level of the padding.
    """
    return Letterboxer(size, pad_value)(images, copy=False)


def boxes_to_original(
    xyxy: np.ndarray, info: LetterboxInfo, clip: bool = True
) -> npt.NDArray[np.float32]:
    """Map boxes from model-input pixels back to the frame (:meth:`LetterboxInfo.to_original`)."""
    return info.to_original(xyxy, clip=clip)
