"""Properties of the detector's target assignment, loss and evaluation helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from gridsight.core.detection.detections import Detections  # noqa: E402
from gridsight.simulator.train.data import LabelledImage  # noqa: E402
from gridsight.simulator.train.evaluate import (  # noqa: E402
    coco_evaluate,
    lighting_of_images,
    occluded_boxes,
)
from gridsight.simulator.train.loss import (  # noqa: E402
    LossWeights,
    assign,
    box_iou_pairwise,
    complete_iou,
    detection_loss,
)
from gridsight.simulator.train.model import STRIDES, make_anchors  # noqa: E402

H, W = 96, 160
ANCHORS = make_anchors([(H // s, W // s) for s in STRIDES], torch.device("cpu"), torch.float32)

box_strategy = st.tuples(
    st.floats(0, W - 4), st.floats(0, H - 4), st.floats(2, 80), st.floats(2, 60)
).map(lambda b: [b[0], b[1], min(W, b[0] + b[2]), min(H, b[1] + b[3])])


@settings(max_examples=40, deadline=None)
@given(
    boxes=st.lists(box_strategy, min_size=1, max_size=6),
    classes=st.lists(st.integers(0, 5), min_size=6, max_size=6),
    seed=st.integers(0, 2**16),
)
# Two near-coincident 2x2 boxes in one corner share all their candidate cells.
@example(boxes=[[0.0, 0.0, 2.0, 2.0], [0.0, 1.0, 2.0, 3.0]], classes=[0] * 6, seed=0)
def test_every_box_gets_a_cell_and_targets_are_real_boxes(boxes, classes, seed) -> None:
    m = len(boxes)
    gt_boxes = torch.tensor([boxes], dtype=torch.float32)
    gt_classes = torch.tensor([classes[:m]])
    valid = torch.ones(1, m, dtype=torch.bool)
    g = torch.Generator().manual_seed(seed)
    n = ANCHORS.shape[0]
    scores = torch.rand(1, n, 6, generator=g)
    centres = ANCHORS[:, :2]
    half = torch.rand(1, n, 2, generator=g) * 40 + 1
    pred = torch.cat([centres - half, centres + half], -1)
    out = assign(scores, pred, ANCHORS, gt_classes, gt_boxes, valid, LossWeights())
    pos = out.positive[0]
    # Each box owns at least one cell (candidates include the cells nearest its centre),
    # unless a box overlapping it won every cell they shared: a cell keeps one box only,
    # so two near-coincident tiny boxes cannot both be assigned.
    owners = out.boxes[0][pos]
    owned = torch.stack([(owners == box).all(-1).any() for box in gt_boxes[0]])
    overlap = box_iou_pairwise(gt_boxes[0].view(m, 1, 4), gt_boxes[0].view(1, m, 4)) > 0
    for i in range(m):
        if not owned[i]:
            rivals = overlap[i] & owned
            rivals[i] = False
            assert rivals.any(), f"box {i} got no cell and no overlapping box took its cells"
    # Class targets: one class per positive cell, in [0, 1], zero elsewhere.
    assert (out.scores[0][~pos] == 0).all()
    assert ((out.scores[0][pos] > 0).sum(-1) <= 1).all()
    assert out.scores.max() <= 1.0 + 1e-6


def test_padding_boxes_are_never_assigned() -> None:
    gt_boxes = torch.tensor([[[10.0, 10.0, 50.0, 50.0], [60.0, 20.0, 100.0, 70.0]]])
    valid = torch.tensor([[True, False]])
    n = ANCHORS.shape[0]
    out = assign(
        torch.full((1, n, 6), 0.5),
        torch.zeros(1, n, 4),
        ANCHORS,
        torch.tensor([[0, 1]]),
        gt_boxes,
        valid,
        LossWeights(),
    )
    assert (out.boxes[0][out.positive[0]] == gt_boxes[0, 0]).all()


def test_ciou_is_one_for_identical_boxes_and_below_iou_otherwise() -> None:
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 20.0]])
    ciou = complete_iou(a, b)
    iou = box_iou_pairwise(a, b)
    assert ciou[0].item() == pytest.approx(1.0, abs=1e-5)
    assert ciou[1] < iou[1]


def test_loss_is_finite_without_boxes_and_gradients_flow() -> None:
    n = ANCHORS.shape[0]
    dists = torch.rand(2, n, 4, requires_grad=True)
    logits = torch.zeros(2, n, 6, requires_grad=True)
    loss, parts = detection_loss(
        dists,
        logits,
        ANCHORS,
        torch.zeros(2, 0, dtype=torch.int64),
        torch.zeros(2, 0, 4),
        torch.zeros(2, 0, dtype=torch.bool),
    )
    loss.backward()
    assert torch.isfinite(loss) and parts["box"] == 0.0
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def _item(name: str, classes: list[int], boxes: list[list[float]]) -> LabelledImage:
    return LabelledImage(
        Path(name), np.array(classes, np.int64), np.array(boxes, np.float32), (100, 200)
    )


def test_coco_evaluate_perfect_and_empty_predictions() -> None:
    items = [
        _item("a.jpg", [0, 4], [[10, 10, 30, 60], [50, 40, 150, 90]]),
        _item("b.jpg", [5], [[20, 20, 60, 70]]),
    ]
    names = ("person", "bicycle", "ebike", "motorbike", "car", "stall")
    perfect = [
        Detections(xyxy=it.xyxy, confidence=np.full(len(it.classes), 0.9), class_id=it.classes)
        for it in items
    ]
    report = coco_evaluate(items, perfect, names)
    assert report.map50 == pytest.approx(1.0) and report.map50_95 == pytest.approx(1.0)
    by_name = {c.name: c for c in report.per_class}
    assert np.isnan(by_name["bicycle"].ap50) and by_name["car"].instances == 1
    empty = [Detections.empty() for _ in items]
    assert coco_evaluate(items, empty, names).map50 == 0.0
    wrong_class = [
        Detections(xyxy=d.xyxy, confidence=d.confidence, class_id=(d.class_id + 1) % 6)
        for d in perfect
    ]
    assert coco_evaluate(items, wrong_class, names).map50 == 0.0


def test_occluded_boxes_by_area_covered() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 110, 110], [0, 0, 100, 100]])
    # Box 0 is half covered by box 1 and fully by box 3; box 3 is covered by 1% + 0.5%.
    assert occluded_boxes(boxes).tolist() == [True, True, False, False]
    assert occluded_boxes(boxes[:1]).tolist() == [False]


def test_lighting_comes_from_the_manifest_by_world_seed(tmp_path: Path) -> None:
    worlds = {
        "test": [
            {"uri": "synthetic://street?seed=12&fps=5&w=640&h=360", "lighting": "night"},
            {"uri": "synthetic://reservoir?seed=7&fps=5&w=640&h=360", "lighting": "day"},
        ]
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"worlds": worlds}))
    items = [
        _item("street_s12_f000010.jpg", [], []),
        _item("reservoir_s7_f000001.jpg", [], []),
        _item("other.jpg", [], []),
    ]
    assert lighting_of_images(items, tmp_path) == ["night", "day", None]
