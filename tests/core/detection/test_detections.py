"""Tests of ``Detections``: validation, indexing and merge invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.detection.detections import ANCHORS, Detections
from gridsight.core.errors import DataError


@st.composite
def detections(
    draw: st.DrawFn, tracked: bool | None = None, keys: tuple[str, ...] | None = None
) -> Detections:
    n = draw(st.integers(0, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 600, (n, 2))
    wh = rng.uniform(0, 100, (n, 2))
    has_tid = draw(st.booleans()) if tracked is None else tracked
    data_keys = keys if keys is not None else draw(st.sampled_from([(), ("score2",)]))
    return Detections(
        xyxy=np.concatenate([xy, xy + wh], axis=1),
        confidence=rng.uniform(0, 1, n),
        class_id=rng.integers(0, 6, n),
        tracker_id=rng.integers(1, 1000, n) if has_tid else None,
        data={k: rng.normal(size=n) for k in data_keys},
    )


def _assert_same(a: Detections, b: Detections) -> None:
    np.testing.assert_array_equal(a.xyxy, b.xyxy)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    np.testing.assert_array_equal(a.class_id, b.class_id)
    assert (a.tracker_id is None) == (b.tracker_id is None)
    if a.tracker_id is not None and b.tracker_id is not None:
        np.testing.assert_array_equal(a.tracker_id, b.tracker_id)
    assert set(a.data) == set(b.data)
    for k in a.data:
        np.testing.assert_array_equal(a.data[k], b.data[k])


def _copy(d: Detections) -> Detections:
    return Detections(
        d.xyxy.copy(),
        d.confidence.copy(),
        d.class_id.copy(),
        None if d.tracker_id is None else d.tracker_id.copy(),
        {k: v.copy() for k, v in d.data.items()},
    )


@settings(max_examples=100, deadline=None)
@given(det=detections(), seed=st.integers(0, 2**32 - 1))
def test_mask_indexing_selects_rows_and_leaves_input_alone(det: Detections, seed: int) -> None:
    before = _copy(det)
    mask = np.random.default_rng(seed).random(len(det)) < 0.5
    sub = det[mask]
    assert len(sub) == int(mask.sum())
    np.testing.assert_array_equal(sub.xyxy, det.xyxy[mask])
    np.testing.assert_array_equal(sub.class_id, det.class_id[mask])
    if det.tracker_id is not None:
        assert sub.tracker_id is not None
        np.testing.assert_array_equal(sub.tracker_id, det.tracker_id[mask])
    for k, v in det.data.items():
        np.testing.assert_array_equal(sub.data[k], v[mask])
    assert sub is not det
    _assert_same(det, before)


@settings(max_examples=100, deadline=None)
@given(det=detections(), seed=st.integers(0, 2**32 - 1))
def test_index_array_and_int_indexing(det: Detections, seed: int) -> None:
    if len(det) == 0:
        return
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(det))
    perm = det[order]
    np.testing.assert_array_equal(perm.confidence, det.confidence[order])
    # Indexing by the inverse permutation restores the original.
    _assert_same(perm[np.argsort(order)], det)
    i = int(rng.integers(0, len(det)))
    one = det[i]
    assert len(one) == 1
    np.testing.assert_array_equal(one.xyxy[0], det.xyxy[i])
    one_np = det[np.int64(i)]
    _assert_same(one, one_np)


@settings(max_examples=100, deadline=None)
@given(det=detections(), seed=st.integers(0, 2**32 - 1))
def test_split_then_merge_is_identity(det: Detections, seed: int) -> None:
    k = int(np.random.default_rng(seed).integers(0, len(det) + 1))
    _assert_same(Detections.merge([det[:k], det[k:]]), det)


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(detections(tracked=True, keys=("v",)), min_size=1, max_size=5))
def test_merge_length_and_order(parts: list[Detections]) -> None:
    merged = Detections.merge(parts)
    assert len(merged) == sum(len(p) for p in parts)
    offsets = np.cumsum([0] + [len(p) for p in parts])
    for part, lo in zip(parts, offsets[:-1], strict=True):
        _assert_same(merged[np.arange(lo, lo + len(part))], part)


@settings(max_examples=50, deadline=None)
@given(det=detections())
def test_anchors_lie_on_the_box(det: Detections) -> None:
    for anchor in ANCHORS:
        pts = det.anchors(anchor)
        assert pts.shape == (len(det), 2)
        assert np.all(pts[:, 0] >= det.xyxy[:, 0]) and np.all(pts[:, 0] <= det.xyxy[:, 2])
        assert np.all(pts[:, 1] >= det.xyxy[:, 1]) and np.all(pts[:, 1] <= det.xyxy[:, 3])
    assert np.all(det.area >= 0)


def test_anchor_values() -> None:
    d = Detections(xyxy=np.array([[0, 0, 10, 20]]), confidence=[0.5], class_id=[1])
    assert d.anchors("bottom_center").tolist() == [[5, 20]]
    assert d.anchors("center").tolist() == [[5, 10]]
    assert d.anchors("top_center").tolist() == [[5, 0]]
    assert d.anchors("bottom_left").tolist() == [[0, 20]]
    assert d.anchors("bottom_right").tolist() == [[10, 20]]
    with pytest.raises(DataError, match="unknown anchor 'feet'"):
        d.anchors("feet")
    assert d.area.tolist() == [200.0]


def test_merge_rejects_mixed_parts() -> None:
    a = Detections(xyxy=np.zeros((1, 4)), confidence=[0.5], class_id=[0], tracker_id=[1])
    b = Detections(xyxy=np.zeros((1, 4)), confidence=[0.5], class_id=[0])
    with pytest.raises(DataError, match="tracker_id"):
        Detections.merge([a, b])
    c = a.with_data(extra=np.array([1.0]))
    with pytest.raises(DataError, match="data keys"):
        Detections.merge([a, c])
    assert len(Detections.merge([])) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xyxy": np.zeros((2, 3))}, r"xyxy: expected shape \(n, 4\), got \(2, 3\)"),
        ({"confidence": np.zeros(3)}, r"confidence: expected shape \(2,\), got \(3,\)"),
        ({"class_id": np.zeros((2, 1))}, r"class_id: expected shape \(2,\)"),
        ({"tracker_id": np.zeros(1)}, r"tracker_id: expected shape \(2,\), got \(1,\)"),
        ({"data": {"x": np.zeros(5)}}, r"data\['x'\]: expected length 2"),
        ({"xyxy": np.array([[0, 0, 1, np.nan], [0, 0, 1, 1]])}, "finite"),
    ],
)
def test_construction_errors_say_expected_and_got(kwargs: dict, message: str) -> None:
    base = {"xyxy": np.zeros((2, 4)), "confidence": np.zeros(2), "class_id": np.zeros(2)}
    base.update(kwargs)
    with pytest.raises(DataError, match=message):
        Detections(**base)


def test_bad_mask_shape() -> None:
    d = Detections(xyxy=np.zeros((3, 4)), confidence=np.zeros(3), class_id=np.zeros(3))
    with pytest.raises(DataError, match=r"boolean shape \(3,\), got \(2,\)"):
        d[np.array([True, False])]


def test_copies_do_not_touch_the_original() -> None:
    d = Detections(xyxy=np.zeros((2, 4)), confidence=np.ones(2), class_id=np.zeros(2))
    t = d.with_tracker_id(np.array([7, 8]))
    w = d.with_data(v=np.array([1.0, 2.0]))
    assert d.tracker_id is None and d.data == {}
    assert t.tracker_id is not None and t.tracker_id.tolist() == [7, 8]
    assert w.data["v"].tolist() == [1.0, 2.0]


def test_empty_and_records() -> None:
    e = Detections.empty(with_tracker=True)
    assert len(e) == 0 and e.tracker_id is not None
    assert Detections(xyxy=np.zeros(0), confidence=[], class_id=[]).xyxy.shape == (0, 4)
    d = Detections(
        xyxy=np.array([[1, 2, 3, 4]]), confidence=[0.91234], class_id=[4], tracker_id=[9]
    )
    assert d.to_records({4: "car"}) == [
        {
            "xyxy": [1, 2, 3, 4],
            "confidence": float(np.float32(0.91234)),  # full precision, not rounded
            "class_id": 4,
            "class_name": "car",
            "tracker_id": 9,
        }
    ]
