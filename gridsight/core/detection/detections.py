"""``Detections``: a struct of arrays for the boxes of one frame.

Modelled on supervision's ``Detections``: parallel arrays, shapes checked on construction,
indexing returns a new object and nothing mutates its input.

Example:
    >>> import numpy as np
    >>> d = Detections(xyxy=np.array([[0, 0, 10, 20]]), confidence=np.array([0.9]),
    ...                class_id=np.array([0]))
    >>> len(d), d.anchors("bottom_center").tolist()
    (1, [[5.0, 20.0]])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from gridsight.core.errors import DataError

Anchor = Literal["bottom_center", "center", "top_center", "bottom_left", "bottom_right"]
ANCHORS: tuple[str, ...] = ("bottom_center", "center", "top_center", "bottom_left", "bottom_right")

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def _as_1d(name: str, value: Any, n: int, dtype: type) -> np.ndarray:
    arr: np.ndarray = np.asarray(value, dtype=dtype)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(f"Detections.{name}: expected shape ({n},), got {arr.shape}")
    return arr


@dataclass(eq=False)
class Detections:
    """Boxes of one frame as parallel arrays.

    Attributes:
        xyxy: ``(n, 4) float32`` boxes in pixels, x1 <= x2 and y1 <= y2.
        confidence: ``(n,) float32`` scores in [0, 1].
        class_id: ``(n,) int64`` class (role) ids.
        tracker_id: ``(n,) int64`` track ids, or None before tracking.
        data: extra per-detection arrays, each of length n.
    """

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray
    tracker_id: IntArray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.ndim == 1 and xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise DataError(f"Detections.xyxy: expected shape (n, 4), got {xyxy.shape}")
        n = xyxy.shape[0]
        if n and not np.all(np.isfinite(xyxy)):
            raise DataError("Detections.xyxy: expected finite coordinates, got NaN or inf")
        self.xyxy = xyxy
        self.confidence = _as_1d("confidence", self.confidence, n, np.float32)
        self.class_id = _as_1d("class_id", self.class_id, n, np.int64)
        if self.tracker_id is not None:
            self.tracker_id = _as_1d("tracker_id", self.tracker_id, n, np.int64)
        data: dict[str, np.ndarray] = {}
        for key, value in self.data.items():
            arr = np.asarray(value)
            if arr.ndim == 0 or arr.shape[0] != n:
                raise DataError(
                    f"Detections.data[{key!r}]: expected length {n}, got shape {arr.shape}"
                )
            data[key] = arr
        self.data = data

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, with_tracker: bool = False) -> Detections:
        """An empty set (optionally with an empty tracker_id array)."""
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int64),
            tracker_id=np.zeros(0, np.int64) if with_tracker else None,
        )

    @classmethod
    def merge(cls, parts: Iterable[Detections]) -> Detections:
        """Concatenate several sets. All must agree on having tracker ids and data keys."""
        items = [p for p in parts]
        if not items:
            return cls.empty()
        has_tid = {p.tracker_id is not None for p in items}
        if len(has_tid) != 1:
            raise DataError("Detections.merge: some parts have tracker_id and some do not")
        keys = {frozenset(p.data) for p in items}
        if len(keys) != 1:
            raise DataError("Detections.merge: parts have different data keys")
        tids = (
            np.concatenate([p.tracker_id for p in items if p.tracker_id is not None])
            if has_tid == {True}
            else None
        )
        return cls(
            xyxy=np.concatenate([p.xyxy for p in items]),
            confidence=np.concatenate([p.confidence for p in items]),
            class_id=np.concatenate([p.class_id for p in items]),
            tracker_id=tids,
            data={k: np.concatenate([p.data[k] for p in items]) for k in items[0].data},
        )

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: int | slice | np.ndarray | list[int]) -> Detections:
        """Select by integer, slice, integer array or boolean mask; returns a new object."""
        if isinstance(index, int | np.integer):
            index = [int(index)]
        if isinstance(index, np.ndarray) and index.dtype == bool and index.shape != (len(self),):
            raise DataError(
                f"Detections mask: expected boolean shape ({len(self)},), got {index.shape}"
            )
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=None if self.tracker_id is None else self.tracker_id[index],
            data={k: v[index] for k, v in self.data.items()},
        )

    def with_tracker_id(self, tracker_id: np.ndarray) -> Detections:
        """A copy of these detections carrying the given track ids."""
        return Detections(self.xyxy, self.confidence, self.class_id, tracker_id, dict(self.data))

    def with_data(self, **arrays: np.ndarray) -> Detections:
        """A copy with extra per-detection arrays added (or replaced)."""
        data = dict(self.data)
        data.update(arrays)
        return Detections(self.xyxy, self.confidence, self.class_id, self.tracker_id, data)

    def anchors(self, anchor: str = "bottom_center") -> FloatArray:
        """``(n, 2)`` anchor points, e.g. the bottom centre (where feet and wheels touch)."""
        x1, y1, x2, y2 = self.xyxy.T
        cx = (x1 + x2) * 0.5
        if anchor == "bottom_center":
            pts = (cx, y2)
        elif anchor == "center":
            pts = (cx, (y1 + y2) * 0.5)
        elif anchor == "top_center":
            pts = (cx, y1)
        elif anchor == "bottom_left":
            pts = (x1, y2)
        elif anchor == "bottom_right":
            pts = (x2, y2)
        else:
            raise DataError(f"unknown anchor {anchor!r}; expected one of {', '.join(ANCHORS)}")
        return np.stack(pts, axis=1).astype(np.float32, copy=False)

    @property
    def area(self) -> FloatArray:
        """``(n,)`` box areas in square pixels."""
        w = self.xyxy[:, 2] - self.xyxy[:, 0]
        h = self.xyxy[:, 3] - self.xyxy[:, 1]
        return (w * h).astype(np.float32, copy=False)

    def to_records(self, names: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
        """Plain dicts (for JSON output): xyxy, confidence, class_id, class name, track id.

        Values keep their full float32 precision (no rounding): a score compared with
        Ultralytics' (which prints 5 decimals) or a box compared to 0.005 px must not
        lose digits here.
        """
        out = []
        for i in range(len(self)):
            rec: dict[str, Any] = {
                "xyxy": [float(v) for v in self.xyxy[i]],
                "confidence": float(self.confidence[i]),
                "class_id": int(self.class_id[i]),
            }
            if names is not None:
                rec["class_name"] = names.get(int(self.class_id[i]), str(int(self.class_id[i])))
            if self.tracker_id is not None:
                rec["tracker_id"] = int(self.tracker_id[i])
            out.append(rec)
        return out
