"""ByteTracker: confirmation, two-stage association, class gating, gaps, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.tracking.bytetrack import ByteTracker, TrackerSettings
from gridsight.core.tracking.kalman import BoxKalman, xywh_to_xyxy, xyxy_to_xywh


def dets(boxes, conf=0.9, cls=0) -> Detections:
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    n = len(boxes)
    return Detections(
        xyxy=boxes,
        confidence=np.broadcast_to(np.asarray(conf, np.float32), (n,)).copy(),
        class_id=np.broadcast_to(np.asarray(cls, np.int64), (n,)).copy(),
    )


def box_at(x: float, y: float, w: float = 40, h: float = 80) -> list[float]:
    return [x, y, x + w, y + h]


def ids(out: Detections) -> list[int]:
    assert out.tracker_id is not None
    return out.tracker_id.tolist()


# ---------------------------------------------------------------------- basics
def test_confirmation_after_min_hits_and_ids_from_one():
    t = ByteTracker()
    assert ids(t.update(dets([box_at(10, 10)]))) == []  # tentative: not output yet
    assert ids(t.update(dets([box_at(12, 10)]))) == [1]
    assert ids(t.update(dets([box_at(14, 10)]))) == [1]


def test_single_frame_false_positive_never_gets_an_id():
    t = ByteTracker()
    t.update(dets([box_at(10, 10), box_at(300, 300)]))
    out = t.update(dets([box_at(12, 10)]))
    assert ids(out) == [1]
    out = t.update(dets([box_at(14, 10), box_at(500, 10)]))
    assert ids(out) == [1]  # the new box is tentative, the old false positive is gone
    assert t.update(dets([box_at(16, 10), box_at(502, 10)])).tracker_id.tolist() == [1, 2]


def test_output_keeps_input_order_boxes_and_data():
    t = ByteTracker(TrackerSettings(min_hits=1))
    d = dets([box_at(300, 10), box_at(10, 10)]).with_data(name=np.array(["b", "a"]))
    out = t.update(d)
    assert ids(out) == [1, 2]
    np.testing.assert_array_equal(out.xyxy, d.xyxy)
    assert out.data["name"].tolist() == ["b", "a"]


def test_empty_frames():
    t = ByteTracker()
    out = t.update(Detections.empty())
    assert len(out) == 0 and out.tracker_id is not None and out.tracker_id.dtype == np.int64


def test_low_score_detections_keep_tracks_alive_but_start_none():
    t = ByteTracker()
    for k in range(3):
        t.update(dets([box_at(10 + 2 * k, 10)], conf=0.9))
    # The person is half hidden: the detector is unsure, the track goes on.
    for k in range(3, 8):
        out = t.update(dets([box_at(10 + 2 * k, 10)], conf=0.3))
        assert ids(out) == [1] and out.confidence[0] == pytest.approx(0.3)
    # Low-score boxes alone never start a track.
    t2 = ByteTracker(TrackerSettings(min_hits=1))
    for _ in range(5):
        assert len(t2.update(dets([box_at(10, 10)], conf=0.3))) == 0
    assert t2.track_count == 0


def test_new_track_threshold():
    t = ByteTracker(TrackerSettings(min_hits=1, high_thresh=0.5, new_track_thresh=0.6))
    assert len(t.update(dets([box_at(10, 10)], conf=0.55))) == 0
    assert ids(t.update(dets([box_at(10, 10)], conf=0.65))) == [1]


def test_class_consistent_matching():
    t = ByteTracker(TrackerSettings(min_hits=1))
    assert ids(t.update(dets([box_at(10, 10)], cls=Role.PERSON))) == [1]
    # The same place, now a car: a new track, never the person's id.
    out = t.update(dets([box_at(10, 10)], cls=Role.CAR))
    assert ids(out) == [2]
    loose = ByteTracker(TrackerSettings(min_hits=1, class_consistent=False))
    loose.update(dets([box_at(10, 10)], cls=Role.PERSON))
    assert ids(loose.update(dets([box_at(10, 10)], cls=Role.CAR))) == [1]


def test_occlusion_gap_is_reassociated_with_the_same_id():
    t = ByteTracker()
    seen = []
    for f in range(60):
        hidden = 20 <= f < 32  # behind a pillar for 12 frames
        out = t.update(dets([] if hidden else [box_at(100 + 3 * f, 50)]))
        seen.extend(ids(out))
    assert set(seen) == {1} and len(seen) == 60 - 12 - 1


def test_gap_longer_than_the_buffer_gives_a_new_id():
    t = ByteTracker(TrackerSettings(lost_buffer_frames=5))
    for _ in range(5):
        t.update(dets([box_at(100, 50)]))
    for _ in range(7):
        t.update(Detections.empty())
    assert t.track_count == 0
    t.update(dets([box_at(100, 50)]))
    assert ids(t.update(dets([box_at(100, 50)]))) == [2]


def test_lost_buffer_in_seconds():
    t = ByteTracker(TrackerSettings(lost_buffer_s=2.0, lost_buffer_frames=1000))
    for f in range(5):
        t.update(dets([box_at(100, 50)]), ts=f * 0.2)
    t.update(Detections.empty(), ts=2.5)  # 1.7 s after the last match: kept
    assert t.track_count == 1
    t.update(Detections.empty(), ts=3.0)  # 2.2 s: removed
    assert t.track_count == 0


def test_timestamps_predict_across_dropped_frames():
    # A small, fast box (25 px wide, 12 px a frame); every third frame is dropped
    # upstream. With timestamps the motion model predicts the skipped distance.
    t = ByteTracker()
    seen = []
    for f in range(40):
        if f > 5 and f % 3 == 0:
            continue
        out = t.update(dets([box_at(20 + 12 * f, 100, w=25, h=25)]), ts=f / 10)
        seen.extend(ids(out))
    assert set(seen) == {1}


def test_reset_forgets_everything():
    t = ByteTracker(TrackerSettings(min_hits=1))
    t.update(dets([box_at(1, 1)]))
    t.reset()
    assert t.track_count == 0 and ids(t.update(dets([box_at(1, 1)]))) == [1]


def test_settings_are_validated():
    with pytest.raises(ValidationError, match="extra"):
        TrackerSettings(track_buffer=30)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="low_thresh"):
        TrackerSettings(low_thresh=0.7, high_thresh=0.5)
    with pytest.raises(ValidationError):
        TrackerSettings(min_hits=0)


# ---------------------------------------------------------------------- geometry and Kalman
def test_xywh_round_trip():
    xyxy = np.array([[1.0, 2.0, 11.0, 42.0]])
    np.testing.assert_allclose(xywh_to_xyxy(xyxy_to_xywh(xyxy)), xyxy)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), steps=st.floats(0.5, 4.0), seed=st.integers(0, 2**31 - 1))
def test_vectorised_kalman_matches_textbook_matrices(n, steps, seed):
    rng = np.random.default_rng(seed)
    kf = BoxKalman()
    z0 = np.column_stack([rng.uniform(0, 500, (n, 2)), rng.uniform(5, 200, (n, 2))])
    mean, cov = kf.initiate(z0)
    mean[:, 4:] = rng.normal(0, 3, (n, 4))
    pm, pc = kf.predict(mean, cov, steps)
    z1 = z0 + rng.normal(0, 2, (n, 4))
    um, uc = kf.update(pm, pc, z1)
    f = np.eye(8)
    f[:4, 4:] = steps * np.eye(4)
    h = np.eye(4, 8)
    for i in range(n):
        w, ht = mean[i, 2], mean[i, 3]
        q = np.diag(
            np.r_[
                (kf.std_pos * np.array([w, ht, w, ht])) ** 2,
                (kf.std_vel * np.array([w, ht, w, ht])) ** 2,
            ]
        )
        m_ref = f @ mean[i]
        p_ref = f @ cov[i] @ f.T + steps * q
        np.testing.assert_allclose(pm[i], m_ref, rtol=1e-10)
        np.testing.assert_allclose(pc[i], p_ref, rtol=1e-10, atol=1e-10)
        w2, h2 = max(m_ref[2], 1.0), max(m_ref[3], 1.0)  # the filter clamps sizes to 1 px
        r = np.diag((kf.std_pos * np.array([w2, h2, w2, h2])) ** 2)
        s = h @ p_ref @ h.T + r
        k = p_ref @ h.T @ np.linalg.inv(s)
        np.testing.assert_allclose(um[i], m_ref + k @ (z1[i] - h @ m_ref), rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(uc[i], (np.eye(8) - k @ h) @ p_ref, rtol=1e-8, atol=1e-8)


# ---------------------------------------------------------------------- properties
frame_boxes = st.lists(
    st.tuples(
        st.floats(0, 600),
        st.floats(0, 400),
        st.floats(4, 120),
        st.floats(4, 160),
        st.floats(0.0, 1.0),
        st.sampled_from([int(r) for r in Role]),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(frames=st.lists(frame_boxes, min_size=1, max_size=25), min_hits=st.integers(1, 3))
def test_ids_unique_per_frame_and_outputs_are_inputs(frames, min_hits):
    t = ByteTracker(TrackerSettings(min_hits=min_hits))
    for boxes in frames:
        xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h, _, _ in boxes]).reshape(-1, 4)
        d = Detections(
            xyxy=xyxy,
            confidence=np.array([c for *_, c, _ in boxes]),
            class_id=np.array([k for *_, k in boxes]),
        )
        out = t.update(d)
        tid = out.tracker_id
        assert tid is not None and len(np.unique(tid)) == len(tid)
        assert np.all(tid >= 1) and np.all(tid < t._next_id)
        # Every output row is one of the input rows, each at most once.
        rows = [int(np.flatnonzero(np.all(d.xyxy == row, axis=1))[0]) for row in out.xyxy]
        assert np.all(d.confidence[rows] >= t.settings.low_thresh)


@settings(max_examples=80, deadline=None)
@given(
    x0=st.floats(50, 400),
    y0=st.floats(50, 300),
    w=st.floats(20, 120),
    h=st.floats(20, 160),
    vx=st.floats(-5, 5),
    vy=st.floats(-5, 5),
    conf=st.floats(0.65, 1.0),
    pattern=st.lists(st.tuples(st.integers(1, 15), st.integers(1, 30)), max_size=4),
)
def test_constant_velocity_box_keeps_one_id_through_gaps(x0, y0, w, h, vx, vy, conf, pattern):
    # Six frames to learn the velocity, then runs of visible frames and gaps, each gap
    # within the default 30-frame lost buffer.
    hidden_runs = [False] * 6
    for seen_run, gap in pattern:
        hidden_runs += [True] * gap + [False] * seen_run
    hidden = np.array(hidden_runs + [False] * 3)
    n_frames = len(hidden)
    t = ByteTracker()
    seen: list[int] = []
    visible = 0
    for f in range(n_frames):
        if hidden[f]:
            out = t.update(Detections.empty())
        else:
            visible += 1
            out = t.update(
                dets([[x0 + vx * f, y0 + vy * f, x0 + vx * f + w, y0 + vy * f + h]], conf)
            )
        seen.extend(ids(out))
    assert set(seen) == {1}
    # Output every visible frame except the first (confirmation needs two hits).
    assert len(seen) == visible - 1


@settings(max_examples=60, deadline=None)
@given(
    speed_a=st.floats(2, 12),
    speed_b=st.floats(2, 12),
    size=st.floats(30, 90),
    dy=st.floats(-10, 10),
    noise=st.floats(0, 3),
    seed=st.integers(0, 1000),
)
def test_crossing_objects_of_different_classes_never_swap(speed_a, speed_b, size, dy, noise, seed):
    rng = np.random.default_rng(seed)
    t = ByteTracker()
    by_class: dict[int, set[int]] = {Role.PERSON: set(), Role.CAR: set()}
    for f in range(80):
        xa = 20 + speed_a * f  # person walking right
        xb = 20 + speed_b * 79 - speed_b * f  # car driving left, same road
        boxes = np.array(
            [[xa, 100, xa + size, 100 + size], [xb, 100 + dy, xb + size, 100 + dy + size]]
        )
        boxes += rng.normal(0, noise, boxes.shape)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        d = Detections(
            xyxy=boxes, confidence=np.array([0.9, 0.9]), class_id=np.array([Role.PERSON, Role.CAR])
        )
        out = t.update(d)
        for k, tid in zip(out.class_id.tolist(), ids(out), strict=True):
            by_class[k].add(tid)
    assume(by_class[Role.PERSON] and by_class[Role.CAR])
    assert len(by_class[Role.PERSON]) == 1 and len(by_class[Role.CAR]) == 1
    assert by_class[Role.PERSON] != by_class[Role.CAR]
