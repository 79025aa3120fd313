"""Cameras per box, before and after motion-gated (and int8) inference, side by side.

Run (``make bench`` runs it with the rest; alone)::

    .venv/bin/pytest benchmarks/bench_capacity.py -m capacity -s \
        --benchmark-columns=min,median,mean,rounds

What is measured, all in one process so the ratios are side by side:

``capacity-fast``  the jingqiao cameras, replicated to ``CAMERAS`` (24) cameras, through
    the whole engine in ``--fast`` mode, once per *variant*: ``before`` (no gate, fp32,
    the old thread scheduling: the old behaviour), ``scheduled`` (no gate, fp32, today's
    scheduling: detector threads not spinning, ours nicer), ``gated`` (motion gate,
    fp32), and, when the int8 detector
    ``bundled-int8`` is installed, ``int8`` (no gate) and ``gated-int8``. The figure is
    frames handled per second of wall time (inferred + gated; the median over rounds),
    so ``handled / 5`` is the number of 5 fps cameras the box could carry at that
    load. Also per variant: inference calls per camera-minute (a 5 fps camera without
    the gate: 300).
``capacity-realtime``  the same cameras paced to their clocks (``--realtime``) for
    ``REALTIME_S`` seconds, at several camera counts per variant (a search in steps of
    about a tenth from 3/4 of what the --fast figure says the box carries, up while
    sustained, down while not; ``before`` once more at twice its sustained count, past
    capacity): frames processed, drops, and the fewest/most frames any camera got
    (fairness under overload).
    "Sustained" means no frame dropped after a ``WARMUP_S`` warm-up (the first frame
    of every camera comes at once).

Synthetic cameras are rendered on the same two cores, which real cameras (decoded by
the camera or a video decoder) would not cost: the frames are **pre-rendered** (a
``prerendered://`` source serves them from memory, looping), and the rendering cost is
measured separately and printed, not included. The motion test runs on every frame in
the reader threads and *is* included.

The accuracy side (event recall and precision with and without the gate, and int8) is
``benchmarks/bench_capacity_accuracy.py``.

Environment: ``GRIDSIGHT_BENCH_CAPACITY_FRAMES`` (frames per camera, default 100: 20 s
of stream), ``GRIDSIGHT_BENCH_CAPACITY_CAMERAS`` (default 24),
``GRIDSIGHT_BENCH_REALTIME_S`` (default 20).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from gridsight.core.hookspecs import hookimpl
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions

pytestmark = pytest.mark.capacity

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "jingqiao.yaml"
FPS = 5.0
FRAMES = int(os.environ.get("GRIDSIGHT_BENCH_CAPACITY_FRAMES", "100"))
CAMERAS = int(os.environ.get("GRIDSIGHT_BENCH_CAPACITY_CAMERAS", "24"))
REALTIME_S = float(os.environ.get("GRIDSIGHT_BENCH_REALTIME_S", "20"))
WARMUP_S = 5.0
ROUNDS = 3
#: (variant, motion gate, detector name)
VARIANTS: list[tuple[str, bool, str]] = [
    ("before", False, "bundled"),
    ("scheduled", False, "bundled"),
    ("gated", True, "bundled"),
    ("int8", False, "bundled-int8"),
    ("gated-int8", True, "bundled-int8"),
]
#: Camera counts tried in realtime, per variant.
#: Engine options per variant beyond the defaults. ``before`` is the engine as it was:
#: onnxruntime's threads spinning, our Python threads at the detector's priority. Every
#: other variant has today's defaults (no spinning, ``pipeline_nice`` 10; see
#: ``gridsight.core.engine.priority``); ``scheduled`` is that change alone.
OLD_SCHEDULING: dict[str, Any] = {"pipeline_nice": 0, "backend_options": {"allow_spinning": True}}
SCHEDULING: dict[str, dict[str, Any]] = {"before": OLD_SCHEDULING}
#: The realtime search: camera counts in steps of about a tenth (at least STEP), from
#: about START_SHARE of what the --fast run says the box could carry, up while
#: sustained, down while not, up to MAX_CAMERAS.
STEP = 6
#: Frames between the starting points of two replicas of a base camera (realtime).
REPLICA_OFFSET = 37
START_SHARE = 0.75
MAX_CAMERAS = 300
RESULTS: dict[str, dict[str, Any]] = {}


# ====================================================================== sources
class _Looping(FrameSource):
    """Pre-rendered frames served from memory at stream times ``i / fps``, looping; frame
    ``i`` shows pre-rendered frame ``(i + offset) % n``."""

    def __init__(
        self, uri: str, frames: list[np.ndarray], fps: float, loop: bool, offset: int = 0
    ) -> None:
        self.uri = uri
        self._frames = frames
        self._fps = fps
        self._loop = loop
        self._offset = offset
        self._i = 0

    @property
    def fps(self) -> float:
        return self._fps

    def read(self) -> Frame | None:
        if not self._loop and self._i >= len(self._frames):
            return None
        i = self._i
        self._i += 1
        return Frame(self._frames[(i + self._offset) % len(self._frames)], i / self._fps, i)


class PrerenderedPlugin:
    """``prerendered://<base camera id>?loop=1&offset=K`` over a dict of frame lists."""

    def __init__(self, frames: dict[str, list[np.ndarray]]) -> None:
        self.frames = frames

    @hookimpl
    def gridsight_open_source(self, uri: str, options: SourceOptions) -> FrameSource | None:
        if not uri.startswith("prerendered://"):
            return None
        parts = urlsplit(uri)
        query = parse_qs(parts.query)
        loop = query.get("loop", ["0"])[0] == "1"
        offset = int(query.get("offset", ["0"])[0])
        return _Looping(uri, self.frames[parts.netloc], FPS, loop, offset)

    @hookimpl
    def gridsight_register_source_schemes(self) -> list[str]:
        return ["prerendered"]


