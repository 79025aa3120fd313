"""``gridsight world train`` and ``gridsight world evaluate``: the bundled detector.

``train`` builds the synthetic dataset (or takes ``--data``), trains the detector on the
CPU, exports ONNX, evaluates it on the held-out test split with onnxruntime +
pycocotools, measures its latency and writes the model card, all into ``--out``.
``--install`` then copies the model and card into the package (``gridsight/models``).

``evaluate`` scores any ONNX detector in the YOLOv8 layout on a YOLO-format dataset.

Both commands are attached to the ``world`` group by ``gridsight.commands.world``.
"""

from __future__ import annotations

import json
import platform
import shlex
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gridsight.commands import options

if TYPE_CHECKING:
    from gridsight.simulator.train.trainer import TrainResult

#: Default input of the bundled model: 640x360 frames letterboxed to 384x224.
DEFAULT_IMGSZ = "384x224"


def _parse_imgsz(raw: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (or one number for a square) -> ``(height, width)``."""
    parts = raw.lower().replace(",", "x").split("x")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise click.BadParameter(f"expected WIDTHxHEIGHT such as 384x224, got {raw!r}") from None
    if len(numbers) == 1:
        numbers = numbers * 2
    if len(numbers) != 2 or any(n <= 0 or n % 32 for n in numbers):
        raise click.BadParameter(f"expected WIDTHxHEIGHT, multiples of 32, got {raw!r}")
    return numbers[1], numbers[0]


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "training needs PyTorch: pip install 'gridsight[train]' (torch==2.13.0, CPU)"
        ) from None


def _build_dataset(out: Path, n: int, seed: int) -> list[str]:
    """Render the synthetic dataset with engineer C's exporter; returns card lines."""
    from gridsight.simulator.dataset import describe, export_dataset

    summary = export_dataset(out, n=n, seed=seed)
    # describe() writes Markdown bullets; the card adds its own.
    return [line.removeprefix("- ") for line in describe(summary)]


def _describe_data(data: Path) -> list[str]:
    """Card lines for an existing dataset: from its manifest.json when it has one."""
    manifest = data / "manifest.json"
    if not manifest.is_file():
        return [f"YOLO dataset at `{data}`"]
    from gridsight.simulator.dataset import DatasetSummary, describe

    doc = json.loads(manifest.read_text(encoding="utf-8"))
    summary = DatasetSummary(
        out=data, images=doc["images"], boxes=doc["boxes"], worlds=doc["worlds"]
    )
    options = doc.get("options", {})
    lines = [line.removeprefix("- ") for line in describe(summary)]
    if options:
        lines.insert(0, f"`gridsight world dataset` options: {json.dumps(options)}")
        if {"n", "seed"} <= set(options):
            lines.insert(
                1,
                f"rebuild it with `gridsight world dataset --n {options['n']} --seed "
                f"{options['seed']} --out DIR` (deterministic by seed); `gridsight world "
                f"train --n {options['n']} --seed {options['seed']}` builds the same one itself",
            )
    return lines


@click.command("train")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="An existing YOLO dataset (default: build one into OUT/dataset).",
)
@click.option(
    "--n",
    "n_images",
    type=int,
    default=3000,
    show_default=True,
    help="Images of the dataset to build (all splits).",
)
@click.option("--epochs", type=int, default=20, show_default=True)
@click.option("--batch", "batch_size", type=int, default=16, show_default=True)
@click.option(
    "--imgsz",
    default=DEFAULT_IMGSZ,
    show_default=True,
    help="Model input WIDTHxHEIGHT (multiples of 32).",
)
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seeds the dataset and the training run."
)
@options.threads()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/train"),
    show_default=True,
)
@click.option(
    "--install", is_flag=True, help="Copy the model and card into the package (gridsight/models/)."
)
@options.quiet()
@click.option(
    "--finish-only",
    is_flag=True,
    help="Skip training: export, evaluate and write the card from OUT/best.pt and "
    "OUT/metrics.json of an earlier run with the same options.",
)
def train(
    data: Path | None,
    n_images: int,
    epochs: int,
    batch_size: int,
    imgsz: str,
    lr: float,
    seed: int,
    threads: int,
    out: Path,
    install: bool,
    quiet: bool,
    finish_only: bool,
) -> None:
    """Train the bundled detector on the synthetic world and export it to ONNX.

    \b
    What produced the shipped model (10 epochs, ~25 min on one CPU thread; see
    gridsight/models/MODEL_CARD.md):
      gridsight world dataset --n 3000 --seed 0 --out data/synth3000
      gridsight world train --data data/synth3000 --epochs 10 --seed 0 --threads 1 \\
          --out runs/train --install
    """
    _require_torch()
    import onnxruntime
    import torch

    from gridsight.models import BUNDLED_MODEL_FILE, MODEL_CARD_FILE
    from gridsight.simulator.train.card import CardData, render_card
    from gridsight.simulator.train.data import box_size_stats, count_instances
    from gridsight.simulator.train.evaluate import evaluate_onnx
    from gridsight.simulator.train.export import build_metadata, count_flops, export_onnx
    from gridsight.simulator.train.model import STRIDES
    from gridsight.simulator.train.speed import measure_latency
    from gridsight.simulator.train.trainer import TrainConfig
    from gridsight.simulator.train.trainer import train as run_training

    size = _parse_imgsz(imgsz)
    # The full equivalent command (every option spelt out), for the card.
    args = ["--data", str(data)] if data is not None else ["--n", str(n_images)]
    args += ["--epochs", str(epochs), "--batch", str(batch_size), "--imgsz", imgsz]
    args += ["--lr", f"{lr:g}", "--seed", str(seed), "--threads", str(threads), "--out", str(out)]
    command = "gridsight world train " + shlex.join(args)
    out.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        click.echo(line, err=True)

    if data is None:
        data = out / "dataset"
        if not finish_only:
            log(f"building the synthetic dataset ({n_images} images, seed {seed}) in {data}")
            _build_dataset(data, n_images, seed)
    dataset_lines = _describe_data(data)
    config = TrainConfig(
        data=data,
        imgsz=size,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        threads=threads,
        checkpoint=out / "best.pt",
    )
    result = _load_result(out) if finish_only else run_training(config, log=log, progress=not quiet)
    model_path = out / BUNDLED_MODEL_FILE
    meta = build_metadata(
        result.class_names,
        size,
        max(STRIDES),
        "gridsight-synth: detector trained on gridsight's synthetic world only",
    )
    diff = export_onnx(result.net, model_path, size, meta)
    log(f"exported {model_path} (ONNX vs PyTorch max difference {diff:.1e})")
    report = evaluate_onnx(model_path, data, "test", threads=threads)
    log(report.table())
    latency = [measure_latency(model_path, b, size, t) for t in (1, 2) for b in (1, 12)]
    flops = count_flops(model_path)
    card = CardData(
        model_file=BUNDLED_MODEL_FILE,
        size_bytes=model_path.stat().st_size,
        class_names=result.class_names,
        imgsz=size,
        parameters=result.parameters,
        flops=flops,
        command=command,
        dataset=dataset_lines,
        epochs=epochs,
        best_epoch=result.best_epoch,
        train_seconds=result.seconds,
        history=result.history,
        test=report,
        slices=report.slices,
        latency=latency,
        train_instances=count_instances(data, "train", len(result.class_names)),
        box_sizes=box_size_stats(data, "test", result.class_names, size),
        versions={
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    )
    (out / MODEL_CARD_FILE).write_text(render_card(card), encoding="utf-8")
    metrics = {
        "test": report.as_dict(),
        "latency_ms_per_image": {
            f"batch{lat.batch}_threads{lat.threads}": lat.ms_per_image for lat in latency
        },
        "gflops": flops.gflops,
        "parameters": result.parameters,
        "best_epoch": result.best_epoch,
        "train_seconds": result.seconds,
        "train_images": result.train_images,
        "val_images": result.val_images,
        "history": [asdict(e) for e in result.history],
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    for lat in latency:
        log(f"latency batch {lat.batch}: {lat.ms_per_image:.1f} ms/image ({lat.threads} threads)")
    log(f"wrote {model_path}, {out / MODEL_CARD_FILE}, {out / 'metrics.json'}")
    if install:
        from gridsight.models import __file__ as models_init

        target = Path(models_init).parent
        shutil.copy2(model_path, target / BUNDLED_MODEL_FILE)
        shutil.copy2(out / MODEL_CARD_FILE, target / MODEL_CARD_FILE)
        log(f"installed into {target}")


def _load_result(out: Path) -> TrainResult:
    """The :class:`TrainResult` of an earlier run in ``out`` (best.pt + metrics.json)."""
    import torch

    from gridsight.core.errors import DataError
    from gridsight.simulator.train.model import GridDetector
    from gridsight.simulator.train.trainer import EpochStats, TrainResult

    checkpoint, metrics_path = out / "best.pt", out / "metrics.json"
    if not checkpoint.is_file() or not metrics_path.is_file():
        raise DataError(f"--finish-only needs {checkpoint} and {metrics_path} from a run")
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    net = GridDetector(len(state["names"]), state["size"])
    net.load_state_dict(state["state_dict"])
    net.eval()
    return TrainResult(
        net=net,
        class_names=tuple(state["names"]),
        history=[EpochStats(**e) for e in metrics["history"]],
        best_epoch=int(metrics["best_epoch"]),
        parameters=int(metrics["parameters"]),
        train_images=int(metrics.get("train_images", 0)),
        val_images=int(metrics.get("val_images", 0)),
        seconds=float(metrics["train_seconds"]),
    )


@click.command("evaluate")
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An ONNX detector in the YOLOv8 layout with names/imgsz metadata.",
)
@click.option(
    "--data",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A YOLO-format dataset whose data.yaml names match the model's classes.",
)
@options.split()
@options.threads()
@options.as_json("Print the report as JSON.")
def evaluate(model_path: Path, data: Path, split: str, threads: int, as_json: bool) -> None:
    """COCO mAP50 and mAP50-95 per class of an ONNX detector (onnxruntime + pycocotools)."""
    from gridsight.simulator.train.evaluate import evaluate_onnx

    report = evaluate_onnx(model_path, data, split, threads=threads)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(f"{model_path} on {data} ({split}, {report.images} images)")
        click.echo(report.table())
        for name, part in report.slices.items():
            click.echo(f"\n{name} ({part.images} images)")
            click.echo(part.table())
