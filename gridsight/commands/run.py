"""``gridsight run``: run the engine on a township config's cameras, with a live status table."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gridsight.commands import options
from gridsight.commands.notify_option import notify_option
from gridsight.core.engine import EngineSummary
from gridsight.core.engine.status import EngineStatus
from gridsight.core.errors import ConfigError

DEFAULT_CONFIG = Path("configs/jingqiao.yaml")

_STATE_STYLE = {
    "running": "green",
    "starting": "cyan",
    "retrying": "yellow",
    "failed": "bold red",
    "ended": "dim",
    "stopped": "dim",
}


def status_table(status: EngineStatus, title: str = "gridsight") -> Group:
    """The live view: one row per camera, then any failing sink/plugin."""
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    for name, justify in (
        ("camera", "left"),
        ("state", "left"),
        ("t (s)", "right"),
        ("fps", "right"),
        ("frames", "right"),
        ("drops", "right"),
        ("events", "right"),
        ("reconn", "right"),
        ("last error", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "last error")  # type: ignore[arg-type]
    for cam in status.cameras:
        table.add_row(
            cam.camera,
            Text(cam.state, style=_STATE_STYLE.get(cam.state, "")),
            f"{cam.stream_ts:.1f}",
            f"{cam.fps:.1f}",
            str(cam.frames),
            str(cam.drops),
            str(cam.events),
            str(cam.reconnects),
            Text((cam.last_error or "")[:70], style="red" if cam.last_error else ""),
        )
    parts: list[Table | Text] = [table]
    if status.components:
        comps = Table(title="failing components", title_justify="left")
        comps.add_column("name")
        comps.add_column("errors", justify="right")
        comps.add_column("last error")
        for comp in status.components:
            comps.add_row(comp.name, str(comp.errors), (comp.last_error or "")[:90])
        parts.append(comps)
    parts.append(Text(f"run {status.run_id}  elapsed {status.elapsed_s:.0f} s", style="dim"))
    return Group(*parts)


def summary_tables(summary: EngineSummary) -> Group:
    """End-of-run summary: per camera and hazard, and per pipeline stage."""
    events = Table(title="events started, per camera and hazard", title_justify="left")
    events.add_column("camera")
    events.add_column("hazard")
    events.add_column("starts", justify="right")
    events.add_column("frames", justify="right")
    events.add_column("drops", justify="right")
    events.add_column("state")
    for cam in summary.status.cameras:
        seen = {h for (c, h) in summary.starts if c == cam.camera}
        hazards = sorted(seen | set(summary.hazards.get(cam.camera, ()))) or ["-"]
        for h in hazards:
            events.add_row(
                cam.camera,
                h,
                str(summary.starts.get((cam.camera, h), 0)),
                str(cam.frames),
                str(cam.drops),
                cam.state,
            )
    per_hazard: dict[str, int] = {h: 0 for hs in summary.hazards.values() for h in hs}
    for (_, h), n in summary.starts.items():
        per_hazard[h] = per_hazard.get(h, 0) + n
    totals = Table(title="events started, per hazard", title_justify="left")
    totals.add_column("hazard")
    totals.add_column("starts", justify="right")
    for h, n in sorted(per_hazard.items()):
        totals.add_row(h, str(n))
    stages = Table(title="pipeline stages", title_justify="left")
    stages.add_column("stage")
    stages.add_column("calls", justify="right")
    stages.add_column("mean ms", justify="right")
    stages.add_column("total s", justify="right")
    for name, s in summary.stages.items():
        stages.add_row(name, f"{s['count']:.0f}", f"{s['mean_ms']:.2f}", f"{s['total_s']:.2f}")
    problems = [
        Text(f"{cam.camera} ({cam.state}, {cam.errors} errors): {cam.last_error}", style="red")
        for cam in summary.status.cameras
        if cam.last_error
    ]
    problems += [
        Text(f"{c.name}: {c.errors} errors, last: {c.last_error}", style="red")
        for c in summary.status.components
    ]
    gated = f", {summary.gated} more gated (still scene)" if summary.gated else ""
    line = Text(
        f"{summary.frames} frames in {summary.wall_s:.1f} s ({summary.fps:.1f} frames/s, "
        f"{summary.batches} batches{gated}); run id {summary.run_id}"
        + ("; interrupted" if summary.interrupted else "")
    )
    return Group(events, totals, stages, *problems, line)


def run_engine(
    config: Path,
    *,
    duration: float | None,
    realtime: bool,
    alerts: Path | None,
    db: str | None,
    snapshots: Path | None,
    backend: str,
    model: str | None,
    blur_faces: bool = True,
    events_db: Path | None = None,
    live: bool = True,
    console: Console | None = None,
    cameras: Iterable[str] = (),
    notify: Iterable[str] = (),
    motion_gate: bool | None = None,
    backend_options: dict[str, Any] | None = None,
    names: tuple[str, ...] | None = None,
    clips: Path | None = None,
) -> EngineSummary:
    """Build the live pipeline of ``config``, run it with a live table, print the summary."""
    from gridsight.live import LiveOptions, build_pipeline

    console = console or Console()
    if not config.exists():
        raise ConfigError(
            f"{config}: no such config file; pass one (gridsight run path/to/town.yaml) or "
            f"run from the repository root, where {DEFAULT_CONFIG} is"
        )
    options = LiveOptions(
        db=db,
        realtime=realtime,
        duration_s=duration,
        cameras=tuple(cameras),
        backend=backend,
        model=model,
        backend_options=dict(backend_options or {}),
        alerts=alerts,
        events_db=events_db,
        snapshots=snapshots,
        blur_faces=blur_faces,
        motion_gate=motion_gate,
        notify=tuple(notify),
        names=names,
        clips=clips,
    )
    pipe = build_pipeline(config, options)
    try:
        engine = pipe.engine
        if engine is None:  # pragma: no cover - a foreground pipeline always has one
            raise ConfigError(f"{config}: no engine was built")
        mode = "realtime" if realtime else "fast"
        backend_name = getattr(engine.detector, "backend_name", backend)
        clock = "the streams' clock" if pipe.stream_clock is not None else "the wall clock"
        title = (
            f"gridsight run {config} — {len(pipe.cameras)} cameras, {mode}, backend "
            f"{backend_name}" + (f", orders on {clock}" if pipe.service is not None else "")
        )
        if live and console.is_terminal:
            with Live(
                get_renderable=lambda: status_table(engine.status(), title),
                console=console,
                refresh_per_second=2,
                transient=False,
            ):
                summary = pipe.run()
        else:
            console.print(f"{title}: running (no live view)")
            summary = pipe.run()
            console.print(status_table(summary.status, title))
        pipe.drain()  # every event applied to the store before the orders are shown
    except BaseException:
        pipe.close(flush_s=0.0)
        raise
    console.print(summary_tables(summary))
    if alerts is not None:
        console.print(f"alerts (JSONL): {alerts}")
    if events_db is not None:
        console.print(f"alerts (SQLite): {events_db}")
    if pipe.orders is not None and pipe.service is not None:
        from gridsight.commands.orders import orders_table

        made = list(pipe.orders.orders.values())
        title = f"work orders ({len(made)})"
        # "now" on the order service's clock (the streams' in --fast), as the orders' times.
        console.print(orders_table(made, pipe.service.clock(), title, width=console.width))
        if pipe.orders.recovered:
            console.print(
                f"recovered after a crash: {len(pipe.orders.recovered)} order(s) whose events "
                "an earlier process left open were reconciled (reason: restart)"
            )
        console.print(f"work orders: {db} (gridsight orders list --db {db})")
    left = pipe.close(flush_s=10.0)
    notes = pipe.notifications
    for name, c in (notes.final_counts if notes is not None else {}).items():
        console.print(
            f"notify {name}: {c['delivered']} delivered, {c['pending']} pending, {c['dead']} dead",
            soft_wrap=True,
        )
    if left:
        console.print(
            f"{left} notification(s) not delivered yet; they stay in the outbox and go "
            "out with the next run or serve on this store"
        )
    return summary


@click.command("run")
@click.argument("config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG, required=False)
@click.option(
    "--duration",
    type=float,
    default=None,
    help="Seconds of stream time (--fast) or wall time (--realtime).",
)
@click.option(
    "--realtime/--fast",
    default=False,
    help="Pace sources to their clocks, or run as fast as possible (default).",
)
@click.option(
    "--alerts",
    type=click.Path(path_type=Path),
    default=None,
    help="Write events to this JSONL file.",
)
@click.option(
    "--db",
    default=None,
    help="Work-order store (SQLite path or postgresql+psycopg://...): alerts become "
    "work orders, dispatched to the roster's workers.",
)
@click.option(
    "--events-db",
    type=click.Path(path_type=Path),
    default=None,
    help="Also log every event phase to this SQLite file.",
)
@click.option(
    "--snapshots",
    type=click.Path(path_type=Path),
    default=None,
    help="Write an evidence JPEG per event start here.",
)
@click.option(
    "--clips",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write an H.264 MP4 around each event start here (pre/post roll and retention: "
    "the config's clips: block).",
)
@click.option("--no-blur", is_flag=True, help="Do not blur faces in evidence snapshots or clips.")
@options.detector()
@options.names()
@options.backend_options()
@click.option("--camera", "cameras", multiple=True, help="Run only this camera id (repeatable).")
@notify_option
@click.option(
    "--motion-gate/--no-motion-gate",
    default=None,
    help="Infer only frames with motion plus a keep-alive of still scenes (each camera's "
    "motion: block). Default: the engine's (EngineOptions.motion_gate).",
)
@click.option("--no-live", is_flag=True, help="No live table (plain output, e.g. in CI logs).")
@click.option(
    "-v", "--verbose", is_flag=True, help="Log warnings (camera errors, failing sinks) to stderr."
)
def run(
    config: Path,
    duration: float | None,
    realtime: bool,
    alerts: Path | None,
    db: str | None,
    events_db: Path | None,
    snapshots: Path | None,
    clips: Path | None,
    no_blur: bool,
    backend: str,
    model: str | None,
    names: tuple[str, ...] | None,
    backend_options: dict[str, Any],
    cameras: tuple[str, ...],
    notify: tuple[str, ...],
    motion_gate: bool | None,
    no_live: bool,
    verbose: bool,
) -> None:
    """Run the engine on CONFIG's cameras (default configs/jingqiao.yaml: 12 synthetic cameras).

    \b
    Examples:
      gridsight run --duration 120 --alerts alerts.jsonl --db orders.sqlite
      gridsight run --db orders.sqlite --notify http://127.0.0.1:8099/hook --notify mqtt://127.0.0.1
      gridsight run town.yaml --realtime --snapshots evidence/
    """
    logging.basicConfig(level=logging.WARNING if verbose else logging.ERROR)
    run_engine(
        config,
        duration=duration,
        realtime=realtime,
        alerts=alerts,
        db=db,
        events_db=events_db,
        snapshots=snapshots,
        clips=clips,
        backend=backend,
        model=model,
        blur_faces=not no_blur,
        live=not no_live,
        cameras=cameras,
        notify=notify,
        motion_gate=motion_gate,
        backend_options=backend_options,
        names=names,
    )
