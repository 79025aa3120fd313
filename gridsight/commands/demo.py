"""``gridsight demo`` (what ``make demo`` runs): 12 synthetic cameras, scored against truth.

The demo runs the real engine — synthetic camera threads, batched inference with the
bundled ONNX detector, ByteTrack, zones, the four hazard rules and their lifecycles,
JSONL + SQLite sinks — over the first ``--duration`` seconds of every camera of the
township config, then matches the events to the worlds' ground-truth episodes
(``gridsight.evaluation.scoring``) and prints recall, precision and onset delay per hazard.
The alerts also become work orders (``runs/demo/orders.sqlite``), dispatched over the
config's roster by the same policy the simulator runs, and notified: the outbox relay
posts each notification, signed, to a local webhook receiver
(:mod:`gridsight.commands.demo_notify`; what it accepted goes to
``runs/demo/notifications.jsonl``). The orders table is printed after the scores, with
the worker each order notified and at what delay after the alarm.

Cost control (2 CPU cores, a couple of minutes): the worlds are continuous in time, so
the demo samples each scene at the rate its hazard needs (``DEMO_FPS``): parked cars and
stalls (dwell 120-300 s) at 1 frame/s, people and e-bikes at 2 frames/s. The stream
length (360 s by default) lets the longest default dwell (fire lane, 300 s) elapse after
episodes that begin in the first minute.

Episodes that begin too late in the run for their rule's dwell and confirmation to
elapse before it ends, or that end sooner than that (vending that becomes allowed two
minutes after the stall is set up), cannot be alerted by any engine; they are reported
but not scored (``late``), and an alert raised on one anyway is left out too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from gridsight.commands import options
from gridsight.commands.demo_notify import FLUSH_S, DemoNotifications, format_notices
from gridsight.core.errors import ConfigError
from gridsight.evaluation.scoring import (
    HazardScore,
    Span,
    event_spans,
    format_scores,
    scorable_episodes,
    score_events,
)

if TYPE_CHECKING:
    from gridsight.core.config.camera import CameraConfig
    from gridsight.live import LivePipeline
    from gridsight.orders.config import OrdersConfig

DEFAULT_CONFIG = Path("configs/jingqiao.yaml")
DEFAULT_DURATION_S = 360.0
#: Frames per second the demo samples each synthetic scene at (see the module docstring).
DEMO_FPS: dict[str, float] = {"reservoir": 2.0, "stairwell": 2.0, "fire_lane": 1.0, "street": 1.0}
#: Tolerance either side of an episode when matching events (a frame or two of jitter).
SLACK_S = 2.0


def _required_s(settings: Any) -> float:
    """Seconds a hazard must hold before its rule can start an event."""
    return float(getattr(settings, "confirm_s", 0.0)) + float(getattr(settings, "dwell_s", 0.0))


def run_demo(
    config: Path = DEFAULT_CONFIG,
    *,
    duration: float = DEFAULT_DURATION_S,
    out: Path = Path("runs/demo"),
    backend: str = "auto",
    model: str | None = None,
    fps: dict[str, float] | None = None,
    snapshots: bool = True,
    seeds_from: int | None = None,
    console: Console | None = None,
    motion_gate: bool = False,
) -> dict[str, HazardScore]:
    """Run the demo and return the scores per hazard (also printed).

    ``seeds_from`` replaces the config's world seeds with ``seeds_from + k`` for the k-th
    synthetic camera: held-out worlds nobody tuned or trained on. ``motion_gate`` runs
    the engine with motion-gated inference (``EngineOptions.motion_gate``).
    """
    from gridsight.core.config import load_township
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.evaluation.synthetic import (
        align_synthetic_camera,
        is_synthetic,
        synthetic_truth,
    )
    from gridsight.live import LiveOptions, build_pipeline
    from gridsight.simulator import parse_world_uri

    console = console or Console()
    if not config.exists():
        raise ConfigError(
            f"{config}: no such config; run `gridsight demo` from the repository root or "
            "pass --config"
        )
    pm = build_plugin_manager()
    town = load_township(config, pm)
    rates = {**DEMO_FPS, **(fps or {})}
    cams: list[CameraConfig] = []
    for cam in town.cameras:
        if not is_synthetic(cam):
            console.print(f"[yellow]skipping {cam.id}: not a synthetic camera (no truth)")
            continue
        spec = parse_world_uri(cam.source)
        if seeds_from is not None:
            spec = dataclasses.replace(spec, seed=seeds_from + len(cams))
            cam = cam.model_copy(update={"source": spec.uri()})
        cams.append(align_synthetic_camera(cam, fps=rates.get(spec.scene)))
    if not cams:
        raise ConfigError(f"{config}: no synthetic cameras to run the demo on")

    out.mkdir(parents=True, exist_ok=True)
    alerts, db = out / "alerts.jsonl", out / "alerts.sqlite"
    for stale in (alerts, db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    record = out / "notifications.jsonl"
    record.unlink(missing_ok=True)
    orders_db = out / "orders.sqlite"
    for stale in (orders_db, *(orders_db.with_name(orders_db.name + x) for x in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    notes = DemoNotifications.start(pm, record=record)
    try:
        pipe = build_pipeline(
            town,
            LiveOptions(
                db=str(orders_db),
                duration_s=duration,
                backend=backend,
                model=model,
                alerts=alerts,
                events_db=db,
                snapshots=out / "snapshots" if snapshots else None,
                keep_events=True,
                motion_gate=motion_gate,
                orders_settings=demo_orders_settings(),
            ),
            pm=pm,
            cameras=cams,
            channels=notes.channels,
            ack_secret=notes.secret,
        )
    except BaseException:
        notes.close()
        raise
    engine = pipe.engine
    if engine is None:  # pragma: no cover - a foreground pipeline always has one
        raise ConfigError("the demo's pipeline has no engine")
    console.print(
        f"gridsight demo: {len(cams)} synthetic cameras x {duration:g} s of stream time, "
        f"bundled detector on {getattr(engine.detector, 'backend_name', backend)}, --fast"
    )
    t0 = time.monotonic()
    try:
        summary = _run_engine(pipe, console, duration)
        pipe.drain()  # every event applied to the store before the orders are read
    except BaseException:
        pipe.close(flush_s=0.0)
        notes.close()
        raise
    wall = time.monotonic() - t0

    # Ground truth, minus episodes that began too late in the run to be alertable (an
    # alert the rule still raised for one of them is left out of the score too).
    truth: list[Span] = []
    late_spans: list[Span] = []
    late: dict[str, int] = {}
    for camera in engine.cameras.values():
        spans, _ = synthetic_truth(camera.config, duration)
        need = {r.hazard: _required_s(r.settings) for r in camera.hazards.rules}
        scored, left = scorable_episodes(spans, need, duration, SLACK_S)
        truth += scored
        late_spans += left
        for span in left:
            late[span.hazard] = late.get(span.hazard, 0) + 1
    scores = score_events(
        event_spans(engine.events, stream_end=duration),
        truth,
        slack_s=SLACK_S,
        hazards=sorted({h for p in engine.cameras.values() for h in p.config.hazards}),
        unscored=late_spans,
    )
    console.print(
        f"\n{summary.frames} frames from {len(cams)} cameras in {wall:.1f} s "
        f"({summary.fps:.1f} frames/s); {sum(summary.starts.values())} events started; "
        f"sinks: {alerts}, {db}"
    )
    failing = [c for c in summary.status.components]
    for comp in failing:
        console.print(f"[red]{comp.name}: {comp.errors} errors, last: {comp.last_error}")
    required = {
        r.hazard: _required_s(r.settings) for p in engine.cameras.values() for r in p.hazards.rules
    }
    console.print(
        "\nEvents against the synthetic ground truth (per hazard; delay = event start minus "
        "episode start; dwell = the rule's confirmation + dwell time):"
    )
    console.print(format_scores(scores, required), markup=False, highlight=False, soft_wrap=True)
    if late:
        console.print(
            "not scored (too late in the run, or too short, for the rule's dwell to elapse): "
            + ", ".join(f"{h} {n}" for h, n in sorted(late.items()))
        )
    report = {
        "config": str(config),
        "duration_s": duration,
        "fps": rates,
        "cameras": [c.id for c in cams],
        "sources": [c.source for c in cams],
        "required_s": required,
        "frames": summary.frames,
        "gated": summary.gated,
        "motion_gate": motion_gate,
        "wall_s": round(wall, 2),
        "stages": summary.stages,
        "late_episodes": late,
        "scores": {h: s.to_dict() for h, s in scores.items()},
    }
    report["orders"] = _print_orders(console, pipe, notes)
    (out / "demo_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    console.print(f"report: {out / 'demo_report.json'}")
    return scores


def _run_engine(pipe: LivePipeline, console: Console, duration: float) -> Any:
    """Run the pipeline; on a terminal with the cameras' live table (minutes of work)."""
    if not console.is_terminal:
        return pipe.run()
    from rich.live import Live

    from gridsight.commands.run import status_table

    title = f"gridsight demo — {duration:g} s of stream time per camera"
    with Live(
        get_renderable=lambda: status_table(pipe.camera_status(), title),
        console=console,
        refresh_per_second=2,
        transient=True,
    ):
        return pipe.run()