# ====================================================================== fixtures
@pytest.fixture(scope="module")
def prerendered() -> tuple[list[Any], dict[str, list[np.ndarray]], float]:
    """The 12 jingqiao cameras (aligned to their synthetic worlds) and FRAMES consecutive
    frames of each at 5 fps; also the rendering cost per frame (seconds)."""
    from gridsight.core.config import load_township
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.evaluation.synthetic import align_synthetic_camera
    from gridsight.simulator import open_world

    pm = build_plugin_manager()
    town = load_township(CONFIG, pm)
    cams = [align_synthetic_camera(c) for c in town.cameras]
    frames: dict[str, list[np.ndarray]] = {}
    t0 = time.perf_counter()
    for cam in cams:
        world = open_world(cam.source)
        frames[cam.id] = [world.render(i)[0] for i in range(FRAMES)]
    render_s = (time.perf_counter() - t0) / (len(cams) * FRAMES)
    return cams, frames, render_s


def _detector_available(name: str) -> bool:
    from gridsight.core.plugins import build_plugin_manager, detectors

    spec = detectors(build_plugin_manager()).get(name)
    return spec is not None and Path(spec.path).is_file()


def _cameras(base: list[Any], n: int, loop: bool) -> list[Any]:
    """``n`` cameras: the base cameras round-robin, each replica with its own id.

    Looping (realtime) replicas start at different points of their base camera's
    frames: replicas in lockstep would all see the same motion at the same instant, a
    load in pulses that independent cameras never make (it matters to the motion gate,
    whose load follows motion; an ungated camera costs the same every frame)."""
    out = []
    for k in range(n):
        cam = base[k % len(base)]
        replica = k // len(base)
        offset = (replica * REPLICA_OFFSET) % FRAMES
        source = f"prerendered://{cam.id}" + (f"?loop=1&offset={offset}" if loop else "")
        out.append(cam.model_copy(update={"id": f"{cam.id}-r{replica}", "source": source}))
    return out


