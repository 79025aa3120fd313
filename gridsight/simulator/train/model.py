"""The bundled detector's network: a small anchor-free, three-scale YOLO-style model.

The design follows the shape of the YOLOv8 family (conv-BN-SiLU backbone with
cross-stage blocks, a PAN neck, a decoupled head per scale) but is written here from
scratch and kept small enough to train on two CPU cores in minutes.

Each grid cell of each scale predicts the distances from its centre to the four box
sides (left, top, right, bottom, in units of the scale's stride, kept positive with a
softplus) and one logit per class. :meth:`GridDetector.forward` returns raw per-cell
predictions for the loss; :meth:`GridDetector.export_forward` returns the YOLOv8
output layout ``(B, 4 + nc, N)`` — rows ``cx, cy, w, h`` in input pixels followed by
the sigmoid class scores — which is what the ONNX file carries.

Example:
    >>> import torch
    >>> net = GridDetector(num_classes=6).eval()
    >>> net.export_forward(torch.zeros(1, 3, 224, 384)).shape
    torch.Size([1, 10, 1764])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

STRIDES: tuple[int, ...] = (8, 16, 32)


class ConvBNAct(nn.Module):
    """Conv2d without bias, BatchNorm, SiLU."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, s: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Residual(nn.Module):
    """Two 3x3 convolutions with an identity shortcut."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.a = ConvBNAct(c, c, 3)
        self.b = ConvBNAct(c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x))


class CrossStage(nn.Module):
    """Split the channels, run residual blocks on one half, concatenate every stage.

    Concatenating the intermediate outputs (as YOLOv8's C2f does) gives the head
    features of several depths for the price of one narrow residual path.
    """

    def __init__(self, c_in: int, c_out: int, n: int = 1) -> None:
        super().__init__()
        self.hidden = c_out // 2
        self.split = ConvBNAct(c_in, 2 * self.hidden, 1)
        self.blocks = nn.ModuleList(Residual(self.hidden) for _ in range(n))
        self.merge = ConvBNAct((2 + n) * self.hidden, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # split() with a fixed size exports as one static ONNX Split (chunk() does not).
        parts = list(self.split(x).split(self.hidden, dim=1))
        for block in self.blocks:
            parts.append(block(parts[-1]))
        return self.merge(torch.cat(parts, dim=1))


class SpatialPyramidPool(nn.Module):
    """Three chained 5x5 max-pools concatenated: a cheap large receptive field."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.reduce = ConvBNAct(c, c // 2, 1)
        self.pool = nn.MaxPool2d(5, 1, 2)
        self.expand = ConvBNAct(c * 2, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y0 = self.reduce(x)
        y1 = self.pool(y0)
        y2 = self.pool(y1)
        y3 = self.pool(y2)
        return self.expand(torch.cat([y0, y1, y2, y3], dim=1))


class ScaleHead(nn.Module):
    """Decoupled head of one scale: separate box and class branches."""

    def __init__(self, c_in: int, num_classes: int, c_box: int, c_cls: int, stride: int) -> None:
        super().__init__()
        self.box = nn.Sequential(
            ConvBNAct(c_in, c_box, 3), ConvBNAct(c_box, c_box, 3), nn.Conv2d(c_box, 4, 1)
        )
        self.cls = nn.Sequential(
            ConvBNAct(c_in, c_cls, 3), ConvBNAct(c_cls, c_cls, 3), nn.Conv2d(c_cls, num_classes, 1)
        )
        self._init_bias(num_classes, stride)

    def _init_bias(self, num_classes: int, stride: int) -> None:
        # Start with a small prior probability per class (fewer false positives early on,
        # as in RetinaNet), and box sides about two strides from the cell centre.
        prior = 5.0 / num_classes / (640.0 / stride) ** 2
        cls_out = self.cls[-1]
        box_out = self.box[-1]
        if isinstance(cls_out, nn.Conv2d) and cls_out.bias is not None:
            nn.init.constant_(cls_out.bias, math.log(prior / (1.0 - prior)))
        if isinstance(box_out, nn.Conv2d) and box_out.bias is not None:
            nn.init.constant_(box_out.bias, math.log(math.expm1(2.0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.box(x), self.cls(x)


@dataclass(frozen=True, slots=True)
class ModelSize:
    """Channel widths and depths of the network.

    Attributes:
        widths: channels of the stem and the four backbone stages (strides 2..32).
        depths: residual blocks in backbone stages 2..5 and in each neck block.
        head: channels of the box and class branches.
    """

    widths: tuple[int, int, int, int, int] = (16, 32, 64, 96, 128)
    depths: tuple[int, int, int, int] = (1, 1, 2, 1)
    neck_depth: int = 1
    head: tuple[int, int] = (48, 48)


class GridDetector(nn.Module):
    """Backbone + PAN neck + decoupled heads at strides 8, 16 and 32.

    Args:
        num_classes: number of classes (the six roles for the bundled model).
        size: channel widths and depths.
    """

    def __init__(self, num_classes: int, size: ModelSize | None = None) -> None:
        super().__init__()
        size = size or ModelSize()
        self.num_classes = num_classes
        self.size = size
        w0, w1, w2, w3, w4 = size.widths
        d1, d2, d3, d4 = size.depths
        nd = size.neck_depth
        self.stem = ConvBNAct(3, w0, 3, 2)
        self.stage2 = nn.Sequential(ConvBNAct(w0, w1, 3, 2), CrossStage(w1, w1, d1))
        self.stage3 = nn.Sequential(ConvBNAct(w1, w2, 3, 2), CrossStage(w2, w2, d2))
        self.stage4 = nn.Sequential(ConvBNAct(w2, w3, 3, 2), CrossStage(w3, w3, d3))
        self.stage5 = nn.Sequential(
            ConvBNAct(w3, w4, 3, 2), CrossStage(w4, w4, d4), SpatialPyramidPool(w4)
        )
        # Top-down path (coarse semantics into fine maps) ...
        self.td4 = CrossStage(w4 + w3, w3, nd)
        self.td3 = CrossStage(w3 + w2, w2, nd)
        # ... then bottom-up (fine localisation back into coarse maps).
        self.down3 = ConvBNAct(w2, w2, 3, 2)
        self.bu4 = CrossStage(w2 + w3, w3, nd)
        self.down4 = ConvBNAct(w3, w3, 3, 2)
        self.bu5 = CrossStage(w3 + w4, w4, nd)
        c_box, c_cls = size.head
        self.heads = nn.ModuleList(
            ScaleHead(c, num_classes, c_box, c_cls, s)
            for c, s in zip((w2, w3, w4), STRIDES, strict=True)
        )

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The neck's outputs at strides 8, 16 and 32."""
        p3 = self.stage3(self.stage2(self.stem(x)))
        p4 = self.stage4(p3)
        p5 = self.stage5(p4)
        t4 = self.td4(torch.cat([F.interpolate(p5, scale_factor=2.0, mode="nearest"), p4], 1))
        n3 = self.td3(torch.cat([F.interpolate(t4, scale_factor=2.0, mode="nearest"), p3], 1))
        n4 = self.bu4(torch.cat([self.down3(n3), t4], 1))
        n5 = self.bu5(torch.cat([self.down4(n4), p5], 1))
        return [n3, n4, n5]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw predictions for training.

        Args:
            x: ``(B, 3, H, W)`` float images in [0, 1], H and W multiples of 32.

        Returns:
            ``(distances, logits, anchors)``: ``distances (B, N, 4)`` left/top/right/bottom
            in pixels (positive), ``logits (B, N, nc)``, and ``anchors (N, 3)`` holding
            each cell's centre x, y in pixels and its stride.
        """
        dists, logits, shapes = self._predict(x)
        return dists, logits, make_anchors(shapes, x.device, x.dtype)

    def _predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
        dists: list[torch.Tensor] = []
        logits: list[torch.Tensor] = []
        shapes: list[tuple[int, int]] = []
        for feat, head, stride in zip(self.features(x), self.heads, STRIDES, strict=True):
            box, cls = head(feat)
            dists.append(F.softplus(box).flatten(2).transpose(1, 2) * stride)
            logits.append(cls.flatten(2).transpose(1, 2))
            shapes.append((int(box.shape[-2]), int(box.shape[-1])))
        return torch.cat(dists, 1), torch.cat(logits, 1), shapes

    def export_forward(self, x: torch.Tensor, anchors: torch.Tensor | None = None) -> torch.Tensor:
        """The deployment output: ``(B, 4 + nc, N)`` rows cx, cy, w, h, then class scores.

        Args:
            x: ``(B, 3, H, W)`` images.
            anchors: precomputed cell centres for this input size (the ONNX export passes
                them so they become constants instead of shape arithmetic in the graph).
        """
        dists, logits, shapes = self._predict(x)
        if anchors is None:
            anchors = make_anchors(shapes, x.device, x.dtype)
        centres = anchors[:, :2]
        x1y1 = centres - dists[..., :2]
        x2y2 = centres + dists[..., 2:]
        cxcy = (x1y1 + x2y2) * 0.5
        wh = x2y2 - x1y1
        out = torch.cat([cxcy, wh, logits.sigmoid()], dim=-1)
        return out.transpose(1, 2)


class ExportWrapper(nn.Module):
    """Makes :meth:`GridDetector.export_forward` at a fixed input size the traced ``forward``."""

    def __init__(self, net: GridDetector, imgsz: tuple[int, int]) -> None:
        super().__init__()
        self.net = net
        h, w = imgsz
        shapes = [(h // s, w // s) for s in STRIDES]
        self.register_buffer("anchors", make_anchors(shapes, torch.device("cpu"), torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.export_forward(x, cast(torch.Tensor, self.anchors))


def make_anchors(
    shapes: list[tuple[int, int]], device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """``(N, 3)`` cell centres (x, y in pixels) and strides for feature maps of ``shapes``."""
    return torch.cat(
        [_grid(h, w, s, device, dtype) for (h, w), s in zip(shapes, STRIDES, strict=True)], 0
    )


def _grid(h: int, w: int, stride: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    ys = (torch.arange(h, device=device, dtype=dtype) + 0.5) * stride
    xs = (torch.arange(w, device=device, dtype=dtype) + 0.5) * stride
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    s = torch.full_like(gx, float(stride))
    return torch.stack([gx, gy, s], dim=-1).reshape(-1, 3)


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
