"""``gridsight outbox``: list, retry, relay --once, test — against the local receiver."""

from __future__ import annotations

import json

import sqlalchemy as sa
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.orders.notify.receiver import WebhookReceiver
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import outbox


def _seed(db, n: int = 2) -> None:
    with OrderStore.open(db) as store, store.begin() as conn:
        for i in range(n):
            conn.execute(
                sa.insert(outbox).values(
                    key=f"wo-{i}:1:webhook-1",
                    channel="webhook-1",
                    topic="work_orders",
                    kind="new",
                    order_id=f"wo-{i}",
                    payload=json.dumps({"type": "new", "order": {"id": f"wo-{i}"}}),
                    created_at=0.0,
                    attempts=0,
                    next_attempt_at=0.0,
                )
            )


def test_relay_once_dead_letters_list_and_retry(tmp_path):
    db = str(tmp_path / "o.sqlite")
    _seed(db)
    run = CliRunner(env={"GRIDSIGHT_WEBHOOK_SECRET": "s"}).invoke
    with WebhookReceiver(secret="s", responses=[404, 404]) as rx:
        r = run(cli, ["outbox", "relay", "--db", db, "--notify", rx.url, "--once"])
        assert r.exit_code == 0, r.output
        assert "webhook-1: 0 delivered, 0 pending, 2 dead" in r.output
        r = run(cli, ["outbox", "list", "--db", db, "--dead", "--json"])
        dead = [json.loads(line) for line in r.output.splitlines()]
        assert {d["key"] for d in dead} == {"wo-0:1:webhook-1", "wo-1:1:webhook-1"}
        assert all("answered 404" in d["last_error"] for d in dead)
        r = run(cli, ["outbox", "retry", "--db", db, "wo-1:1:webhook-1"])
        assert r.output.startswith("1 dead letter(s) requeued")
        r = run(cli, ["outbox", "relay", "--db", db, "--notify", rx.url, "--once"])
        assert "webhook-1: 1 delivered, 0 pending, 1 dead" in r.output
        assert [x.key for x in rx.accepted] == ["wo-1:1:webhook-1"]
        r = run(cli, ["outbox", "list", "--db", db])
        assert r.exit_code == 0 and "delivered" in r.output and "dead" in r.output


def test_test_command_sends_one_signed_notification():
    with WebhookReceiver(secret="s") as rx:
        r = CliRunner(env={"GRIDSIGHT_WEBHOOK_SECRET": "s"}).invoke(cli, ["outbox", "test", rx.url])
        assert r.exit_code == 0, r.output
        (got,) = rx.received
        assert got.signature_ok and got.json["test"] is True
    with WebhookReceiver(responses=[500]) as rx:
        r = CliRunner().invoke(cli, ["outbox", "test", rx.url])
        assert r.exit_code == 1 and "not delivered: webhook" in r.output and "500" in r.output
    r = CliRunner().invoke(cli, ["outbox", "test", "nonsense"])
    assert r.exit_code != 0 and "has no scheme" in str(r.output) + str(r.exception)
