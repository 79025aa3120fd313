"""The outbox relay on SQLite and PostgreSQL, against the real local webhook receiver:
retries with backoff and jitter, dead letters, hangs, crashes and several relays."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from gridsight.core.config.notify import RetrySettings
from gridsight.orders.notify.receiver import WebhookReceiver
from gridsight.orders.notify.relay import OutboxRelay
from gridsight.orders.notify.webhook import WebhookNotifier
from gridsight.orders.tables import outbox

SECRET = "relay-secret"


def add_row(store, key: str, channel: str = "webhook-1", *, now: float = 0.0, order="wo-1"):
    payload = {"type": "new", "order": {"id": order}, "after": "dispatched", "idempotency_key": key}
    with store.begin() as conn:
        conn.execute(
            sa.insert(outbox).values(
                key=key,
                channel=channel,
                topic="work_orders",
                kind="new",
                order_id=order,
                payload=json.dumps(payload),
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )


def rows(store, channel: str | None = None):
    q = sa.select(outbox).order_by(outbox.c.id)
    if channel is not None:
        q = q.where(outbox.c.channel == channel)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q).all()]


class FakeClock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_500_500_200_is_retried_with_seeded_backoff_then_delivered(store):
    retry = RetrySettings(max_attempts=5, base_s=2.0, factor=3.0, max_s=100.0, jitter=0.5)
    clock = FakeClock()
    add_row(store, "wo-1:1:webhook-1", now=clock.t)
    with WebhookReceiver(secret=SECRET, responses=[500, 500]) as rx:
        relay = OutboxRelay(
            store.engine,
            {"webhook-1": WebhookNotifier(rx.url, secret=SECRET, timeout_s=2)},
            clock=clock,
            rng=random.Random(42),
            retry=retry,
        )
        due_times = []
        for _ in range(3):
            (row,) = rows(store)
            due_times.append(row["next_attempt_at"])
            clock.t = row["next_attempt_at"]
            relay.run_once()
        relay.close()
        (row,) = rows(store)
        assert row["delivered_at"] == clock.t
        assert row["attempts"] == 3
        assert row["dead_at"] is None and row["last_error"] is None
        assert [r.status for r in rx.received] == [500, 500, 200]
        assert {r.key for r in rx.received} == {"wo-1:1:webhook-1"}  # same key each time
        assert all(r.signature_ok for r in rx.received)
    # The waits: base * factor**(n-1), shortened by up to `jitter` of it, drawn from the
    # seeded RNG: recomputed here from the same seed.
    rng = random.Random(42)
    expected = [2.0 * (1 - 0.5 * rng.random()), 6.0 * (1 - 0.5 * rng.random())]
    waits = [due_times[1] - due_times[0], due_times[2] - due_times[1]]
    assert waits == pytest.approx(expected)
    assert 1.0 <= waits[0] <= 2.0 and 3.0 <= waits[1] <= 6.0


def test_not_due_yet_is_not_sent(store):
    clock = FakeClock()
    add_row(store, "k-later", now=clock.t + 30)
    with WebhookReceiver() as rx:
        notifier = WebhookNotifier(rx.url, secret=None)
        relay = OutboxRelay(store.engine, {"webhook-1": notifier}, clock=clock)
        assert relay.run_once() == 0
        clock.t += 31
        assert relay.run_once() == 1
        relay.close()
        assert len(rx.received) == 1


def test_dead_letter_after_the_last_attempt(store):
    clock = FakeClock()
    add_row(store, "k-dead", now=clock.t)
    retry = RetrySettings(max_attempts=3, base_s=1.0, jitter=0.0)
    with WebhookReceiver(responses=[500, 500, 500]) as rx:
        relay = OutboxRelay(
            store.engine,
            {"webhook-1": WebhookNotifier(rx.url, secret=None)},
            clock=clock,
            retry=retry,
            rng=random.Random(0),
        )
        for _ in range(6):
            relay.run_once()
            clock.t += 10
        (dead,) = rows(store)
        assert dead["attempts"] == 3 and dead["dead_at"] is not None
        assert "answered 500" in dead["last_error"] and dead["delivered_at"] is None
        assert len(rx.received) == 3  # nothing more after it died
        assert relay.dead_letters() == [
            {
                "key": "k-dead",
                "channel": "webhook-1",
                "attempts": 3,
                "dead_at": dead["dead_at"],
                "last_error": dead["last_error"],
            }
        ]
        # The receiver is well again (it answers 200 now): new rows go through.
        add_row(store, "k-ok", now=clock.t, order="wo-2")
        assert relay.run_once() == 1
        assert relay.counts() == {"pending": 0, "delivered": 1, "dead": 1}
        relay.close()


def test_permanent_answer_is_dead_at_once_and_the_batch_goes_on(store):
    clock = FakeClock()
    add_row(store, "k-bad", now=clock.t)
    add_row(store, "k-next", now=clock.t, order="wo-2")
    with WebhookReceiver(responses=[400]) as rx:
        notifier = WebhookNotifier(rx.url, secret=None)
        relay = OutboxRelay(store.engine, {"webhook-1": notifier}, clock=clock)
        assert relay.run_once() == 1
        bad, nxt = rows(store)
        assert bad["dead_at"] is not None and bad["attempts"] == 1 and "400" in bad["last_error"]
        assert nxt["delivered_at"] is not None
        relay.close()


def test_crash_between_send_and_mark_resends_with_the_same_key(store):
    clock = FakeClock()
    add_row(store, "wo-1:3:webhook-1", now=clock.t)
    with WebhookReceiver(secret=SECRET) as rx:
        notifier = WebhookNotifier(rx.url, secret=SECRET)
        first = OutboxRelay(store.engine, {"webhook-1": notifier}, clock=clock, lease_s=60)
        # What a relay does up to the crash: claim, send ... and never mark.
        (claimed,) = first._claim("webhook-1", clock.t, 10)
        notifier.send(json.loads(claimed.payload), key=claimed.key)
        # A second relay must not take the claimed row while the lease runs ...
        second = OutboxRelay(store.engine, {"webhook-1": notifier}, clock=clock, lease_s=60)
        assert second.run_once() == 0
        # ... and resends it after the lease ran out: same key, so the receiver dedupes.
        clock.t += first.lease_s + 1
        assert second.run_once() == 1
        (row,) = rows(store)
        assert row["delivered_at"] is not None
        assert [r.key for r in rx.received] == ["wo-1:3:webhook-1"] * 2
        assert [r.duplicate for r in rx.received] == [False, True]
        assert len(rx.accepted) == 1
        second.close()


def test_hanging_receiver_blocks_neither_other_channels_nor_the_writer(store):
    with (
        WebhookReceiver(responses=["hang"] * 100, hang_s=30) as stuck,
        WebhookReceiver() as fine,
    ):
        relay = OutboxRelay(
            store.engine,
            {
                "stuck": WebhookNotifier(stuck.url, secret=None, timeout_s=0.3),
                "fine": WebhookNotifier(fine.url, secret=None, timeout_s=2),
            },
            retry=RetrySettings(max_attempts=2, base_s=0.1, jitter=0.0),
            poll_s=0.05,
        ).start()
        try:
            now = time.time()
            for i in range(5):
                add_row(store, f"stuck-{i}", "stuck", now=now)
                add_row(store, f"fine-{i}", "fine", now=now, order=f"wo-{i}")
                relay.wake()
            assert fine.wait_for(5, timeout_s=20), fine.received
            assert {r.key for r in fine.accepted} == {f"fine-{i}" for i in range(5)}
            # The stuck channel keeps trying (with its timeout) and ends in dead letters;
            # its rows are never lost.
            deadline = time.time() + 30
            while time.time() < deadline and relay.counts("stuck")["dead"] < 5:
                time.sleep(0.1)
            assert relay.counts("stuck") == {"pending": 0, "delivered": 0, "dead": 5}
            assert all("no answer within 0.3 s" in r["last_error"] for r in rows(store, "stuck"))
        finally:
            relay.close()


def test_two_relays_deliver_every_row_exactly_once(store):
    n_rows = 60
    now = time.time()
    with WebhookReceiver(secret=SECRET) as rx:
        relays = [
            OutboxRelay(
                store.engine,
                {"webhook-1": WebhookNotifier(rx.url, secret=SECRET)},
                batch=5,
                poll_s=0.02,
            )
            for _ in range(2)
        ]

        def produce() -> None:
            for i in range(n_rows):
                add_row(store, f"wo-{i}:1:webhook-1", now=now, order=f"wo-{i}")

        producer = threading.Thread(target=produce)
        for r in relays:
            r.start()
        producer.start()
        producer.join()
        try:
            assert rx.wait_for(n_rows, timeout_s=60)
            time.sleep(0.3)  # let any (wrong) second delivery arrive
        finally:
            for r in relays:
                r.close()
        keys = [r.key for r in rx.received]
        assert sorted(keys) == sorted(f"wo-{i}:1:webhook-1" for i in range(n_rows))  # once each
        assert all(r["delivered_at"] is not None and r["attempts"] == 1 for r in rows(store))
        assert sum(r.stats["webhook-1"]["delivered"] for r in relays) == n_rows


def test_channel_filters_hold_whatever_wrote_the_row(store):
    from gridsight.core.config import parse_yaml_model
    from gridsight.core.config.township import Township
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.orders.notify.channels import build_channels

    text = (Path(__file__).resolve().parents[2] / "configs" / "jingqiao.yaml").read_text(
        encoding="utf-8"
    )
    with WebhookReceiver() as rx:
        town = parse_yaml_model(
            text + f"notify:\n  channels:\n    - name: ruijia-only\n      url: {rx.url}\n"
            "      villages: [ruijia]\n",
            Township,
        )
        (chan,) = build_channels(build_plugin_manager(), town, env={})
        for key, village in (("a", "ruijia"), ("b", "tai"), ("c", "ruijia")):
            payload = {"type": "new", "order": {"id": key}, "village": village}
            with store.begin() as conn:
                conn.execute(
                    sa.insert(outbox).values(
                        key=key,
                        channel="ruijia-only",
                        topic="work_orders",
                        kind="new",
                        order_id=key,
                        payload=json.dumps(payload),
                        created_at=0.0,
                        attempts=0,
                        next_attempt_at=0.0,
                    )
                )
        relay = OutboxRelay.for_channels(store.engine, [chan])
        assert relay.run_once() == 2
        relay.close()
        assert [r.key for r in rx.received] == ["a", "c"]
    by_key = {r["key"]: r for r in rows(store)}
    assert by_key["b"]["delivered_at"] is not None and by_key["b"]["attempts"] == 0
    assert by_key["b"]["last_error"].startswith("not sent: filtered out by channel ruijia-only")
    assert relay.stats["ruijia-only"]["filtered"] == 1


def test_dead_letters_can_be_requeued(store):
    from gridsight.orders.notify.relay import requeue_dead

    clock = FakeClock()
    add_row(store, "k1", now=clock.t)
    add_row(store, "k2", now=clock.t, order="wo-2")
    with WebhookReceiver(responses=[404, 404]) as rx:
        relay = OutboxRelay(
            store.engine, {"webhook-1": WebhookNotifier(rx.url, secret=None)}, clock=clock
        )
        relay.run_once()
        assert relay.counts() == {"pending": 0, "delivered": 0, "dead": 2}
        assert requeue_dead(store.engine, keys=["k2"], now=clock.t) == 1
        assert relay.run_once() == 1
        assert requeue_dead(store.engine, channel="other", now=clock.t) == 0
        assert requeue_dead(store.engine, channel="webhook-1", now=clock.t) == 1
        assert relay.run_once() == 1
        assert relay.counts() == {"pending": 0, "delivered": 2, "dead": 0}
        relay.close()
    assert [r.key for r in rx.accepted] == ["k2", "k1"]
