"""``gridsight orders``: list, show, move and watch work orders in a store.

The store is ``--db URL`` (a SQLite path, ``sqlite:///PATH`` or
``postgresql+psycopg://USER@HOST:PORT/DB``; default ``$GRIDSIGHT_DB``); the township
config (roster, places, ``orders:`` settings) is ``--config`` (default
configs/jingqiao.yaml).

A store written on the streams' clock (``gridsight demo``, ``gridsight run`` without
``--realtime``) is read on that clock: ages, countdowns and the acting time of a
transition are the run's last stream time, and the table says so
(:mod:`gridsight.orders.store_clock`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gridsight.core.errors import ConfigError

DEFAULT_CONFIG = Path("configs/jingqiao.yaml")

_STATE_STYLE = {
    "new": "bold yellow",
    "verified": "yellow",
    "dispatched": "cyan",
    "escalated": "bold magenta",
    "acknowledged": "blue",
    "on_site": "blue",
    "resolved": "green",
    "closed": "dim green",
    "reopened": "bold yellow",
    "cancelled": "dim",
    "rejected": "dim",
    "duplicate": "dim",
}

db_option = click.option(
    "--db",
    "db",
    envvar="GRIDSIGHT_DB",
    required=True,
    help="The work-order store: SQLite path or URL, or postgresql+psycopg://... "
    "(default $GRIDSIGHT_DB).",
)
config_option = click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    help="Township config (roster, places, orders: settings).",
)


def open_service(db: str, config: Path, **kwargs: Any) -> Any:
    """An OrderService over ``db`` with the township ``config``, on the store's clock
    (:class:`~gridsight.orders.store_clock.StoreClock`) unless ``clock=`` is given."""
    from gridsight.core.config import load_township
    from gridsight.orders.service import OrderService
    from gridsight.orders.store import OrderStore
    from gridsight.orders.store_clock import StoreClock

    if not config.exists():
        raise ConfigError(f"{config}: no such township config; pass --config PATH")
    town = load_township(config)
    store = OrderStore.open(db)
    kwargs.setdefault("clock", StoreClock(store))
    return OrderService(store, town, **kwargs)


def clock_note(svc: Any) -> Text | None:
    """The stream-time note of a service on a stream-clock store, or None."""
    note = getattr(svc.clock, "note", None)
    text = note(svc.settings.zone) if note is not None else None
    return Text(text, style="dim") if text else None


def _clock_time(svc: Any, epoch: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """``epoch`` in the township's time zone."""
    return datetime.fromtimestamp(epoch, svc.settings.zone).strftime(fmt)


def console() -> Console:
    """A console; 140 columns when not a terminal (pipes, CI logs) so tables fit."""
    c = Console()
    return c if c.is_terminal else Console(width=140)


def _dur(s: float) -> str:
    sign = "-" if s < 0 else ""
    s = abs(s)
    if s < 90:
        return f"{sign}{s:.0f}s"
    if s < 90 * 60:
        return f"{sign}{s // 60:.0f}m{s % 60:02.0f}s"
    return f"{sign}{s // 3600:.0f}h{(s % 3600) // 60:02.0f}m"


def clock_cell(
    state: str, due: float, done: float | None, start: float, now: float, *, short: bool = False
) -> Text:
    """One SLA clock: time left (ongoing), how long it took (met), or breached."""
    if state == "ongoing":
        left = due - now
        style = "yellow" if left < 0.25 * (due - start) else ""
        text = _dur(left) if short else f"{_dur(left)} left"
        return Text(text, style="bold red" if left < 0 else style)
    if state == "met":
        return Text(f"met {_dur((done or due) - start)}", style="green")
    if state == "breached":
        took = f" ({_dur(done - start)})" if done is not None else ""
        return Text(f"BREACHED{took}", style="bold red")
    return Text(state, style="dim")


def orders_table(
    views: Sequence[Any], now: float, title: str = "work orders", *, width: int | None = None
) -> Table:
    """The orders as a rich table with SLA countdowns.

    ``width`` (the console's) below 110 columns leaves out the grid and the age, so that
    the clocks still show on an 80-column terminal (the assignee names the village).
    """
    wide = width is None or width >= 110
    table = Table(
        title=title, title_justify="left", pad_edge=False, box=box.SIMPLE_HEAD,
        collapse_padding=True,
    )  # fmt: skip
    columns = [
        ("order", "left"),
        ("kind", "left"),
        ("state", "left"),
        *([("grid", "left")] if wide else []),
        ("assignee", "left"),
        *([("age", "right")] if wide else []),
        ("dispatch SLA" if wide else "dispatch", "right"),
        ("closure SLA" if wide else "to close", "right"),
    ]
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for o in views:
        cells: list[Any] = [o.id, o.kind, Text(o.state, style=_STATE_STYLE.get(o.state, ""))]
        if wide:
            cells.append(o.grid)
        cells.append(o.assignee or "-")
        if wide:
            cells.append(_dur(now - o.created_at))
        short = not wide
        cells.append(
            clock_cell(
                o.sla_dispatch, o.dispatch_due_at, o.dispatched_at, o.created_at, now, short=short
            )
        )
        cells.append(
            clock_cell(o.sla_close, o.close_due_at, o.closed_at, o.created_at, now, short=short)
        )
        table.add_row(*cells)
    return table


@click.group("orders")
def orders() -> None:
    """Work orders: list, show, transition, watch (over the store given by --db).

    A store written on the streams' clock (gridsight demo; gridsight run without
    --realtime) is read at the run's last stream time: ages and countdowns as the run
    saw them, with a line saying so.

    \b
    Examples:
      gridsight orders list --db runs/orders.sqlite --open
      gridsight orders show wo-1a2b... --db runs/orders.sqlite
      gridsight orders transition wo-1a2b... acknowledged --actor worker:gw-ruijia-g01 \\
          --role worker --db runs/orders.sqlite
      gridsight orders watch --db postgresql+psycopg://postgres@127.0.0.1/gridsight
    """


