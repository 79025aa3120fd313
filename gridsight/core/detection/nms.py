"""Greedy non-maximum suppression in numpy, with no Python loop over boxes.

Greedy NMS (the torchvision / Ultralytics definition): visit boxes by falling score;
keep a box unless a box kept before it overlaps it with IoU above the threshold.

The dependency of each decision on earlier *kept* boxes is what usually forces a loop
per box. Here, with the suppression edges ``i -> j`` ("i outscores j, same class, IoU
above the threshold"), the greedy result is the fixed point of
``keep[j] = not any(keep[i] for edges i -> j)``. Edges only point from higher to lower
scores, so iterating that vectorised step from ``keep = all True`` is exact after at
most (longest chain of suppressions + 1) steps, usually two or three, whatever the
number of boxes.

Only pairs that can suppress each other are ever compared: boxes are grouped by class
and the within-class pairs are enumerated with array arithmetic (a few thousand pairs
for a typical frame, instead of an n x n matrix). When there are too many pairs (one
class with thousands of candidates) the boxes are processed in score-ordered blocks
instead, each block checked against everything kept so far in one matrix operation.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gridsight.core.detection.geometry import box_iou, pair_iou

#: Boxes per block: bounds memory to ``BLOCK**2`` booleans plus ``BLOCK x kept`` IoUs.
BLOCK = 1024
#: Above this many same-class pairs the block method is used (bounds memory).
MAX_PAIRS = 2_000_000

__all__ = ["BLOCK", "MAX_PAIRS", "box_iou", "nms", "pair_iou"]


def _same_class_pairs(
    classes_sorted: np.ndarray,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """All ``(i, j)``, i < j, with equal class, for an array sorted by class (then score).

    Returns None when there are more than :data:`MAX_PAIRS` of them.
    """
    n = classes_sorted.shape[0]
    idx = np.arange(n)
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(classes_sorted[1:], classes_sorted[:-1], out=new_group[1:])
    group_id = np.cumsum(new_group) - 1
    group_start = np.flatnonzero(new_group)
    group_end = np.append(group_start[1:], n)
    partners = group_end[group_id] - idx - 1  # later members of my group
    total = int(partners.sum())
    if total > MAX_PAIRS:
        return None
    first = np.repeat(idx, partners)
    offset = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
    return first, first + 1 + offset


def _fixed_point_edges(n: int, src: np.ndarray, dst: np.ndarray) -> npt.NDArray[np.bool_]:
    """Greedy keep mask from suppression edges ``src -> dst`` (src earlier in score order)."""
    keep = np.ones(n, dtype=bool)
    while True:
        new = np.ones(n, dtype=bool)
        new[dst[keep[src]]] = False
        if np.array_equal(new, keep):
            return keep
        keep = new


def _fixed_point(
    suppress: npt.NDArray[np.bool_], alive: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Greedy keep mask of one block. ``suppress[i, j]`` only for i < j (score order)."""
    keep = alive.copy()
    while True:
        hit = (suppress & keep[:, None]).any(axis=0)
        new = alive & ~hit
        if np.array_equal(new, keep):
            return keep
        keep = new


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    class_ids: np.ndarray | None = None,
    max_det: int | None = None,
) -> npt.NDArray[np.int64]:
    """Indices of the boxes greedy NMS keeps, by falling score.

    Args:
        boxes: ``(n, 4)`` xyxy boxes.
        scores: ``(n,)`` scores.
        iou_threshold: a box is suppressed by a kept box overlapping it with IoU above this.
        class_ids: when given, only boxes of the same class suppress each other.
        max_det: keep at most this many (the highest scoring).

    Returns:
        ``(k,)`` int64 indices into ``boxes``, highest score first.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores).reshape(-1)
    n = boxes.shape[0]
    if n == 0 or (max_det is not None and max_det <= 0):
        return np.zeros(0, np.int64)
    # Stable sort: equal scores keep their input order, deterministically.
    order = np.argsort(-scores, kind="stable")
    classes = np.zeros(n, np.int64) if class_ids is None else np.asarray(class_ids).reshape(-1)
    # Group by class, keeping score order inside each group (a stable sort).
    grouped = order[np.argsort(classes[order], kind="stable")]
    pairs = _same_class_pairs(classes[grouped])
    if pairs is not None:
        gb = boxes[grouped]
        first, second = pairs
        over = pair_iou(gb[first], gb[second]) > iou_threshold
        keep = _fixed_point_edges(n, first[over], second[over])
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n)
        kept = grouped[keep]
        kept = kept[np.argsort(rank[kept], kind="stable")]
        return (kept if max_det is None else kept[:max_det]).astype(np.int64)
    return _nms_blocks(boxes, scores, order, class_ids, iou_threshold, max_det)


def _nms_blocks(
    boxes: np.ndarray,
    scores: np.ndarray,
    order: np.ndarray,
    class_ids: np.ndarray | None,
    iou_threshold: float,
    max_det: int | None,
) -> npt.NDArray[np.int64]:
    """The block method (see the module docstring) for inputs with very many pairs."""
    n = boxes.shape[0]
    sb = boxes[order]
    sc = None if class_ids is None else np.asarray(class_ids).reshape(-1)[order]
    kept_parts: list[npt.NDArray[np.int64]] = []
    kept_boxes = np.zeros((0, 4))
    kept_classes = np.zeros(0, dtype=sc.dtype if sc is not None else np.int64)
    total = 0
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        blk = sb[start:stop]
        alive = np.ones(stop - start, dtype=bool)
        if kept_boxes.shape[0]:
            over = box_iou(kept_boxes, blk) > iou_threshold
            if sc is not None:
                over &= kept_classes[:, None] == sc[None, start:stop]
            alive &= ~over.any(axis=0)
        suppress = np.triu(box_iou(blk, blk) > iou_threshold, k=1)
        if sc is not None:
            blk_cls = sc[start:stop]
            suppress &= blk_cls[:, None] == blk_cls[None, :]
        keep = _fixed_point(suppress, alive)
        idx = np.flatnonzero(keep) + start
        if idx.size:
            kept_parts.append(idx)
            kept_boxes = np.concatenate([kept_boxes, sb[idx]])
            if sc is not None:
                kept_classes = np.concatenate([kept_classes, sc[idx]])
            total += idx.size
        if max_det is not None and total >= max_det:
            break
    if not kept_parts:
        return np.zeros(0, np.int64)
    kept = np.concatenate(kept_parts)
    if max_det is not None:
        kept = kept[:max_det]
    return order[kept].astype(np.int64)