def demo_orders_settings() -> OrdersConfig:
    """The demo's ``orders:`` settings: every hazard verified automatically.

    The demo has nobody at the command-centre desk, so every hazard is verified
    automatically (in a real deployment only ``near_water`` is, by default); nobody
    acknowledges either, so orders escalate up the tiers every ``ack_timeout_s``. The
    synthetic world's time of day decides who is on shift (the pipeline runs the orders
    on the streams' clock), not the machine's.
    """
    from gridsight.orders.config import HazardOrders, OrdersConfig

    hazards = ("fire_lane", "ebike", "vending", "near_water")
    return OrdersConfig(
        hazards={
            h: HazardOrders(auto_verify=True, priority=20 if h == "near_water" else 10)
            for h in hazards
        }
    )


def _print_orders(console: Console, pipe: LivePipeline, notes: DemoNotifications) -> dict[str, Any]:
    """The orders table (next to the accuracy table), what the demo's webhook receiver got
    (after flushing the outbox), and a summary for the JSON report."""
    from gridsight.commands.orders import orders_table
    from gridsight.orders.views import OrderFilter

    svc, sink = pipe.service, pipe.orders
    if svc is None or sink is None:  # pragma: no cover - the demo always has a store
        raise ConfigError("the demo's pipeline has no work-order store")
    views = list(svc.iter_all(OrderFilter()))[::-1]
    url = svc.store.url.render_as_string(hide_password=True)
    title = f"work orders ({len(views)}) — {url}"
    # "now" on the service's clock (the synthetic world's), as the orders' times are.
    console.print(orders_table(views, svc.clock(), title, width=console.width))
    states: dict[str, int] = {}
    for v in views:
        states[v.state] = states.get(v.state, 0) + 1
    people = sorted({v.assignee for v in views if v.assignee})
    escalated = sum(v.escalations for v in views)
    console.print(
        f"{len(views)} work orders: {', '.join(f'{k} {n}' for k, n in sorted(states.items()))}; "
        f"notified {len(people)} workers of the roster; {escalated} escalations (no "
        f"acknowledgement within {svc.settings.ack_timeout_s:g} s); "
        f"dispatch within {svc.settings.sla.dispatch_s:g} s: "
        f"{sum(v.sla_dispatch == 'met' for v in views)}/{len(views)}. "
        f"See: gridsight orders list --db {url}"
    )
    clock = pipe.stream_clock  # the service ran on the synthetic world's clock
    left = pipe.close(flush_s=FLUSH_S)  # deliver what is due, then stop
    notified = notes.finish(
        views,
        pending=left,
        counts=pipe.notifications.final_counts if pipe.notifications is not None else {},
        to_service_time=clock.at_wall if clock else None,
    )
    for line in format_notices(notified):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    return {
        "db": url,
        "count": len(views),
        "states": states,
        "workers": people,
        "escalations": escalated,
        "dispatch_met": sum(v.sla_dispatch == "met" for v in views),
        "ingest_errors": sink.errors,
        "last_error": sink.last_error,
        "notifications": notified,
    }


