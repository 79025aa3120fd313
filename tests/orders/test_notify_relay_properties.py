"""Invariants of the outbox relay under any pattern of failures (hypothesis): every row
ends delivered or dead, never both; a delivered row was sent successfully once; a dead
row used its attempts (or met a permanent failure); nothing is sent after it is done."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import StaticPool

from gridsight.core.config.notify import RetrySettings
from gridsight.orders.notify.base import DeliveryError, Notifier
from gridsight.orders.notify.relay import OutboxRelay
from gridsight.orders.tables import metadata, outbox

OUTCOMES = st.sampled_from(["ok", "ok", "fail", "permanent", "crash"])


class ScriptedNotifier(Notifier):
    """Answers sends from a script: ok / fail (retryable) / permanent / crash (a bug)."""

    name = "scripted"
    schemes = ()

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.sends: list[tuple[str, str]] = []  # (key, outcome)

    @classmethod
    def from_url(cls, url, *, secret, timeout_s=5.0):  # pragma: no cover - not used
        raise NotImplementedError

    def send(self, payload, *, key):
        outcome = self.script.pop(0) if self.script else "ok"
        self.sends.append((key, outcome))
        if outcome == "fail":
            raise DeliveryError("scripted failure")
        if outcome == "permanent":
            raise DeliveryError("scripted 400", permanent=True)
        if outcome == "crash":
            raise RuntimeError("a bug in a notifier")


@settings(max_examples=30, deadline=None)
@given(
    n_rows=st.integers(1, 12),
    script=st.lists(OUTCOMES, max_size=60),
    max_attempts=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    steps=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=40),
)
def test_every_row_ends_delivered_or_dead(n_rows, script, max_attempts, seed, steps):
    engine = sa.create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(outbox),
            [
                {
                    "key": f"k{i}",
                    "channel": "c",
                    "topic": "work_orders",
                    "kind": "new",
                    "order_id": f"wo-{i}",
                    "payload": json.dumps({"type": "new", "i": i}),
                    "created_at": 0.0,
                    "attempts": 0,
                    "next_attempt_at": 0.0,
                }
                for i in range(n_rows)
            ],
        )
    notifier = ScriptedNotifier(script)
    t = [0.0]
    relay = OutboxRelay(
        engine,
        {"c": notifier},
        clock=lambda: t[0],
        rng=random.Random(seed),
        retry=RetrySettings(max_attempts=max_attempts, base_s=1.0, factor=2.0, max_s=8.0),
        batch=3,
    )
    for dt in steps:
        relay.run_once()
        t[0] += dt
    for _ in range(200):  # then until every backoff has run out
        if relay.counts()["pending"] == 0:
            break
        relay.run_once()
        t[0] += 10.0
    with engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(sa.select(outbox)).all()}
    sends = defaultdict(list)
    for key, outcome in notifier.sends:
        sends[key].append(outcome)
    for key, row in rows.items():
        done = [row.delivered_at is not None, row.dead_at is not None]
        assert sum(done) == 1, (key, row)
        history = sends[key]
        assert row.attempts == len(history)
        if row.delivered_at is not None:
            assert history[-1] == "ok" and history.count("ok") == 1
            assert row.last_error is None
        else:
            assert "ok" not in history
            assert history[-1] == "permanent" or len(history) == max_attempts
            assert row.last_error
        assert len(history) <= max_attempts
    engine.dispose()
