"""The accuracy that must not move: events with and without motion gating (and int8).

Run (``make bench`` runs it with the rest; alone)::

    .venv/bin/pytest benchmarks/bench_capacity_accuracy.py -m capacity -s

For each variant (``before``: no gate, fp32 — today's engine; ``gated``; and, when the
int8 detector ``bundled-int8`` is installed, ``int8`` and ``gated-int8``) this runs
``gridsight demo`` (:func:`gridsight.commands.demo.run_demo`: the 12 synthetic cameras
of configs/jingqiao.yaml, 360 s of stream, each scene at its demo fps) on *fresh
held-out* worlds (seeds ``SEEDS``, never trained or tuned on: the model saw world seeds
0-374, the accuracy notes used 900000-930000), pools the runs exactly as
``benchmarks/accuracy.py summary`` does, and prints recall and precision per hazard side
by side, plus the inferences per camera-minute each variant needed. Every variant sees
the same worlds, so the differences are the gate's and the model's alone.

Bounded: each demo run renders its frames on the two cores (a few minutes), so the
default is one seed range (12 worlds, about 3 episodes per hazard: a coarse check,
not a tight estimate). ``GRIDSIGHT_BENCH_ACCURACY_SEEDS=950000,960000,970000`` pools
more; ``GRIDSIGHT_BENCH_ACCURACY_FPS=5`` runs every scene at 5 fps (the capacity
benchmark's rate) instead of the demo's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.capacity, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [int(s) for s in os.environ.get("GRIDSIGHT_BENCH_ACCURACY_SEEDS", "950000").split(",") if s]
DURATION_S = float(os.environ.get("GRIDSIGHT_BENCH_ACCURACY_DURATION", "360"))
#: Every scene at this fps instead of the demo's 1-2 fps (e.g. 5, the capacity
#: benchmark's rate, where the gate skips the most frames); unset: the demo's rates.
FPS = float(os.environ.get("GRIDSIGHT_BENCH_ACCURACY_FPS", "0")) or None
VARIANTS: list[tuple[str, bool, str]] = [
    ("before", False, "bundled"),
    ("gated", True, "bundled"),
    ("int8", False, "bundled-int8"),
    ("gated-int8", True, "bundled-int8"),
]
RESULTS: dict[str, dict[str, Any]] = {}


def _detector_available(name: str) -> bool:
    from gridsight.core.plugins import build_plugin_manager, detectors

    spec = detectors(build_plugin_manager()).get(name)
    return spec is not None and Path(spec.path).is_file()


def _summarize(folders: list[Path], out: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import accuracy  # benchmarks/accuracy.py
    finally:
        sys.path.pop(0)
    return dict(accuracy.summarize(folders, out))


@pytest.mark.benchmark(group="capacity-accuracy")
@pytest.mark.parametrize(("variant", "gate", "model"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_accuracy_held_out(benchmark, tmp_path_factory, variant, gate, model) -> None:  # type: ignore[no-untyped-def]
    import json

    from rich.console import Console

    from gridsight.commands.demo import DEMO_FPS, run_demo

    if not _detector_available(model):
        pytest.skip(f"detector {model!r} is not installed")
    out = tmp_path_factory.mktemp(f"acc-{variant}")
    folders: list[Path] = []

    def run_all() -> None:
        for seed in SEEDS:
            folder = out / f"run_{seed}"
            run_demo(
                ROOT / "configs" / "jingqiao.yaml",
                duration=DURATION_S,
                out=folder,
                model=model,
                snapshots=False,
                seeds_from=seed,
                motion_gate=gate,
                fps=dict.fromkeys(DEMO_FPS, FPS) if FPS else None,
                console=Console(quiet=True),
            )
            folders.append(folder)

    benchmark.pedantic(run_all, rounds=1, iterations=1)
    scores = _summarize(folders, out / "accuracy.json")
    reports = [json.loads((f / "demo_report.json").read_text()) for f in folders]
    cams = sum(len(r["cameras"]) for r in reports)
    inferred = sum(r["frames"] for r in reports)
    RESULTS[variant] = {
        "scores": {h: s.to_dict() for h, s in scores.items()},
        "inferences_per_camera_minute": inferred / cams / (DURATION_S / 60.0),
        "gated": sum(r.get("gated", 0) for r in reports),
    }
    benchmark.extra_info.update(RESULTS[variant])


def test_accuracy_side_by_side(bench_report) -> None:  # type: ignore[no-untyped-def]
    """Recall/precision per hazard of every variant next to ``before``."""
    if "before" not in RESULTS:
        pytest.skip("run the whole file: the figures come from the tests above")
    hazards = sorted(RESULTS["before"]["scores"])
    lines = [
        "",
        f"event accuracy on held-out worlds (seeds {', '.join(map(str, SEEDS))}; 12 cameras "
        f"x {DURATION_S:g} s per seed at {f'{FPS:g} fps' if FPS else 'the demo fps'}; "
        "recall / precision (episodes))",
        f"{'variant':<11} {'infer/cam-min':>13}  " + "  ".join(f"{h:>22}" for h in hazards),
    ]
    for variant, _, _ in VARIANTS:
        r = RESULTS.get(variant)
        if r is None:
            lines.append(f"{variant:<11} (not run: detector missing)")
            continue
        cells = []
        for h in hazards:
            s = r["scores"].get(h)
            cells.append(
                f"{s['recall']:.2f} / {s['precision']:.2f} ({s['episodes']:>3})" if s else "-"
            )
        lines.append(
            f"{variant:<11} {r['inferences_per_camera_minute']:13.0f}  "
            + "  ".join(f"{c:>22}" for c in cells)
        )
    print("\n".join(lines))
    bench_report.extend(lines)
