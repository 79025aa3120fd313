"""The bundled model's card: data, classes, input, accuracy, speed, and its limits.

``gridsight world train`` fills it from the run's own numbers, so the card shipped with
the package always describes the file next to it.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gridsight.simulator.train.evaluate import EvalReport
from gridsight.simulator.train.export import FlopCount
from gridsight.simulator.train.speed import Latency
from gridsight.simulator.train.trainer import EpochStats

#: The accuracy the issue asks of every class on held-out synthetic scenes.
GOAL_AP50 = 0.90


@dataclass(frozen=True)
class CardData:
    """Everything the card reports.

    Attributes:
        model_file: file name of the ONNX model.
        size_bytes: its size.
        class_names: class names by id.
        imgsz: input ``(h, w)``.
        parameters: trainable parameters.
        flops: operation count at batch 1.
        command: the exact command that produced the model.
        dataset: lines describing the training data (split sizes, seeds, scenes).
        epochs: epochs run; best_epoch: the one kept.
        train_seconds: wall time of training.
        history: per-epoch statistics.
        test: accuracy on the held-out split.
        slices: accuracy on named subsets of the test split (e.g. night).
        latency: measured latencies (batch 1, batch 12 ...).
        versions: software versions (torch, onnxruntime ...).
        train_instances: training boxes per class (by class id), for the shortfall notes.
        box_sizes: per class name, ``(median width, median height, fraction narrower
            than 8 px)`` of its test boxes in model-input pixels, for the shortfall notes.
        shortfalls: explanations for classes below the goal, by class name.
    """

    model_file: str
    size_bytes: int
    class_names: tuple[str, ...]
    imgsz: tuple[int, int]
    parameters: int
    flops: FlopCount
    command: str
    dataset: Sequence[str]
    epochs: int
    best_epoch: int
    train_seconds: float
    history: Sequence[EpochStats]
    test: EvalReport
    slices: Mapping[str, EvalReport] = field(default_factory=dict)
    latency: Sequence[Latency] = ()
    versions: Mapping[str, str] = field(default_factory=dict)
    train_instances: Sequence[int] = ()
    box_sizes: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    shortfalls: Mapping[str, str] = field(default_factory=dict)


def _f(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _evidence(card: CardData, name: str) -> str:
    """What the run's own numbers say about a class that falls short."""
    parts: list[str] = []
    k = card.class_names.index(name)
    if len(card.train_instances) == len(card.class_names):
        total = max(1, sum(card.train_instances))
        n = card.train_instances[k]
        parts.append(f"{n} training boxes ({100 * n / total:.1f}% of all)")
    test = next(c for c in card.test.per_class if c.name == name)
    if test.instances < 50:
        parts.append(f"only {test.instances} test boxes, so its AP moves by points per box")
    if name in card.box_sizes:
        w, h, small = card.box_sizes[name]
        parts.append(
            f"median test box {w:.0f}x{h:.0f} px at the model input, "
            f"{100 * small:.0f}% narrower than 8 px (one stride-8 cell)"
        )
    for slice_name, report in (card.slices or card.test.slices).items():
        acc = next((c for c in report.per_class if c.name == name), None)
        if acc is not None and acc.instances:
            parts.append(f"{slice_name}: AP50 {_f(acc.ap50)} on {acc.instances} boxes")
    return "; ".join(parts) + "."


