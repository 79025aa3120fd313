"""Target assignment and the training loss of the bundled detector.

Assignment is a simplified task-aligned assigner (after TOOD / YOLOv8's TAL): for each
ground-truth box the candidate cells are those whose centre lies inside the box or
within one stride of its centre (so even boxes smaller than a cell get candidates);
among them the ``topk`` cells with the best alignment ``score**alpha * iou**beta`` become
positives. A cell claimed by several boxes keeps the one it overlaps most. The class
target of a positive is its alignment normalised per box so that the best cell of a box
targets that box's best IoU: classification learns to rank well-localised cells first,
which is what NMS and mAP reward.

Losses: binary cross-entropy for classes; complete-IoU and L1 (on side distances in
stride units) for boxes, weighted by the class targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True, slots=True)
class LossWeights:
    """Gains of the three loss terms and the assigner's parameters."""

    box: float = 7.5
    cls: float = 1.0
    l1: float = 1.0
    topk: int = 10
    alpha: float = 0.5
    beta: float = 6.0


def box_iou_pairwise(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """IoU of broadcastable xyxy boxes ``a (..., 4)`` and ``b (..., 4)`` -> ``(...)``."""
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a + area_b - inter + eps)


def complete_iou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Complete IoU (IoU minus centre-distance and aspect-ratio penalties) of xyxy boxes."""
    iou = box_iou_pairwise(a, b, eps)
    enclose = torch.maximum(a[..., 2:], b[..., 2:]) - torch.minimum(a[..., :2], b[..., :2])
    diag2 = enclose.pow(2).sum(-1) + eps
    centre2 = ((a[..., :2] + a[..., 2:]) - (b[..., :2] + b[..., 2:])).pow(2).sum(-1) / 4.0
    wa, ha = a[..., 2] - a[..., 0], (a[..., 3] - a[..., 1]).clamp(min=eps)
    wb, hb = b[..., 2] - b[..., 0], (b[..., 3] - b[..., 1]).clamp(min=eps)
    v = (4.0 / math.pi**2) * (torch.atan(wb / hb) - torch.atan(wa / ha)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1.0 + eps))
    return iou - centre2 / diag2 - alpha * v


@dataclass(frozen=True, slots=True)
class Assignment:
    """Per-cell training targets for a batch.

    Attributes:
        positive: ``(B, N) bool`` cells assigned to a box.
        boxes: ``(B, N, 4)`` target xyxy boxes in pixels (meaningful where positive).
        scores: ``(B, N, nc)`` soft class targets (zero for negatives).
    """

    positive: torch.Tensor
    boxes: torch.Tensor
    scores: torch.Tensor


@torch.no_grad()
def assign(
    pred_scores: torch.Tensor,
    pred_boxes: torch.Tensor,
    anchors: torch.Tensor,
    gt_classes: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_valid: torch.Tensor,
    weights: LossWeights,
) -> Assignment:
    """Task-aligned assignment of ground-truth boxes to grid cells.

    Args:
        pred_scores: ``(B, N, nc)`` predicted class probabilities.
        pred_boxes: ``(B, N, 4)`` predicted xyxy boxes in pixels.
        anchors: ``(N, 3)`` cell centre x, y and stride.
        gt_classes: ``(B, M)`` int64 class ids (padding arbitrary).
        gt_boxes: ``(B, M, 4)`` xyxy pixels.
        gt_valid: ``(B, M)`` bool, False for padding.
        weights: assigner parameters.

    Returns:
        The per-cell targets.
    """
    bsz, n_cells, nc = pred_scores.shape
    m = gt_boxes.shape[1]
    device = pred_scores.device
    if m == 0:
        return Assignment(
            torch.zeros(bsz, n_cells, dtype=torch.bool, device=device),
            torch.zeros(bsz, n_cells, 4, device=device),
            torch.zeros_like(pred_scores),
        )
    centres = anchors[:, :2]  # (N, 2)
    strides = anchors[:, 2]  # (N,)
    c = centres.view(1, 1, n_cells, 2)
    g = gt_boxes.view(bsz, m, 1, 4)
    inside = torch.minimum(c - g[..., :2], g[..., 2:] - c).amin(-1) > 1e-6
    gt_centre = (g[..., :2] + g[..., 2:]) * 0.5
    near_centre = ((c - gt_centre).abs().amax(-1)) < strides.view(1, 1, n_cells)
    candidate = (inside | near_centre) & gt_valid.view(bsz, m, 1)  # (B, M, N)

    iou = box_iou_pairwise(gt_boxes.view(bsz, m, 1, 4), pred_boxes.view(bsz, 1, n_cells, 4))
    iou = iou * candidate
    cls_index = gt_classes.clamp(0, nc - 1).view(bsz, m, 1).expand(bsz, m, n_cells)
    score = pred_scores.transpose(1, 2).gather(1, cls_index)  # (B, M, N)
    align = score.pow(weights.alpha) * iou.pow(weights.beta) * candidate

    k = min(weights.topk, n_cells)
    # Ties at zero alignment (untrained network) are broken towards cells near the box
    # centre, so the first epochs learn from sensible cells rather than arbitrary ones.
    centre_dist = (c - gt_centre).abs().amax(-1) / strides.view(1, 1, n_cells)
    rank = align + 1e-9 * candidate / (1.0 + centre_dist)
    top = rank.topk(k, dim=-1).indices  # (B, M, k)
    chosen = torch.zeros_like(candidate)
    chosen.scatter_(-1, top, True)
    chosen &= candidate

    # A cell claimed by several boxes keeps the one it overlaps most.
    multi = chosen.sum(1) > 1  # (B, N)
    if bool(multi.any()):
        best = (iou * chosen).argmax(1)  # (B, N)
        only_best = F.one_hot(best, m).transpose(1, 2).bool()  # (B, M, N)
        chosen = torch.where(multi.unsqueeze(1), only_best & chosen, chosen)
    positive = chosen.any(1)
    owner = chosen.float().argmax(1)  # (B, N)

    batch_index = torch.arange(bsz, device=device).view(bsz, 1)
    target_boxes = gt_boxes[batch_index, owner]  # (B, N, 4)
    target_classes = gt_classes[batch_index, owner].clamp(0, nc - 1)

    align = align * chosen
    max_align = align.amax(-1, keepdim=True)
    max_iou = (iou * chosen).amax(-1, keepdim=True)
    norm = (align * max_iou / (max_align + 1e-9)).amax(1)  # (B, N)
    target_scores = F.one_hot(target_classes, nc).float() * (norm * positive).unsqueeze(-1)
    return Assignment(positive, target_boxes, target_scores)


def detection_loss(
    dists: torch.Tensor,
    logits: torch.Tensor,
    anchors: torch.Tensor,
    gt_classes: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_valid: torch.Tensor,
    weights: LossWeights | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The total loss of a batch and its parts (for logging).

    Args:
        dists: ``(B, N, 4)`` predicted side distances in pixels.
        logits: ``(B, N, nc)`` class logits.
        anchors: ``(N, 3)`` cell centres and strides.
        gt_classes: ``(B, M)`` class ids.
        gt_boxes: ``(B, M, 4)`` xyxy pixels.
        gt_valid: ``(B, M)`` bool mask of real boxes.
        weights: loss gains and assigner parameters.

    Returns:
        ``(loss, parts)`` where the loss is scaled by the batch size (as YOLOv8 does, so
        the learning rate does not depend on it) and parts maps names to floats.
    """
    weights = weights or LossWeights()
    bsz = logits.shape[0]
    centres = anchors[:, :2].unsqueeze(0)
    strides = anchors[:, 2].view(1, -1, 1)
    pred_boxes = torch.cat([centres - dists[..., :2], centres + dists[..., 2:]], dim=-1)
    target = assign(
        logits.detach().sigmoid(),
        pred_boxes.detach(),
        anchors,
        gt_classes,
        gt_boxes,
        gt_valid,
        weights,
    )
    score_sum = target.scores.sum().clamp(min=1.0)
    loss_cls = F.binary_cross_entropy_with_logits(logits, target.scores, reduction="sum")
    loss_cls = loss_cls / score_sum

    pos = target.positive
    if bool(pos.any()):
        w = target.scores.sum(-1)[pos]
        ciou = complete_iou(pred_boxes[pos], target.boxes[pos])
        loss_box = ((1.0 - ciou) * w).sum() / score_sum
        c = centres.expand_as(dists[..., :2])[pos]
        target_dists = torch.cat([c - target.boxes[pos][:, :2], target.boxes[pos][:, 2:] - c], -1)
        s = strides.expand_as(dists[..., :1])[pos]
        l1 = (dists[pos] / s - target_dists.clamp(min=0) / s).abs().sum(-1)
        loss_l1 = (l1 * w).sum() / score_sum
    else:
        loss_box = dists.sum() * 0.0
        loss_l1 = dists.sum() * 0.0
    total = weights.box * loss_box + weights.cls * loss_cls + weights.l1 * loss_l1
    parts = {
        "box": float(loss_box.detach()),
        "cls": float(loss_cls.detach()),
        "l1": float(loss_l1.detach()),
    }
    return total * bsz, parts
