"""Event accuracy on held-out synthetic seeds, aggregated over several ``gridsight demo`` runs.

One demo run (12 cameras x 360 s) holds about three episodes per hazard: too few to
claim a recall or precision of 0.95. This script pools several runs on disjoint
held-out seed ranges (the bundled model was trained on world seeds 0-374) and prints,
per hazard, episodes, recall, precision, near-miss alerts and the onset delay against
the rule's dwell; then every missed episode and every event that was not the first
alert of an episode, so each can be diagnosed.

Run the demos and aggregate (each run takes a few minutes on two cores)::

    nice .venv/bin/python benchmarks/accuracy.py run --seeds-from 900000 910000 920000 \
        930000 --out /tmp/acc

Aggregate demo output folders that already exist (``gridsight demo --seeds-from N
--out DIR`` writes ``demo_report.json`` and ``alerts.jsonl`` there)::

    .venv/bin/python benchmarks/accuracy.py summary /tmp/acc/run_*

Look at one episode frame by frame (detector, tracker, what the rule sees)::

    .venv/bin/python benchmarks/accuracy.py probe "synthetic://street?seed=900010&fps=1" \
        --start 40 --end 200

Scoring is :func:`gridsight.evaluation.scoring.score_events` on the pooled events and
truth, exactly as ``gridsight demo`` scores one run (episodes that began too late for the
rule's dwell to elapse are left out, as there). ``summary`` also writes
``accuracy.json`` next to the first folder's parent (or ``--json PATH``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gridsight.commands.demo import SLACK_S
from gridsight.evaluation.scoring import (
    HazardScore,
    Span,
    event_spans,
    format_scores,
    scorable_episodes,
    score_events,
)

#: An alert later than the rule's dwell by more than this is listed for diagnosis.
SLOW_S = 10.0


def _truth(camera: str, uri: str, duration: float) -> tuple[list[Span], dict[str, Any]]:
    from gridsight.evaluation.synthetic import world_truth

    return world_truth(camera, uri, duration)


def load_run(folder: Path) -> dict[str, Any]:
    """One demo folder: its report, events (spans and dicts) and scorable truth."""
    report = json.loads((folder / "demo_report.json").read_text(encoding="utf-8"))
    duration = float(report["duration_s"])
    raw = [
        json.loads(line)
        for line in (folder / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    run = folder.name
    # Camera ids repeat across runs: prefix them with the run so they never pool.
    for ev in raw:
        ev["camera"] = f"{run}/{ev['camera']}"
    required = {h: float(v) for h, v in report["required_s"].items()}
    truth: list[Span] = []
    late: list[Span] = []
    worlds: dict[str, dict[str, Any]] = {}
    for cam, uri in zip(report["cameras"], report["sources"], strict=True):
        spans, facts = _truth(f"{run}/{cam}", uri, duration)
        worlds[f"{run}/{cam}"] = facts
        keep, left = scorable_episodes(spans, required, duration, SLACK_S)
        truth += keep
        late += left
    return {
        "run": run,
        "duration": duration,
        "required": required,
        "events": event_spans(raw, stream_end=duration),
        "raw": raw,
        "truth": truth,
        "late": late,
        "worlds": worlds,
    }


def _overlaps(a: Span, b: Span) -> bool:
    return a.start <= b.end + SLACK_S and b.start <= a.end + SLACK_S


def summarize(folders: Sequence[Path], out_json: Path | None) -> dict[str, HazardScore]:
    runs = [load_run(f) for f in folders]
    events = [e for r in runs for e in r["events"]]
    truth = [t for r in runs for t in r["truth"]]
    required: dict[str, float] = {}
    for r in runs:
        required.update(r["required"])
    worlds = {k: v for r in runs for k, v in r["worlds"].items()}
    late_spans = [t for r in runs for t in r["late"]]
    scores = score_events(
        events, truth, slack_s=SLACK_S, hazards=sorted(required), unscored=late_spans
    )
    print(f"{len(runs)} runs: {', '.join(r['run'] for r in runs)}")
    print(format_scores(scores, required))
    late: dict[str, int] = {}
    for r in runs:
        for s in r["late"]:
            late[s.hazard] = late.get(s.hazard, 0) + 1
    if late:
        print(
            "not scored (too late in the run, or too short, for the rule's dwell): "
            + ", ".join(f"{h} {n}" for h, n in late.items())
        )
    print("\nonset delay minus dwell (s), per episode:")
    for h, s in scores.items():
        extra = [round(d - required.get(h, 0.0), 1) for d in sorted(s.onset_delays)]
        print(f"  {h:<11} {extra}")

    # Every miss and every event that was not the first alert of an episode.
    conf = {
        str(e["id"]): e.get("confidence") for r in runs for e in r["raw"] if e["phase"] == "start"
    }
    problems: list[dict[str, Any]] = []
    real = [t for t in truth if not t.near_miss]
    for ep in real:
        if not any(
            e.camera == ep.camera and e.hazard == ep.hazard and _overlaps(e, ep) for e in events
        ):
            w = worlds[ep.camera]
            problems.append(
                {
                    "kind": "missed",
                    "camera": ep.camera,
                    "hazard": ep.hazard,
                    "start": ep.start,
                    "end": ep.end,
                    "uri": w["uri"],
                    "lighting": w["lighting"],
                    "clock_start": w["clock_start"],
                }
            )
    for ev in events:
        mine = [t for t in truth if t.camera == ev.camera and t.hazard == ev.hazard]
        hits = [t for t in mine if not t.near_miss and _overlaps(ev, t)]
        first = hits and not any(
            e.start < ev.start and _overlaps(e, t)
            for t in hits
            for e in events
            if e.camera == ev.camera and e.hazard == ev.hazard
        )
        if first:
            delay = ev.start - min(t.start for t in hits)
            if delay - required.get(ev.hazard, 0.0) > SLOW_S:
                w = worlds[ev.camera]
                problems.append(
                    {
                        "kind": "slow",
                        "camera": ev.camera,
                        "hazard": ev.hazard,
                        "episode_start": min(t.start for t in hits),
                        "start": ev.start,
                        "delay_over_dwell_s": round(delay - required.get(ev.hazard, 0.0), 1),
                        "uri": w["uri"],
                        "lighting": w["lighting"],
                    }
                )
            continue
        if not hits and any(
            t.camera == ev.camera and t.hazard == ev.hazard and _overlaps(ev, t) for t in late_spans
        ):
            continue  # the alert of an episode too late to score
        near = [t for t in mine if t.near_miss and _overlaps(ev, t)]
        kind = "duplicate" if hits else "near_miss_alert" if near else "false_alarm"
        w = worlds[ev.camera]
        problems.append(
            {
                "kind": kind,
                "camera": ev.camera,
                "hazard": ev.hazard,
                "start": ev.start,
                "end": ev.end,
                "event": ev.id,
                "confidence": conf.get(ev.id),
                "near_miss": [t.id for t in near],
                "uri": w["uri"],
                "lighting": w["lighting"],
                "clock_start": w["clock_start"],
            }
        )
    if problems:
        print("\nto diagnose:")
        for p in problems:
            print("  " + json.dumps(p, ensure_ascii=False))
    else:
        print("\nno misses, duplicates, false alarms or near-miss alerts")
    out = {
        "runs": [
            {"folder": str(f), "duration_s": r["duration"]}
            for f, r in zip(folders, runs, strict=True)
        ],
        "required_s": required,
        "scores": {
            h: {**s.to_dict(), "onset_delays_s": [round(d, 3) for d in s.onset_delays]}
            for h, s in scores.items()
        },
        "late_episodes": late,
        "problems": problems,
        "lighting": _lighting_counts(real, worlds),
    }
    path = out_json or folders[0].parent / "accuracy.json"
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwritten: {path}")
    return scores


def _lighting_counts(
    real: list[Span], worlds: dict[str, dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """Episodes per hazard and lighting (dusk and night are where the detector is weakest)."""
    out: dict[str, dict[str, int]] = {}
    for ep in real:
        light = worlds[ep.camera]["lighting"]
        out.setdefault(ep.hazard, {})
        out[ep.hazard][light] = out[ep.hazard].get(light, 0) + 1
    return out


def run_all(seeds: Sequence[int], out: Path, duration: float | None) -> None:
    from gridsight.commands.demo import DEFAULT_DURATION_S, run_demo

    folders = []
    for seed in seeds:
        folder = out / f"run_{seed}"
        run_demo(
            duration=duration or DEFAULT_DURATION_S,
            out=folder,
            snapshots=False,
            seeds_from=seed,
        )
        folders.append(folder)
    summarize(folders, out / "accuracy.json")


def probe(
    uri: str, start: float, end: float, warmup: float, model: str | None, min_conf: float = 0.35
) -> None:
    """Frame by frame over ``[start, end]``: each truth object of the episode and near
    misses, the best-matching raw detection (class, score, IoU) and whether the tracker
    outputs it (what the rules see); then per object how many frames a rule could use
    (same-class detection at ``min_conf`` or more, tracked) and the longest gap."""
    from gridsight.core.detection.detector import Detector
    from gridsight.core.detection.geometry import box_iou
    from gridsight.core.detection.roles import Role
    from gridsight.core.engine import resolve_model
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.core.tracking.bytetrack import ByteTracker
    from gridsight.simulator import World, parse_world_uri

    spec = parse_world_uri(uri)
    world = World(spec)
    episodes, near = world.labels(end)
    watch: dict[int, str] = {}
    for label in [*episodes, *near]:
        if float(label["start"]) <= end and float(label["end"]) >= start:
            for tid in label.get("track_ids", []):
                watch[int(tid)] = str(label.get("hazard", label.get("kind")))
    print(json.dumps(world.describe()))
    print("labels:", json.dumps([*episodes, *near]))
    pm = build_plugin_manager()
    path, det_spec = resolve_model(model, pm)
    detector = (
        Detector.from_spec(det_spec, "onnxruntime", conf=0.1, iou=0.45, pm=pm)
        if det_spec is not None
        else Detector(path, "onnxruntime", conf=0.1, iou=0.45, pm=pm)
    )
    tracker = ByteTracker()
    # Per truth object: (frames seen, same-class >= min_conf, tracked, usable times).
    tally: dict[str, list[Any]] = {}
    t = max(0.0, start - warmup)
    step = 1.0 / spec.fps
    index = round(t * spec.fps)
    while t <= end + 1e-9:
        image, truth = world.render_at(t, index)
        dets = detector.detect([image])[0]
        tracked = tracker.update(dets, t)
        if t >= start:
            # The labelled objects, and any person standing by one (a stall's vendor is
            # part of the episode but not in its label's track ids).
            shown = np.isin(truth.track_ids, list(watch))
            person = truth.roles == int(Role.PERSON)
            for b in truth.boxes[shown]:
                margin = b[2] - b[0]
                ax, ay = (truth.boxes[:, 0] + truth.boxes[:, 2]) / 2, truth.boxes[:, 3]
                shown |= (
                    person
                    & (ax >= b[0] - margin)
                    & (ax <= b[2] + margin)
                    & (ay >= b[1] - margin)
                    & (ay <= b[3] + margin)
                )
            for k in np.flatnonzero(shown):
                tid = int(truth.track_ids[k])
                role = Role(int(truth.roles[k])).label
                row = f"t={t:6.1f} truth#{tid} {role:<9} vis={truth.visible[k]:.2f} "
                seen = tally.setdefault(f"truth#{tid} {role}", [0, 0, 0, []])
                seen[0] += 1
                box = truth.boxes[k : k + 1]
                w, h = box[0, 2] - box[0, 0], box[0, 3] - box[0, 1]
                row += f"{w:3.0f}x{h:3.0f}px  "
                if len(dets):
                    iou = box_iou(box, dets.xyxy)[0]
                    j = int(np.argmax(iou))
                    row += (
                        f"best det: {Role(int(dets.class_id[j])).label} "
                        f"conf={dets.confidence[j]:.2f} iou={iou[j]:.2f}"
                    )
                    same = [
                        i for i in np.flatnonzero(iou >= 0.3) if dets.class_id[i] == truth.roles[k]
                    ]
                    if same:
                        i = max(same, key=lambda i: dets.confidence[i])
                        row += f" | same-class conf={dets.confidence[i]:.2f}"
                        seen[1] += int(dets.confidence[i] >= min_conf)
                    tiou = box_iou(box, tracked.xyxy)[0] if len(tracked) else np.zeros(0)
                    hit = [
                        i
                        for i in np.flatnonzero(tiou >= 0.3)
                        if tracked.class_id[i] == truth.roles[k]
                    ]
                    ids = tracked.tracker_id
                    if hit:
                        seen[2] += 1
                        if tracked.confidence[hit[0]] >= min_conf:
                            seen[3].append(t)
                    row += " | tracked: " + (
                        f"id {ids[hit[0]]}" if hit and ids is not None else "no"
                    )
                else:
                    row += "no detections"
                print(row)
        t = round(t + step, 6)
        index += 1
    detector.close()
    print(f"\nper object over [{start:g}, {end:g}] s (usable = tracked at >= {min_conf:g}):")
    for name, (n, conf_ok, tracked_n, usable) in tally.items():
        times = [start, *usable, end]
        gap = max(b - a for a, b in itertools.pairwise(times))
        print(
            f"  {name:<20} frames {n:4d}  detected >= {min_conf:g}: {conf_ok:4d}  "
            f"tracked: {tracked_n:4d}  usable: {len(usable):4d}  longest gap {gap:.0f} s"
        )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run gridsight demo per seed range, then aggregate")
    r.add_argument("--seeds-from", type=int, nargs="+", required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--duration", type=float, default=None)
    s = sub.add_parser("summary", help="aggregate existing demo output folders")
    s.add_argument("folders", type=Path, nargs="+")
    s.add_argument("--json", type=Path, default=None)
    p = sub.add_parser("probe", help="one world, frame by frame: truth vs detector vs tracker")
    p.add_argument("uri")
    p.add_argument("--start", type=float, required=True)
    p.add_argument("--end", type=float, required=True)
    p.add_argument("--warmup", type=float, default=10.0, help="track this long before --start")
    p.add_argument("--model", default=None)
    p.add_argument("--min-conf", type=float, default=0.35, help="the rule's min_confidence")
    a = ap.parse_args(argv)
    if a.cmd == "run":
        run_all(a.seeds_from, a.out, a.duration)
    elif a.cmd == "summary":
        summarize(a.folders, a.json)
    else:
        probe(a.uri, a.start, a.end, a.warmup, a.model, a.min_conf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