def _engine(cams: list[Any], frames: Any, variant: str, gate: bool, model: str, **opts: Any) -> Any:
    from gridsight.core.engine import Engine, EngineOptions
    from gridsight.core.plugins import build_plugin_manager

    pm = build_plugin_manager(plugins=[PrerenderedPlugin(frames)])
    opts = {**SCHEDULING.get(variant, {}), **opts}
    options = EngineOptions(run_id="capacity", motion_gate=gate, **opts)
    return Engine(cams, pm, backend="onnxruntime", model=model, options=options)


# ====================================================================== fast mode
@pytest.mark.benchmark(group="capacity-fast")
@pytest.mark.parametrize(("variant", "gate", "model"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_capacity_fast(benchmark, prerendered, variant, gate, model) -> None:  # type: ignore[no-untyped-def]
    if not _detector_available(model):
        pytest.skip(f"detector {model!r} is not installed")
    base, frames, render_s = prerendered
    cams = _cameras(base, CAMERAS, loop=False)
    summaries: list[Any] = []

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        return (_engine(cams, frames, variant, gate, model),), {}

    def run(engine: Any) -> Any:
        summary = engine.run()
        summaries.append(summary)
        return summary

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, warmup_rounds=0)
    total = CAMERAS * FRAMES
    for s in summaries:
        assert s.frames + s.gated == total, "every frame is inferred or gated, none lost"
    median_s = benchmark.stats.stats.median
    inferred = statistics.median(s.frames for s in summaries)
    minutes = FRAMES / FPS / 60.0
    result = {
        "handled_fps": total / median_s,
        "cameras_at_5fps": total / median_s / FPS,
        "inferences_per_camera_minute": inferred / CAMERAS / minutes,
        "inferred_share": inferred / total,
        "render_ms_per_frame": 1000 * render_s,
        "stages_mean_ms": {k: round(v["mean_ms"], 3) for k, v in summaries[-1].stages.items()},
    }
    RESULTS.setdefault(variant, {}).update(result)
    benchmark.extra_info.update({k: v for k, v in result.items() if k != "stages_mean_ms"})


# ====================================================================== realtime
def _realtime_run(
    cams: list[Any], frames: Any, variant: str, gate: bool, model: str
) -> dict[str, Any]:
    """One realtime run: processed frames, drops (all and after the warm-up), fairness."""
    import threading

    engine = _engine(cams, frames, variant, gate, model, realtime=True, duration_s=REALTIME_S)
    warm: dict[str, int] = {}

    def mark() -> None:
        time.sleep(WARMUP_S)
        engine._sync_status()
        warm.update({c.camera: c.drops for c in engine.status().cameras})

    marker = threading.Thread(target=mark, daemon=True)
    marker.start()
    summary = engine.run()
    marker.join(timeout=1.0)
    per_cam = [c.frames + c.gated for c in summary.status.cameras]
    inferred = [c.frames for c in summary.status.cameras]
    drops = sum(c.drops for c in summary.status.cameras)
    late_drops = sum(c.drops - warm.get(c.camera, 0) for c in summary.status.cameras)
    return {
        "cameras": len(cams),
        "wall_s": round(summary.wall_s, 1),
        "inferred_fps": round(summary.frames / summary.wall_s, 1),
        "handled_fps": round(sum(per_cam) / summary.wall_s, 1),
        "offered_fps": len(cams) * FPS,
        "drops": drops,
        "drops_after_warmup": late_drops,
        "min_cam_frames": min(inferred),
        "max_cam_frames": max(inferred),
        "sustained": late_drops == 0,
    }


def search_ladder(estimate: float | None, run: Any) -> list[int]:
    """The camera counts tried in realtime: from ``START_SHARE`` of the --fast estimate
    (12 without one), in steps of about a tenth of the count (at least ``STEP``), up
    while ``run(n)["sustained"]``, down while not; the counts in the order run."""
    n = STEP * max(1, round(START_SHARE * estimate / STEP)) if estimate else 2 * STEP
    tried: list[int] = []
    first = run(n)["sustained"]
    tried.append(n)
    direction = 1 if first else -1
    while True:
        step = STEP * max(1, n // (10 * STEP))  # about a tenth of the count
        if not STEP <= n + direction * step <= MAX_CAMERAS:
            break
        n += direction * step
        tried.append(n)
        if run(n)["sustained"] != first:
            break
    return tried


@pytest.mark.benchmark(group="capacity-realtime")
@pytest.mark.parametrize(("variant", "gate", "model"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_capacity_realtime(benchmark, prerendered, variant, gate, model) -> None:  # type: ignore[no-untyped-def]
    if not _detector_available(model):
        pytest.skip(f"detector {model!r} is not installed")
    base, frames, _ = prerendered
    runs: list[dict[str, Any]] = []

    def run(n: int) -> dict[str, Any]:
        runs.append(_realtime_run(_cameras(base, n, loop=True), frames, variant, gate, model))
        return runs[-1]

    def ladder() -> None:
        search_ladder(RESULTS.get(variant, {}).get("cameras_at_5fps"), run)
        if variant == "before":
            # Past capacity: does throughput hold (no collapse), is the loss shared fairly?
            best = max((r["cameras"] for r in runs if r["sustained"]), default=STEP)
            run(min(MAX_CAMERAS, 2 * best))

    benchmark.pedantic(ladder, rounds=1, iterations=1)
    sustained = [r["cameras"] for r in runs if r["sustained"]]
    RESULTS.setdefault(variant, {})["realtime"] = runs
    RESULTS[variant]["sustained_cameras"] = max(sustained) if sustained else 0
    benchmark.extra_info["runs"] = runs
    for r in runs:
        assert r["min_cam_frames"] > 0, "a camera got no frame at all: starvation"


# ====================================================================== the table
def test_capacity_side_by_side(prerendered, bench_report) -> None:  # type: ignore[no-untyped-def]
    """Prints the before/after figures of this run (needs the tests above to have run)."""
    if "before" not in RESULTS:
        pytest.skip("run the whole file: the figures come from the tests above")
    _, _, render_s = prerendered
    before = RESULTS["before"]
    lines = [
        "",
        f"camera capacity on this box ({os.cpu_count()} cores; frames pre-rendered, "
        f"rendering {1000 * render_s:.1f} ms/frame not included; {CAMERAS} cameras x "
        f"{FRAMES} frames in --fast, medians of {ROUNDS}; realtime {REALTIME_S:g} s per "
        f"count, drops counted after a {WARMUP_S:g} s warm-up)",
        f"{'variant':<11} {'handled/s':>9} {'5fps cams':>9} {'x before':>8} "
        f"{'infer/cam-min':>13} {'sustained rt':>12}  realtime runs (cams: handled/s, drops, "
        "min-max frames per camera)",
    ]
    for variant, _, _ in VARIANTS:
        r = RESULTS.get(variant)
        if not r or "handled_fps" not in r:
            lines.append(f"{variant:<11} (not run: detector missing)")
            continue
        runs = ", ".join(
            f"{x['cameras']}: {x['handled_fps']:.0f}/s, {x['drops_after_warmup']} drops, "
            f"{x['min_cam_frames']}-{x['max_cam_frames']}"
            for x in r.get("realtime", [])
        )
        lines.append(
            f"{variant:<11} {r['handled_fps']:9.1f} {r['cameras_at_5fps']:9.1f} "
            f"{r['handled_fps'] / before['handled_fps']:8.2f} "
            f"{r['inferences_per_camera_minute']:13.0f} {r.get('sustained_cameras', 0):12d}  "
            + runs
        )
    best = max(
        ((r["sustained_cameras"], v) for v, r in RESULTS.items() if "sustained_cameras" in r),
        default=(0, "-"),
    )
    if before.get("sustained_cameras"):
        lines.append(
            f"sustained in realtime: {before['sustained_cameras']} cameras before, "
            f"{best[0]} with {best[1]} ({best[0] / before['sustained_cameras']:.1f}x; goal 4x)"
        )
    print("\n".join(lines))
    bench_report.extend(lines)
