"""Training loop of the bundled detector (PyTorch, CPU).

One epoch visits every training image once in a seeded random order, with light
augmentation; the optimiser is AdamW with a linear warm-up and a cosine decay; an
exponential moving average (EMA) of the weights is what gets validated and exported,
because on short CPU schedules it is markedly more accurate than the raw weights.
After each epoch the EMA model is scored on the validation split with the same decode
and COCO evaluator as the final ONNX evaluation, and the best epoch is kept.

Reproducibility: the dataset comes from seeds, the network initialisation, the data
order and the augmentation all draw from ``torch`` generators seeded by ``seed``, and
deterministic algorithms are requested. On the CPU this gives the same weights for the
same seed and thread count.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gridsight.core.errors import DataError
from gridsight.simulator.train.data import (
    Augment,
    MemoryDataset,
    augment_batch,
    iterate_batches,
    load_split,
    pad_targets,
    read_class_names,
)
from gridsight.simulator.train.evaluate import EvalReport, coco_evaluate, decode_for_eval
from gridsight.simulator.train.loss import LossWeights, detection_loss
from gridsight.simulator.train.model import GridDetector, ModelSize, count_parameters


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run.

    Attributes:
        data: a YOLO-format dataset folder (train and val splits).
        imgsz: model input ``(height, width)``, multiples of 32.
        epochs: passes over the training split.
        batch_size: images per step.
        lr: peak learning rate (AdamW).
        weight_decay: on convolution weights only.
        warmup_iters: steps of linear warm-up.
        seed: seeds initialisation, order and augmentation.
        threads: PyTorch intra-op threads.
        val_limit: validate on at most this many val images per epoch (None: all).
        size: network widths and depths.
        augment: augmentation strengths.
        loss: loss gains and assigner parameters.
        checkpoint: when set, the best EMA weights so far are saved here after every
            improving epoch (a long run stopped early still leaves a usable model).
    """

    data: Path
    imgsz: tuple[int, int] = (224, 384)
    epochs: int = 20
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 5e-4
    warmup_iters: int = 150
    seed: int = 0
    threads: int = 2
    val_limit: int | None = 400
    size: ModelSize = field(default_factory=ModelSize)
    augment: Augment = field(default_factory=Augment)
    loss: LossWeights = field(default_factory=LossWeights)
    checkpoint: Path | None = None


@dataclass(frozen=True, slots=True)
class EpochStats:
    """What one epoch did."""

    epoch: int
    loss: float
    box: float
    cls: float
    l1: float
    val_map50: float
    val_map50_95: float
    seconds: float


@dataclass
class TrainResult:
    """A trained network (the best epoch's EMA weights) and its history."""

    net: GridDetector
    class_names: tuple[str, ...]
    history: list[EpochStats]
    best_epoch: int
    parameters: int
    train_images: int
    val_images: int
    seconds: float


class ModelEMA:
    """Exponential moving average of a model's weights and BatchNorm statistics.

    The decay ramps up from 0 with the number of updates (time constant ``tau``) so the
    average is not dominated by the random initial weights.
    """

    def __init__(self, net: GridDetector, decay: float = 0.999, tau: float = 400.0) -> None:
        self.ema: GridDetector = copy.deepcopy(net).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.tau = tau
        self.updates = 0

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1.0 - math.exp(-self.updates / self.tau))
        source = net.state_dict()
        for name, value in self.ema.state_dict().items():
            if value.dtype.is_floating_point:
                value.mul_(d).add_(source[name].detach(), alpha=1.0 - d)


