"""Greedy NMS against a plain, independent reference written with loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.detection import nms as nms_mod
from gridsight.core.detection.nms import box_iou, nms


def reference_nms(boxes, scores, thr, classes=None, max_det=None):  # type: ignore[no-untyped-def]
    """Textbook greedy NMS, one box at a time (the definition torchvision implements)."""

    def iou(a, b):  # type: ignore[no-untyped-def]
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 0.0

    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # sorted() is stable
    kept: list[int] = []
    for i in order:
        ok = True
        for k in kept:
            if (classes is None or classes[i] == classes[k]) and iou(boxes[i], boxes[k]) > thr:
                ok = False
                break
        if ok:
            kept.append(i)
    return kept[:max_det] if max_det is not None else kept


@st.composite
def clustered_boxes(draw):  # type: ignore[no-untyped-def]
    """Boxes jittered around a few centres, so that suppression chains are common."""
    n_clusters = draw(st.integers(1, 5))
    per = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 200, (n_clusters, 2))
    sizes = rng.uniform(5, 60, (n_clusters, 2))
    c = np.repeat(centres, per, axis=0) + rng.normal(0, 6, (n_clusters * per, 2))
    s = np.repeat(sizes, per, axis=0) * rng.uniform(0.7, 1.3, (n_clusters * per, 2))
    boxes = np.concatenate([c - s / 2, c + s / 2], axis=1)
    scores = rng.permutation(n_clusters * per) / (n_clusters * per) + 0.01  # distinct
    classes = rng.integers(0, draw(st.integers(1, 3)), n_clusters * per)
    return boxes, scores, classes


@settings(max_examples=150, deadline=None)
@given(data=clustered_boxes(), thr=st.sampled_from([0.1, 0.3, 0.45, 0.5, 0.7, 0.9]))
def test_matches_reference(data, thr: float) -> None:  # type: ignore[no-untyped-def]
    boxes, scores, classes = data
    assert nms(boxes, scores, thr).tolist() == reference_nms(boxes, scores, thr)
    assert nms(boxes, scores, thr, classes).tolist() == reference_nms(boxes, scores, thr, classes)
    assert nms(boxes, scores, thr, classes, max_det=3).tolist() == reference_nms(
        boxes, scores, thr, classes, 3
    )


@settings(max_examples=60, deadline=None)
@given(data=clustered_boxes(), thr=st.sampled_from([0.3, 0.5]))
def test_matches_reference_across_blocks(data, thr: float) -> None:  # type: ignore[no-untyped-def]
    """The block method (used when there are very many pairs), with small blocks so
    that the 'suppressed by an earlier block' path runs."""
    boxes, scores, classes = data
    old = nms_mod.BLOCK, nms_mod.MAX_PAIRS
    try:
        nms_mod.BLOCK, nms_mod.MAX_PAIRS = 4, 0
        got = nms(boxes, scores, thr, classes).tolist()
        got_agnostic = nms(boxes, scores, thr, max_det=5).tolist()
    finally:
        nms_mod.BLOCK, nms_mod.MAX_PAIRS = old
    assert got == reference_nms(boxes, scores, thr, classes)
    assert got_agnostic == reference_nms(boxes, scores, thr, None, 5)


def test_suppression_chain_is_greedy_not_fast_nms() -> None:
    # a suppresses b, b would suppress c; since b is gone, c survives (Fast-NMS drops c).
    boxes = np.array([[0, 0, 10, 10], [4, 0, 14, 10], [8, 0, 18, 10]], float)
    scores = np.array([0.9, 0.8, 0.7])
    assert nms(boxes, scores, 0.3).tolist() == [0, 2]


def test_classes_do_not_suppress_each_other() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 0, 10, 10]], float)
    scores = np.array([0.9, 0.8, 0.7])
    assert nms(boxes, scores, 0.5, np.array([0, 1, 0])).tolist() == [0, 1]
    assert nms(boxes, scores, 0.5).tolist() == [0]


def test_edge_cases() -> None:
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
    assert nms(np.array([[0, 0, 1, 1]]), np.array([0.5]), 0.5, max_det=0).tolist() == []
    # Degenerate (zero-area) boxes have IoU 0 with everything and are kept.
    boxes = np.array([[5, 5, 5, 5], [5, 5, 5, 5]], float)
    assert nms(boxes, np.array([0.9, 0.8]), 0.5).tolist() == [0, 1]
    iou = box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3], [5, 5, 6, 6]]))
    assert iou.tolist() == [[pytest.approx(1 / 7), 0.0]]
