"""The one box IoU: known values, a plain-loop reference, and its invariants (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.detection import nms as nms_module
from gridsight.core.detection.geometry import as_boxes, box_area, box_iou, pair_iou
from gridsight.core.errors import DataError
from gridsight.core.tracking import bytetrack
from gridsight.plugins.rules import common


def _iou_reference(a: np.ndarray, b: np.ndarray) -> float:
    """IoU by the textbook, one pair at a time; degenerate boxes (no area) give 0."""
    aw, ah = max(0.0, a[2] - a[0]), max(0.0, a[3] - a[1])
    bw, bh = max(0.0, b[2] - b[0]), max(0.0, b[3] - b[1])
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


# Pixel boxes as (x, y, w, h): zero width/height (degenerate) or at least 0.01 px, and
# sometimes negative (inverted boxes, x2 < x1), which must count as zero-area.
_size = st.one_of(st.just(0.0), st.floats(0.01, 100), st.floats(-50, -0.01))
_box = st.tuples(st.floats(0, 500), st.floats(0, 500), _size, _size)
box_arrays = st.lists(_box, max_size=6).map(
    lambda rows: np.array([[x, y, x + w, y + h] for x, y, w, h in rows], dtype=np.float64).reshape(
        -1, 4
    )
)
positive_box = st.tuples(
    st.floats(0, 500), st.floats(0, 500), st.floats(0.01, 100), st.floats(0.01, 100)
).map(lambda r: np.array([[r[0], r[1], r[0] + r[2], r[1] + r[3]]]))


def test_known_values() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 2, 2]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    np.testing.assert_allclose(
        box_iou(a, b), [[50 / 150, 0, 1], [0, 0, 4 / 100]], rtol=1e-12, atol=1e-12
    )
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)
    assert box_iou(a, np.zeros((0, 4))).shape == (2, 0)
    assert box_iou([0, 0, 2, 2], [[1, 1, 3, 3]]).tolist() == [[pytest.approx(1 / 7)]]


@settings(max_examples=150, deadline=None)
@given(a=box_arrays, b=box_arrays)
def test_matches_a_plain_loop_and_stays_in_bounds(a: np.ndarray, b: np.ndarray) -> None:
    got = box_iou(a, b)
    assert got.shape == (len(a), len(b)) and got.dtype == np.float64
    for i in range(len(a)):
        for j in range(len(b)):
            assert got[i, j] == pytest.approx(_iou_reference(a[i], b[j]), abs=1e-9)
    assert np.all((got >= 0) & (got <= 1))


@settings(max_examples=150, deadline=None)
@given(a=box_arrays, b=box_arrays)
def test_symmetric(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(box_iou(a, b), box_iou(b, a).T, rtol=0, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(box=positive_box)
def test_a_box_of_positive_area_has_iou_one_with_itself(box: np.ndarray) -> None:
    assert box_iou(box, box)[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert pair_iou(box, box)[0] == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    point=st.tuples(st.floats(0, 500), st.floats(0, 500)),
    length=st.floats(0, 100),
    other=box_arrays,
)
def test_zero_area_boxes_overlap_nothing_not_even_themselves(
    point: tuple[float, float], length: float, other: np.ndarray
) -> None:
    x, y = point
    degenerate = np.array([[x, y, x, y], [x, y, x + length, y], [x, y + length, x, y]])
    assert np.all(box_area(degenerate) == 0)
    assert np.all(box_iou(degenerate, degenerate) == 0)
    assert np.all(box_iou(degenerate, other) == 0)
    assert np.all(pair_iou(degenerate, degenerate) == 0)


def test_inverted_boxes_count_as_zero_area() -> None:
    inverted = np.array([[10, 10, 0, 0]], float)  # signed area would be +100
    assert box_area(inverted).tolist() == [0.0]
    assert box_iou(inverted, np.array([[0, 0, 10, 10]], float)).tolist() == [[0.0]]


@settings(max_examples=100, deadline=None)
@given(a=box_arrays)
def test_pair_iou_is_the_diagonal(a: np.ndarray) -> None:
    b = a[::-1].copy()
    np.testing.assert_allclose(pair_iou(a, b), np.diag(box_iou(a, b)), rtol=0, atol=1e-15)


def test_shapes_are_checked() -> None:
    with pytest.raises(DataError, match=r"a: expected xyxy boxes of shape \(n, 4\), got \(2, 3\)"):
        box_iou(np.zeros((2, 3)), np.zeros((1, 4)))
    with pytest.raises(DataError, match=r"got \(2, 4\) and \(3, 4\)"):
        pair_iou(np.zeros((2, 4)), np.zeros((3, 4)))
    assert as_boxes([]).shape == (0, 4)


def test_nms_tracker_and_rules_use_this_one() -> None:
    assert nms_module.box_iou is box_iou and nms_module.pair_iou is pair_iou
    assert bytetrack.box_iou is box_iou
    assert common.box_iou is box_iou