@click.command("demo")
@click.option(
    "--config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG, show_default=True
)
@click.option(
    "--duration",
    type=float,
    default=DEFAULT_DURATION_S,
    show_default=True,
    help="Seconds of stream time per camera.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/demo"),
    show_default=True,
    help="Alerts, database, snapshots and report go here.",
)
@options.detector()
@click.option("--no-snapshots", is_flag=True, help="Do not write evidence JPEGs.")
@click.option(
    "--scene-fps",
    "scene_fps",
    multiple=True,
    metavar="SCENE=FPS",
    help="Sampling rate of a scene (repeatable), e.g. stairwell=5.",
)
@click.option(
    "--seeds-from",
    type=int,
    default=None,
    help="Held-out worlds: camera k gets seed N+k instead of the config's.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log warnings to stderr.")
def demo(
    config: Path,
    duration: float,
    out: Path,
    backend: str,
    model: str | None,
    no_snapshots: bool,
    scene_fps: tuple[str, ...],
    seeds_from: int | None,
    verbose: bool,
) -> None:
    """Run the 12 synthetic cameras with the bundled detector and score the events.

    Prints, per hazard, the episodes found against the synthetic ground truth: recall,
    precision (duplicates, false alarms and alerts on near misses count against it) and
    the onset delay from the moment a hazard begins to its event.
    """
    logging.basicConfig(level=logging.WARNING if verbose else logging.ERROR)
    rates: dict[str, float] = {}
    for item in scene_fps:
        scene, _, value = item.partition("=")
        try:
            rates[scene.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: expected SCENE=FPS", param_hint="--scene-fps"
            ) from None
        if scene.strip() not in DEMO_FPS or rates[scene.strip()] <= 0:
            raise click.BadParameter(
                f"{item!r}: scenes are {', '.join(DEMO_FPS)}, fps > 0", param_hint="--scene-fps"
            )
    run_demo(
        config,
        duration=duration,
        out=out,
        backend=backend,
        model=model,
        snapshots=not no_snapshots,
        fps=rates,
        seeds_from=seeds_from,
    )