def render_card(card: CardData) -> str:
    """The card as Markdown."""
    h, w = card.imgsz
    lines: list[str] = [
        "# gridsight-synth: the bundled detector",
        "",
        "A small anchor-free detector trained **only on gridsight's synthetic camera world**.",
        "It exists so that the engine, its tests and `make demo` have a model that runs",
        "anywhere without a download. It is not a model for real cameras.",
        "",
        "## What it cannot do",
        "",
        "- It has only ever seen procedurally drawn scenes (flat-shaded people, bicycles,",
        "  e-bikes, motorbikes, cars and stalls over four scene kinds). On real camera",
        "  footage expect it to miss most objects and to fire on textures it never saw.",
        "  **Real deployments need a real model**: point the camera config at your own",
        "  YOLOv8/YOLO11 ONNX export (`(1, 4+nc, N)` or end-to-end `(1, N, 6)`); the",
        "  engine maps its class names to roles.",
        "- Its accuracy figures below are on held-out *synthetic* scenes (seeds never used",
        "  in training). They say the pipeline works end to end, not that the detector",
        "  would work on a reservoir bank in Jingqiao.",
        "- It knows six classes only; anything else is background or a wrong class.",
        f"- Input is {w}x{h}: objects much smaller than about 8 input pixels (far-away",
        "  people on a 640x360 frame shrink by the letterbox) are hard for it.",
        "",
        "## Model",
        "",
        "| | |",
        "|---|---|",
        f"| file | `{card.model_file}` ({card.size_bytes / 1e6:.2f} MB, fp32, ONNX opset 17) |",
        f"| input | `images` (B, 3, {h}, {w}) float32 RGB in [0, 1], letterboxed "
        "(centred, grey 114) |",
        f"| output | `output0` (B, {4 + len(card.class_names)}, N): cx, cy, w, h in input "
        "pixels, then sigmoid class scores (YOLOv8 layout) |",
        f"| parameters | {card.parameters:,} |",
        f"| compute | {card.flops.gflops:.2f} GFLOPs at batch 1 (2 x {card.flops.macs / 1e6:.0f} M "
        f"multiply-accumulates; plus {card.flops.other / 1e6:.1f} M other operations) |",
        "| architecture | conv-BN-SiLU backbone with cross-stage residual blocks, SPP, PAN "
        "neck, decoupled box/class heads at strides 8, 16, 32; box = distances to the four "
        "sides |",
        "| metadata | `names`, `imgsz`, `stride`, `task`, `description`, `version` "
        "(Ultralytics-style) |",
        "",
        "## Classes",
        "",
        "| id | name |",
        "|---:|---|",
    ]
    lines += [f"| {i} | {name} |" for i, name in enumerate(card.class_names)]
    lines += ["", "## Training data", ""]
    lines += [f"- {line}" for line in card.dataset]
    lines += [
        "",
        "## Training",
        "",
        "```",
        card.command,
        "```",
        "",
        f"{card.epochs} epochs on the CPU in {card.train_seconds / 60:.1f} min "
        f"(best epoch by validation fitness: {card.best_epoch}). "
        "AdamW, warm-up + cosine, EMA weights; flip and colour jitter; task-aligned "
        "assignment; CIoU + L1 box loss, BCE class loss.",
        "",
        "| epoch | loss | val mAP50 | val mAP50-95 | s |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {e.epoch} | {e.loss:.3f} | {_f(e.val_map50)} | {_f(e.val_map50_95)} | {e.seconds:.0f} |"
        for e in card.history
    ]
    t = card.test
    lines += [
        "",
        f"## Accuracy (COCO-style, pycocotools, `{t.split}` split: {t.images} images of "
        "held-out seeds, run through onnxruntime)",
        "",
        t.table(),
        "",
    ]
    for name, report in (card.slices or t.slices).items():
        lines += [
            f"### {name} ({report.images} images)",
            "",
            report.table(),
            "",
        ]
    below = [c for c in t.per_class if not math.isnan(c.ap50) and c.ap50 < GOAL_AP50]
    lines += [f"Goal: mAP50 >= {GOAL_AP50:.2f} for every class on held-out scenes."]
    if below:
        lines += ["Classes below the goal:", ""]
        for c in below:
            lines.append(f"- **{c.name}** ({_f(c.ap50)}): {_evidence(card, c.name)}")
            if c.name in card.shortfalls:
                lines.append(f"  {card.shortfalls[c.name]}")
    else:
        lines.append("Every class meets it on this split.")
    weak = [
        (slice_name, c)
        for slice_name, report in (card.slices or t.slices).items()
        for c in report.per_class
        if c.instances >= 20 and not math.isnan(c.ap50) and c.ap50 < GOAL_AP50
    ]
    if weak:
        lines += ["", "Below the goal within a slice (classes with at least 20 boxes there):", ""]
        lines += [f"- {name}: {c.name} {_f(c.ap50)} ({c.instances} boxes)" for name, c in weak]
    lines += ["", "## Speed (onnxruntime, CPU)", ""]
    if card.latency:
        lines += [
            "| batch | threads | ms per call | ms per image | images/s |",
            "|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {lat.batch} | {lat.threads} | {lat.ms_per_call:.1f} | "
            f"{lat.ms_per_image:.1f} | {lat.images_per_second:.0f} |"
            for lat in card.latency
        ]
        lines += [
            "",
            "The deployment needs 12 cameras x 2 frames/s = 24 images/s, i.e. at most "
            "~42 ms of the two cores per image. Measured on "
            f"{platform.machine()} with {os.cpu_count()} CPUs shared with other jobs: "
            "treat as indicative; `benchmarks/bench_model.py` reproduces it.",
        ]
    if card.versions:
        lines += ["", "## Software", ""]
        lines += [f"- {k} {v}" for k, v in card.versions.items()]
    lines.append("")
    return "\n".join(lines)