@orders.command("list")
@db_option
@config_option
@click.option("--state", "states", multiple=True, help="Only this state (repeatable).")
@click.option("--open", "open_only", is_flag=True, help="Only open orders.")
@click.option("--village", default=None)
@click.option("--kind", default=None, help="Hazard id or request kind.")
@click.option("--assignee", default=None, help="Worker id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def list_orders(
    db: str,
    config: Path,
    states: tuple[str, ...],
    open_only: bool,
    village: str | None,
    kind: str | None,
    assignee: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List orders, newest first."""
    from gridsight.orders.states import STATES
    from gridsight.orders.views import OrderFilter

    for s in states:
        if s not in STATES:
            raise click.BadParameter(f"{s!r}; states: {', '.join(STATES)}", param_hint="--state")
    svc = open_service(db, config)
    f = OrderFilter(
        states=states, open_only=open_only, village=village, kind=kind, assignee=assignee
    )
    page = svc.list(f, limit=limit)
    if as_json:
        for o in page.items:
            click.echo(json.dumps(o.to_dict(with_transitions=False), sort_keys=True))
        return
    out = console()
    title = f"work orders ({len(page.items)})"
    out.print(orders_table(page.items, svc.clock(), title, width=out.width))
    if (note := clock_note(svc)) is not None:
        out.print(note)


@orders.command("show")
@click.argument("order_id")
@db_option
@config_option
@click.option("--json", "as_json", is_flag=True)
def show(order_id: str, db: str, config: Path, as_json: bool) -> None:
    """Show one order and its audit trail."""
    svc = open_service(db, config)
    o = svc.get(order_id)
    if as_json:
        click.echo(json.dumps(o.to_dict(), sort_keys=True, indent=2))
        return
    out = console()
    out.print(orders_table([o], svc.clock(), f"{o.id}: {o.title}", width=out.width))
    trail = Table(title="transitions", title_justify="left")
    for name in ("seq", f"at ({svc.settings.timezone})", "from", "to", "actor", "note"):
        trail.add_column(name)
    for t in o.transitions:
        trail.add_row(
            str(t.seq),
            _clock_time(svc, t.at),
            t.from_state or "-",
            t.to_state,
            t.actor,
            (t.note or "") + (f" [photo {t.photo}]" if t.photo else ""),
        )
    out.print(trail)
    out.print(f"allowed next (operator): {', '.join(svc.allowed(o.id, 'operator')) or '-'}")
    if (note := clock_note(svc)) is not None:
        out.print(note)


@orders.command("transition")
@click.argument("order_id")
@click.argument("to")
@db_option
@config_option
@click.option("--actor", required=True, help="Who: operator:alice, worker:gw-ruijia-g01, ...")
@click.option(
    "--role",
    type=click.Choice(["operator", "worker", "supervisor", "admin", "system"]),
    required=True,
)
@click.option("--note", default=None)
@click.option("--photo", default=None, help="Evidence path (relative to the uploads folder).")
@click.option("--expected-version", type=int, default=None, help="Fail if the order changed.")
@click.option("--worker", default=None, help="With TO=dispatched: send this worker.")
def transition_cmd(
    order_id: str,
    to: str,
    db: str,
    config: Path,
    actor: str,
    role: str,
    note: str | None,
    photo: str | None,
    expected_version: int | None,
    worker: str | None,
) -> None:
    """Move ORDER_ID to state TO (checked against the transition table)."""
    from gridsight.orders.states import STATES

    if to not in STATES:
        raise click.BadParameter(f"{to!r}; states: {', '.join(STATES)}", param_hint="TO")
    svc = open_service(db, config)
    o = svc.transition(
        order_id, to, actor=actor, role=role, note=note, photo=photo,
        expected_version=expected_version, worker=worker,
    )  # fmt: skip
    click.echo(f"{o.id}: {o.state} (version {o.version}, assignee {o.assignee or '-'})")


@orders.command("watch")
@db_option
@config_option
@click.option("--interval", type=click.FloatRange(0.1, 60), default=2.0, show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Closed and cancelled orders too.")
@click.option("--limit", type=click.IntRange(1, 500), default=30, show_default=True)
@click.option("--tick", is_flag=True, help="Also run the clocks (when no engine does).")
@click.option("--once", is_flag=True, help="Print the table once and exit.")
def watch(
    db: str, config: Path, interval: float, show_all: bool, limit: int, tick: bool, once: bool
) -> None:
    """A live table of orders with SLA countdowns (Ctrl-C to stop)."""
    from gridsight.orders.views import OrderFilter

    svc = open_service(db, config)
    f = OrderFilter(open_only=not show_all)

    def view() -> Group:
        if tick:
            svc.tick()
        now = svc.clock()
        page = svc.list(f, limit=limit)
        on_duty = len(svc.workers_on_duty(now))
        title = f"work orders — {svc.store.url.render_as_string(hide_password=True)}"
        footer = Text(
            f"{len(page.items)} shown; {on_duty} workers on duty; "
            f"{_clock_time(svc, now, '%H:%M:%S')}",
            style="dim",
        )
        note = clock_note(svc)
        table = orders_table(page.items, now, title, width=out.width)
        return Group(table, footer, note) if note is not None else Group(table, footer)

    out = console()
    if once:
        out.print(view())
        return
    try:
        with Live(view(), console=out, refresh_per_second=4) as live:
            while True:
                time.sleep(interval)
                live.update(view())
    except KeyboardInterrupt:
        pass