def _param_groups(net: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    decay, no_decay = [], []
    for module in net.modules():
        for name, param in module.named_parameters(recurse=False):
            # Decay only convolution kernels: decaying BatchNorm scales and biases
            # just fights the normalisation.
            if name == "weight" and isinstance(module, nn.Conv2d):
                decay.append(param)
            else:
                no_decay.append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _lr_at(step: int, total: int, config: TrainConfig) -> float:
    if step < config.warmup_iters:
        return config.lr * (step + 1) / config.warmup_iters
    progress = (step - config.warmup_iters) / max(1, total - config.warmup_iters)
    floor = 0.02
    return config.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


@torch.no_grad()
def evaluate_memory(
    net: GridDetector,
    dataset: MemoryDataset,
    class_names: tuple[str, ...],
    limit: int | None = None,
    batch_size: int = 32,
) -> EvalReport:
    """COCO AP of the PyTorch network on an in-memory split (same decode as the ONNX path)."""
    net.eval()
    n = len(dataset) if limit is None else min(limit, len(dataset))
    preds = []
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        x = dataset.images[start:stop].float().div_(255.0)
        out = net.export_forward(x).numpy()
        preds.extend(decode_for_eval(out, dataset.infos[start:stop], class_names))
    return coco_evaluate(dataset.items[:n], preds, class_names, split="val")


def train(
    config: TrainConfig,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> TrainResult:
    """Train a detector on ``config.data`` and return the best epoch's EMA network.

    Args:
        config: the run's settings.
        log: receives one line per epoch.
        progress: show a tqdm bar per epoch.

    Raises:
        DataError: the dataset is missing or malformed.
    """
    from tqdm import tqdm

    h, w = config.imgsz
    if h % 32 or w % 32 or h <= 0 or w <= 0:
        raise DataError(f"imgsz must be positive multiples of 32, got {config.imgsz}")
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(config.threads)
    started = time.perf_counter()

    class_names = read_class_names(config.data)
    nc = len(class_names)
    train_set = load_split(config.data, "train", config.imgsz, nc)
    val_set = load_split(config.data, "val", config.imgsz, nc)
    log(
        f"data: {len(train_set)} train, {len(val_set)} val images at {w}x{h}, "
        f"{nc} classes {list(class_names)}"
    )

    net = GridDetector(nc, config.size)
    ema = ModelEMA(net)
    optimizer = torch.optim.AdamW(
        _param_groups(net, config.weight_decay), lr=config.lr, betas=(0.9, 0.999)
    )
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    log(f"model: {count_parameters(net):,} parameters; {total_steps} steps")

    history: list[EpochStats] = []
    best_fitness = -1.0
    best_state = copy.deepcopy(ema.ema.state_dict())
    best_epoch = 0
    step = 0
    for epoch in range(1, config.epochs + 1):
        net.train()
        t0 = time.perf_counter()
        sums = np.zeros(4)
        batches = iterate_batches(len(train_set), config.batch_size, generator)
        bar = tqdm(
            batches,
            total=steps_per_epoch,
            desc=f"epoch {epoch}/{config.epochs}",
            disable=not progress,
            leave=False,
            unit="batch",
        )
        for index in bar:
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, total_steps, config)
            images = train_set.images[index].float().div_(255.0)
            images, boxes = augment_batch(
                images, [train_set.boxes[i] for i in index.tolist()], config.augment, generator
            )
            gt_classes, gt_boxes, gt_valid = pad_targets(boxes)
            dists, logits, anchors = net(images)
            loss, parts = detection_loss(
                dists, logits, anchors, gt_classes, gt_boxes, gt_valid, config.loss
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), max_norm=10.0)
            optimizer.step()
            ema.update(net)
            step += 1
            sums += np.array(
                [float(loss.detach()) / len(index), parts["box"], parts["cls"], parts["l1"]]
            )
            bar.set_postfix(loss=f"{sums[0] / (bar.n + 1):.3f}")
        bar.close()
        means = sums / steps_per_epoch
        report = evaluate_memory(ema.ema, val_set, class_names, limit=config.val_limit)
        stats = EpochStats(
            epoch=epoch,
            loss=float(means[0]),
            box=float(means[1]),
            cls=float(means[2]),
            l1=float(means[3]),
            val_map50=report.map50,
            val_map50_95=report.map50_95,
            seconds=time.perf_counter() - t0,
        )
        history.append(stats)
        fitness = 0.1 * report.map50 + 0.9 * report.map50_95
        if fitness > best_fitness:
            best_fitness = fitness
            best_state = copy.deepcopy(ema.ema.state_dict())
            best_epoch = epoch
            if config.checkpoint is not None:
                torch.save(
                    {
                        "state_dict": best_state,
                        "names": class_names,
                        "imgsz": config.imgsz,
                        "size": config.size,
                        "epoch": epoch,
                    },
                    config.checkpoint,
                )
        log(
            f"epoch {epoch}/{config.epochs}: loss {stats.loss:.3f} (box {stats.box:.3f} "
            f"cls {stats.cls:.3f} l1 {stats.l1:.3f}) val mAP50 {stats.val_map50:.3f} "
            f"mAP50-95 {stats.val_map50_95:.3f} [{stats.seconds:.0f} s]"
        )
    final = GridDetector(nc, config.size)
    final.load_state_dict(best_state)
    final.eval()
    return TrainResult(
        net=final,
        class_names=class_names,
        history=history,
        best_epoch=best_epoch,
        parameters=count_parameters(final),
        train_images=len(train_set),
        val_images=len(val_set),
        seconds=time.perf_counter() - started,
    )
