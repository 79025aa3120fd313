"""``gridsight outbox``: the notification outbox of a store — inspect, retry, relay, test.

\b
  gridsight outbox list --db orders.sqlite --dead          what could not be delivered
  gridsight outbox retry --db orders.sqlite --channel webhook-1   after fixing the receiver
  gridsight outbox relay --db postgresql+psycopg://... --notify https://ops/hook
                                                            a relay process of its own
  gridsight outbox test https://ops.example/hook            send one test notification
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from gridsight.commands.notify_option import notify_option
from gridsight.core.errors import GridsightError

db_option = click.option(
    "--db",
    "db",
    envvar="GRIDSIGHT_DB",
    required=True,
    help="The work-order store: SQLite path or URL, or postgresql+psycopg://... "
    "(default $GRIDSIGHT_DB).",
)


@click.group("outbox")
def outbox() -> None:
    """The notification outbox: list, retry dead letters, run a relay, test a URL."""


@outbox.command("list")
@db_option
@click.option("--dead", "which", flag_value="dead", help="Only dead letters.")
@click.option("--pending", "which", flag_value="pending", help="Only rows not yet delivered.")
@click.option("--channel", default=None, help="Only this channel.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def list_rows(db: str, which: str | None, channel: str | None, limit: int, as_json: bool) -> None:
    """Outbox rows, newest first, with their delivery state and last error."""
    from gridsight.orders.store import OrderStore
    from gridsight.orders.tables import outbox as table

    t = table.c
    query = sa.select(
        t.key,
        t.channel,
        t.kind,
        t.attempts,
        t.next_attempt_at,
        t.delivered_at,
        t.dead_at,
        t.last_error,
    ).order_by(t.id.desc())
    if which == "dead":
        query = query.where(t.dead_at.is_not(None))
    elif which == "pending":
        query = query.where(t.delivered_at.is_(None), t.dead_at.is_(None))
    if channel is not None:
        query = query.where(t.channel == channel)
    with OrderStore.open(db) as store, store.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.limit(limit)).all()]
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
        return
    out = Table(title=f"outbox ({len(rows)} rows)", title_justify="left")
    for col in ("key", "channel", "kind", "state", "attempts", "last error"):
        out.add_column(col, justify="right" if col == "attempts" else "left")
    for r in rows:
        state = "dead" if r["dead_at"] else "delivered" if r["delivered_at"] else "pending"
        out.add_row(
            r["key"],
            r["channel"],
            r["kind"],
            state,
            str(r["attempts"]),
            (r["last_error"] or "")[:80],
        )
    Console().print(out)


@outbox.command("retry")
@db_option
@click.option("--channel", default=None, help="Only this channel's dead letters.")
@click.argument("keys", nargs=-1)
def retry(db: str, channel: str | None, keys: tuple[str, ...]) -> None:
    """Requeue dead letters (all, one channel's, or the given KEYS) for delivery."""
    from gridsight.orders.notify.relay import requeue_dead
    from gridsight.orders.store import OrderStore

    with OrderStore.open(db) as store:
        n = requeue_dead(store.engine, channel=channel, keys=keys)
    click.echo(
        f"{n} dead letter(s) requeued; a running relay (run, serve, outbox relay) sends them"
    )


@outbox.command("relay")
@db_option
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    default=None,
    help="Township config whose notify: channels to serve (with their names and filters).",
)
@notify_option
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def relay(db: str, config: Path | None, notify: tuple[str, ...], once: bool) -> None:
    """Deliver the store's outbox: a relay process of its own (several may share PostgreSQL).

    Channel names must match the writer's: ``--notify`` URLs are named ``webhook-1``,
    ``mqtt-1``, ... in order, as in ``gridsight run`` and ``gridsight serve``.
    """
    from gridsight.core.config import load_township
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.orders.notify.delivery import Delivery
    from gridsight.orders.store import OrderStore

    pm = build_plugin_manager()
    town = load_township(config, pm) if config is not None else None
    store = OrderStore.open(db)
    delivery = Delivery.open(pm, town, notify, store.engine, start=not once)
    if not delivery.channels:
        raise click.UsageError("no channels: pass --notify URL or a --config with notify:")
    try:
        if once:
            while delivery.relay.run_once():
                pass
        else:
            click.echo(f"relaying {', '.join(delivery.names)} from {store.url} (Ctrl-C stops)")
            while True:
                time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        delivery.close()
        click.echo(delivery.summary())
        store.close()


@outbox.command("test")
@click.argument("url")
def test(url: str) -> None:
    """Send one test notification to URL (webhook, MQTT or Apprise) and say what happened."""
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.orders.notify.base import notifier_for_url
    from gridsight.orders.notify.channels import parse_notify_urls
    from gridsight.orders.notify.webhook import SECRET_ENV

    parse_notify_urls([url])
    n = notifier_for_url(url, build_plugin_manager(), os.environ.get(SECRET_ENV))
    now = time.time()
    key = f"wo-test:{now:.0f}"
    payload: dict[str, object] = {
        "type": "new",
        "order": {"id": "wo-test", "kind": "test", "state": "dispatched", "title": "test"},
        "before": None,
        "after": "dispatched",
        "hazard": "test",
        "village": "-",
        "grid": "-",
        "camera": None,
        "snapshot": None,
        "dispatch_due_at": now + 60,
        "close_due_at": now + 55 * 60,
        "ack_token": None,
        "idempotency_key": key,
        "test": True,
    }
    try:
        n.send(payload, key=key)
    except GridsightError as exc:
        raise click.ClickException(f"not delivered: {exc}") from None
    finally:
        n.close()
    click.echo(f"delivered a test notification to {n.describe()} ({n.name})")
