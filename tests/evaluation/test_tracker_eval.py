"""The tracker evaluation harness: generator, detector noise, motmetrics scoring."""

from __future__ import annotations

import numpy as np
import pytest

from gridsight.core.detection.detections import Detections
from gridsight.core.errors import DataError
from gridsight.core.tracking.bytetrack import ByteTracker, TrackerSettings
from gridsight.evaluation.tracker_eval import (
    NoiseModel,
    detections_from_truth,
    evaluate,
    moving_boxes,
    score,
)

pytest.importorskip("motmetrics")


def test_generator_is_seeded_and_busy():
    a, b = moving_boxes(3, 120), moving_boxes(3, 120)
    assert all(
        np.array_equal(x.boxes, y.boxes) and np.array_equal(x.ids, y.ids)
        for x, y in zip(a, b, strict=True)
    )
    assert not np.array_equal(moving_boxes(4, 120)[60].boxes, a[60].boxes)
    per_frame = [len(f.ids) for f in a[60:]]
    assert np.mean(per_frame) >= 8  # a crowded view, not one box at a time
    assert all(len(np.unique(f.ids)) == len(f.ids) for f in a)


def test_perfect_tracking_scores_one():
    truth = moving_boxes(0, 60)
    perfect = [
        Detections(
            xyxy=f.boxes, confidence=np.ones(len(f.ids)), class_id=f.classes, tracker_id=f.ids + 100
        )
        for f in truth
    ]
    s = score(truth, perfect)
    assert (s.mota, s.idf1, s.id_switches, s.false_positives, s.misses) == (1.0, 1.0, 0, 0, 0)


def test_swapped_ids_are_counted():
    truth = moving_boxes(0, 40)
    out = []
    for k, f in enumerate(truth):
        tid = f.ids.copy()
        if k >= 20 and len(tid) >= 2:
            tid[[0, 1]] = tid[[1, 0]]  # two identities exchanged from frame 20 on
        out.append(
            Detections(
                xyxy=f.boxes, confidence=np.ones(len(tid)), class_id=f.classes, tracker_id=tid
            )
        )
    s = score(truth, out)
    assert s.id_switches >= 2 and s.idf1 < 1.0 and s.misses == 0


def test_noise_model_rates():
    truth = moving_boxes(1, 200)
    n_true = sum(len(f.ids) for f in truth)
    dets = detections_from_truth(truth, NoiseModel(miss_rate=0.2, fp_per_frame=1.0), seed=5)
    n_det = sum(len(d) for d in dets)
    # ~80 % of the truth found plus ~1 false positive per frame.
    assert n_det == pytest.approx(0.8 * n_true + 200, rel=0.1)


def test_tracker_on_clean_detections_is_near_perfect():
    seqs = [moving_boxes(s, 100) for s in range(2)]
    clean = NoiseModel(jitter=0.0, miss_rate=0.0, fp_per_frame=0.0, low_score_rate=0.0)
    s = evaluate(seqs, clean, lambda: ByteTracker(TrackerSettings()).update)
    # Only the first frame of each object (confirmation) is missed.
    assert s.mota > 0.9 and s.idf1 > 0.9 and s.id_switches <= 3 and s.false_positives == 0


def test_tracker_beats_a_fresh_id_per_frame_baseline():
    seqs = [moving_boxes(7, 150)]
    noise = NoiseModel()

    def no_tracking():
        counter = iter(range(1, 10**9))

        def update(d: Detections, ts: float) -> Detections:
            keep = d[d.confidence >= 0.5]
            return keep.with_tracker_id(np.array([next(counter) for _ in range(len(keep))]))

        return update

    ours = evaluate(seqs, noise)
    base = evaluate(seqs, noise, no_tracking)
    assert ours.idf1 > base.idf1 + 0.5
    assert ours.id_switches < base.id_switches / 10


def test_length_mismatch_is_an_error():
    truth = moving_boxes(0, 3)
    with pytest.raises(DataError, match="3 frames"):
        score(truth, [Detections.empty(with_tracker=True)])


def test_world_truth_is_tracked_with_stable_ids():
    pytest.importorskip("gridsight.simulator")
    from gridsight.evaluation.tracker_eval import world_truth

    seqs = [
        world_truth(f"synthetic://{scene}?seed=21&fps=5&w=640&h=360", 300)
        for scene in ("reservoir", "street")
    ]
    assert sum(len(f.ids) for s in seqs for f in s) > 100  # the scenes have people in them
    s = evaluate(seqs, NoiseModel(jitter=0.03, miss_rate=0.05, fp_per_frame=0.2))
    assert s.idf1 > 0.8 and s.mota > 0.7
