"""``gridsight world quantize``: the int8 variant of the bundled detector.

Attached to the ``world`` group by ``gridsight.commands.world``. The work is in
:mod:`gridsight.simulator.train.quantize` (calibration, quantization) and
:mod:`gridsight.simulator.train.quantize_report` (fp32 vs int8 accuracy and latency).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import click
from tqdm import tqdm

from gridsight.commands import options
from gridsight.models import BUNDLED_INT8_MODEL_FILE as INT8_MODEL_FILE
from gridsight.simulator.train.quantize import (
    CALIBRATION_METHODS,
    DEFAULT_CALIB_N,
    DEFAULT_CALIB_SEED,
    QuantizeOptions,
    QuantizeResult,
)


@click.command("quantize")
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The fp32 ONNX detector (default: the bundled gridsight-synth.onnx).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/quantize"),
    show_default=True,
    help="Folder for the int8 model, the calibration frames and the report.",
)
@click.option(
    "--calib-n",
    type=click.IntRange(min=1),
    default=DEFAULT_CALIB_N,
    show_default=True,
    help="Synthetic calibration frames to render.",
)
@click.option(
    "--calib-seed",
    type=int,
    default=DEFAULT_CALIB_SEED,
    show_default=True,
    help="Dataset seed of the calibration worlds (the model's own dataset is seed 0).",
)
@click.option(
    "--method",
    type=click.Choice(list(CALIBRATION_METHODS)),
    default="percentile",
    show_default=True,
    help="How activation ranges are found from the calibration frames (percentile: "
    "onnxruntime's 99.999th percentile of a 2048-bin histogram, symmetric).",
)
@click.option(
    "--per-channel/--per-tensor",
    default=True,
    show_default=True,
    help="Weight scales per output channel or per tensor.",
)
@click.option("--reduce-range", is_flag=True, help="7-bit weights (AVX2 saturation workaround).")
@click.option(
    "--keep-head-fp32", is_flag=True, help="Also keep each head's last convolution in fp32."
)
@click.option(
    "--keep-fp32",
    "keep_fp32",
    multiple=True,
    help="Leave this node unquantized (ONNX node name, repeatable).",
)
@click.option(
    "--data",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A YOLO dataset with a held-out split: compare fp32 and int8 on it and write the "
    "card section (e.g. gridsight world dataset --n 3000 --seed 0).",
)
@options.split()
@options.threads("For the evaluation.")
@click.option("--no-latency", is_flag=True, help="Skip the latency comparison.")
@click.option(
    "--install",
    is_flag=True,
    help="Copy the int8 model into gridsight/models/ and, with --data, its section into "
    "MODEL_CARD.md.",
)
@options.quiet()
def quantize(
    model_path: Path | None,
    out: Path,
    calib_n: int,
    calib_seed: int,
    method: str,
    per_channel: bool,
    reduce_range: bool,
    keep_head_fp32: bool,
    keep_fp32: tuple[str, ...],
    data: Path | None,
    split: str,
    threads: int,
    no_latency: bool,
    install: bool,
    quiet: bool,
) -> None:
    """Quantize the bundled detector to int8 (onnxruntime static quantization, QDQ).

    Renders calibration frames from the synthetic world, quantizes, and with --data
    compares fp32 and int8 per class on a held-out split and in latency.

    \b
    What produced the shipped gridsight-synth-int8.onnx (see MODEL_CARD.md):
      gridsight world dataset --n 3000 --seed 0 --out data/synth3000
      gridsight world quantize --calib-n 256 --method percentile \\
          --data data/synth3000 --install
    """
    from gridsight.models import MODEL_CARD_FILE, bundled_model_path
    from gridsight.simulator.train.quantize import quantize_detector, render_calibration_frames

    src = model_path or bundled_model_path()
    options = QuantizeOptions(
        method=method,
        per_channel=per_channel,
        reduce_range=reduce_range,
        keep_head_fp32=keep_head_fp32,
        keep_fp32=keep_fp32,
    )
    args = ["--calib-n", str(calib_n), "--calib-seed", str(calib_seed), "--method", method]
    args += [] if per_channel else ["--per-tensor"]
    args += ["--reduce-range"] if reduce_range else []
    args += ["--keep-head-fp32"] if keep_head_fp32 else []
    for name in keep_fp32:
        args += ["--keep-fp32", name]
    args += ["--data", str(data), "--split", split] if data is not None else []
    command = "gridsight world quantize " + shlex.join([*args, "--out", str(out)])
    out.mkdir(parents=True, exist_ok=True)

    def bar(total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit="img", disable=quiet, leave=False)

    calib_dir = out / "calibration"
    if calib_dir.exists():
        shutil.rmtree(calib_dir)  # frames of another --calib-n/--calib-seed must not mix in
    with bar(calib_n, "render calibration frames") as pbar:
        frames = render_calibration_frames(calib_dir, calib_n, calib_seed, progress=pbar.update)
    dst = out / INT8_MODEL_FILE
    with bar(len(frames), f"calibrate ({method})") as pbar:
        result = quantize_detector(src, dst, frames, options, progress=pbar.update)
    click.echo(
        f"wrote {dst}: {result.size_bytes / 1e6:.2f} MB ({100 * result.size_ratio:.0f}% of "
        f"{src.name}), calibrated on {len(frames)} frames, {len(result.excluded_nodes)} nodes "
        "kept in fp32",
        err=True,
    )
    section = None
    summary: dict[str, object] = {"command": command, "size_bytes": result.size_bytes}
    if data is not None:
        section, details = _compare(
            src, dst, data, split, threads, no_latency, quiet, command, result, options, calib_seed
        )
        (out / "int8-section.md").write_text(section, encoding="utf-8")
        summary.update(details)
        click.echo(section)
    (out / "int8-report.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if install:
        from gridsight.models import __file__ as models_init
        from gridsight.simulator.train.quantize_report import install_card_section

        target = Path(models_init).parent
        shutil.copy2(dst, target / INT8_MODEL_FILE)
        click.echo(f"installed {target / INT8_MODEL_FILE}", err=True)
        if section is not None:
            install_card_section(target / MODEL_CARD_FILE, section)
            click.echo(f"updated {target / MODEL_CARD_FILE}", err=True)


def _compare(
    src: Path,
    dst: Path,
    data: Path,
    split: str,
    threads: int,
    no_latency: bool,
    quiet: bool,
    command: str,
    result: QuantizeResult,
    options: QuantizeOptions,
    calib_seed: int,
) -> tuple[str, dict[str, object]]:
    """Evaluate both models on ``data``/``split``, time them, render the card section."""
    from dataclasses import asdict

    from gridsight.simulator.train.quantize_report import (
        Int8Report,
        LatencyPair,
        compare_accuracy,
        compare_latency,
        render_section,
    )

    n_images = sum(1 for _ in (data / "images" / split).glob("*"))
    with tqdm(
        total=2 * n_images, desc=f"evaluate fp32 + int8 on {split}", unit="img", disable=quiet
    ) as pbar:
        classes, fp32_map, int8_map, images, agreement = compare_accuracy(
            src, dst, data, split, threads, progress=pbar.update
        )
    load = os.getloadavg()
    latency: tuple[LatencyPair, ...] = ()
    if not no_latency:
        from gridsight.core.detection.decode import imgsz_from_metadata
        from gridsight.simulator.train.speed import make_session

        meta = make_session(dst, 1).get_modelmeta().custom_metadata_map
        imgsz = imgsz_from_metadata(meta) or (224, 384)
        click.echo("timing fp32 and int8 (interleaved) ...", err=True)
        latency = compare_latency(src, dst, imgsz)
    recipe: dict[str, object] = {
        "weights": "int8, per output channel" if options.per_channel else "int8, per tensor",
        "calibration": options.method + (", reduce_range" if options.reduce_range else ""),
        "calib_seed": calib_seed,
        "keep_head_fp32": options.keep_head_fp32,
    }
    report = Int8Report(
        split=split,
        images=images,
        classes=classes,
        fp32_map50=fp32_map,
        int8_map50=int8_map,
        agreement=agreement,
        latency=tuple(latency),
        quantized=result,
        command=command,
        recipe=recipe,
        load_average=load,
    )
    details: dict[str, object] = {
        "goal_met": report.goal_met,
        "classes": [{**asdict(c), "drop_points": c.drop_points} for c in classes],
        "fp32_map50": fp32_map,
        "int8_map50": int8_map,
        "agreement": agreement.as_dict(),
        "latency": [{**asdict(p), "speedup": p.speedup} for p in latency],
        "load_average": load,
    }
    return render_section(report), details
