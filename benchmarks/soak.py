"""Soak: the 12 synthetic cameras in realtime for a long run; memory, threads, descriptors.

Runs the engine exactly as ``gridsight run --realtime`` does on ``configs/jingqiao.yaml``
(12 synthetic cameras, the bundled detector) for ``--minutes`` (default 60), samples the
process every ``--every`` seconds, and reports:

- RSS at the end of the warm-up (``--warmup`` minutes) and at the end, the growth in
  percent, and the least-squares slope of RSS over the post-warm-up samples (MB/hour);
- OS threads (``/proc/self/task``) and open file descriptors (``/proc/self/fd``) after
  the warm-up, at the end of the run (engine still running), and after the engine has
  stopped (what a leak would leave behind);
- frames processed and dropped per camera, and the engine's fps.

The issue's goal is RSS growth <= 5 % after warm-up and no thread or descriptor leak.

    .venv/bin/python benchmarks/soak.py --minutes 60 --out runs/soak.json

Linux only (reads ``/proc``). Not collected by pytest (no ``bench_`` prefix): it runs for
as long as it is told, which no test suite should.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Sample:
    t_s: float
    rss_mb: float
    threads: int
    fds: int
    frames: int


def rss_mb() -> float:
    """Resident set size of this process, MB (from /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def slope_mb_per_h(samples: list[Sample]) -> float:
    """Least-squares slope of RSS over time, MB per hour."""
    if len(samples) < 2:
        return 0.0
    ts = [s.t_s for s in samples]
    rs = [s.rss_mb for s in samples]
    mt, mr = sum(ts) / len(ts), sum(rs) / len(rs)
    var = sum((t - mt) ** 2 for t in ts)
    if var == 0:
        return 0.0
    return 3600.0 * sum((t - mt) * (r - mr) for t, r in zip(ts, rs, strict=True)) / var


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "jingqiao.yaml"))
    ap.add_argument("--minutes", type=float, default=60.0, help="run length (default 60)")
    ap.add_argument("--warmup", type=float, default=None, help="minutes (default: 10%% of run)")
    ap.add_argument("--every", type=float, default=15.0, help="seconds between samples")
    ap.add_argument("--motion-gate", action="store_true", help="run with the motion gate")
    ap.add_argument("--out", type=Path, help="write the samples and summary as JSON")
    args = ap.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("soak.py reads /proc: Linux only", file=sys.stderr)
        return 2

    from gridsight.core.config import load_township
    from gridsight.core.engine import Engine, EngineOptions
    from gridsight.core.plugins import build_plugin_manager

    duration = args.minutes * 60.0
    warmup = (args.warmup if args.warmup is not None else args.minutes * 0.1) * 60.0
    pm = build_plugin_manager()
    town = load_township(args.config, pm)
    options = EngineOptions(realtime=True, duration_s=duration, motion_gate=args.motion_gate)
    engine = Engine(town, pm, options=options)
    start = Sample(0.0, rss_mb(), os_threads(), open_fds(), 0)
    samples: list[Sample] = []
    done = threading.Event()
    t0 = time.monotonic()

    def sampler() -> None:
        while not done.wait(args.every):
            frames = sum(c.frames for c in engine.status().cameras)
            samples.append(
                Sample(time.monotonic() - t0, rss_mb(), os_threads(), open_fds(), frames)
            )

    thread = threading.Thread(target=sampler, name="soak-sampler", daemon=True)
    thread.start()
    summary = engine.run()
    done.set()
    thread.join(5)
    time.sleep(1.0)  # reader threads were joined by run(); let daemon stragglers finish
    stopped = Sample(time.monotonic() - t0, rss_mb(), os_threads(), open_fds(), summary.frames)

    after_warmup = [s for s in samples if s.t_s >= warmup]
    if len(after_warmup) < 2:
        print(f"run too short for a {warmup:.0f} s warm-up + 2 samples", file=sys.stderr)
        return 2
    first, last = after_warmup[0], after_warmup[-1]
    growth = 100.0 * (last.rss_mb - first.rss_mb) / first.rss_mb
    peak = max(s.rss_mb for s in after_warmup)
    cams = summary.status.cameras
    result = {
        "minutes": args.minutes,
        "warmup_minutes": warmup / 60.0,
        "cameras": len(cams),
        "motion_gate": args.motion_gate,
        "rss_mb": {
            "start": round(start.rss_mb, 1),
            "after_warmup": round(first.rss_mb, 1),
            "end": round(last.rss_mb, 1),
            "peak_after_warmup": round(peak, 1),
            "after_stop": round(stopped.rss_mb, 1),
            "growth_pct_after_warmup": round(growth, 2),
            "slope_mb_per_hour": round(slope_mb_per_h(after_warmup), 2),
        },
        "threads": {
            "start": start.threads,
            "after_warmup": first.threads,
            "end": last.threads,
            "after_stop": stopped.threads,
        },
        "fds": {
            "start": start.fds,
            "after_warmup": first.fds,
            "end": last.fds,
            "after_stop": stopped.fds,
        },
        "frames": summary.frames,
        "fps": round(summary.fps, 2),
        "per_camera": {
            c.camera: {"frames": c.frames, "drops": c.drops, "errors": c.errors} for c in cams
        },
        "goal_rss_growth_le_5pct": growth <= 5.0,
        "samples": [asdict(s) for s in samples],
    }
    r, th, fd = result["rss_mb"], result["threads"], result["fds"]
    print(f"soak: {len(cams)} cameras, realtime, {args.minutes:g} min (warm-up {warmup / 60:g})")
    print(
        f"  RSS MB    start {r['start']}  after warm-up {r['after_warmup']}  end {r['end']}  "
        f"peak {r['peak_after_warmup']}  after stop {r['after_stop']}"
    )
    print(
        f"  RSS growth after warm-up {r['growth_pct_after_warmup']:+.2f} %  "
        f"(slope {r['slope_mb_per_hour']:+.1f} MB/h)  goal <= 5 %: "
        f"{'met' if result['goal_rss_growth_le_5pct'] else 'MISSED'}"
    )
    print(
        f"  threads   start {th['start']}  after warm-up {th['after_warmup']}  end {th['end']}  "
        f"after stop {th['after_stop']}"
    )
    print(
        f"  open fds  start {fd['start']}  after warm-up {fd['after_warmup']}  end {fd['end']}  "
        f"after stop {fd['after_stop']}"
    )
    drops = sum(c.drops for c in cams)
    print(f"  frames {summary.frames} ({summary.fps:.1f}/s), dropped {drops}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(f"  wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
