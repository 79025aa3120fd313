"""Per-channel rate limits: the token bucket never exceeds the window, and what exceeds it
is folded into one digest that the relay delivers (nothing dropped)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.config.notify import RateLimit, RetrySettings
from gridsight.orders.notify.ratelimit import TokenBucket, digest_key, digest_payload
from gridsight.orders.notify.receiver import WebhookReceiver
from gridsight.orders.notify.relay import OutboxRelay
from gridsight.orders.notify.webhook import WebhookNotifier
from gridsight.orders.tables import outbox


@settings(max_examples=200, deadline=None)
@given(
    messages=st.integers(1, 30),
    burst=st.integers(1, 30),
    per_s=st.floats(1.0, 120.0),
    gaps=st.lists(st.floats(0.0, 20.0), min_size=1, max_size=200),
)
def test_no_window_holds_more_than_the_limit(messages, burst, per_s, gaps):
    limit = RateLimit(messages=messages, per_s=per_s, burst=min(burst, messages))
    t = [0.0]
    bucket = TokenBucket.from_limit(limit, clock=lambda: t[0])
    sent: list[float] = []
    for gap in gaps:
        t[0] += gap
        if bucket.take():
            sent.append(t[0])
    # any window [s, s + per_s) that starts at a send holds at most `messages` sends
    for i, start in enumerate(sent):
        in_window = sum(1 for s in sent[i:] if s < start + per_s - 1e-9)
        assert in_window <= messages


def test_default_burst_and_refill_fit_wecom_limit():
    lim = RateLimit(messages=20, per_s=60)
    assert lim.capacity == 5
    assert lim.capacity + lim.refill_per_s * 60 == pytest.approx(20)


def test_digest_keeps_each_key_and_payload():
    items = [(f"k{i}", {"type": "new", "order": {"id": f"wo-{i % 3}"}}) for i in range(5)]
    d = digest_payload("bot", items, now=5.0)
    assert d["type"] == "digest" and d["count"] == 5
    assert [it["key"] for it in d["items"]] == [f"k{i}" for i in range(5)]
    assert d["orders"] == ["wo-0", "wo-1", "wo-2"]
    assert d["idempotency_key"] == digest_key("bot", [k for k, _ in reversed(items)])


def _add(store, n: int, start: int = 0) -> None:
    with store.begin() as conn:
        for i in range(start, start + n):
            payload = {"type": "new", "order": {"id": f"wo-{i}"}, "after": "dispatched"}
            conn.execute(
                sa.insert(outbox).values(
                    key=f"wo-{i}:1:bot",
                    channel="bot",
                    topic="work_orders",
                    kind="new",
                    order_id=f"wo-{i}",
                    payload=json.dumps(payload),
                    created_at=0.0,
                    attempts=0,
                    next_attempt_at=0.0,
                )
            )


def test_burst_beyond_the_limit_becomes_one_digest_nothing_dropped(store):
    t = [100.0]
    limit = RateLimit(messages=4, per_s=60, burst=2)  # 2 at once, then 1 every 30 s
    with WebhookReceiver() as rx:
        relay = OutboxRelay(
            store.engine,
            {"bot": WebhookNotifier(rx.url, secret=None)},
            clock=lambda: t[0],
            limits={"bot": limit},
        )
        _add(store, 10)
        assert relay.run_once() == 2  # one message + one digest of the other nine
        got = [r.json for r in rx.received]
        assert got[0]["order"]["id"] == "wo-0"
        assert got[1]["type"] == "digest" and got[1]["count"] == 9
        assert [it["key"] for it in got[1]["items"]] == [f"wo-{i}:1:bot" for i in range(1, 10)]
        with store.read() as conn:
            digest_rows = conn.execute(sa.select(outbox).where(outbox.c.kind == "digest")).all()
            folded = conn.execute(
                sa.select(outbox.c.last_error).where(outbox.c.last_error.like("folded into%"))
            ).all()
        assert len(digest_rows) == 1 and digest_rows[0].delivered_at is not None
        assert len(folded) == 9
        # The bucket is empty now: new rows wait (not dropped, not sent) ...
        _add(store, 3, start=10)
        assert relay.run_once() == 0
        assert relay.counts()["pending"] == 3
        # ... until a token comes back (30 s), when they go out as one digest.
        t[0] += 30
        assert relay.run_once() == 1
        last = rx.received[-1].json
        assert last["type"] == "digest" and [it["key"] for it in last["items"]] == [
            "wo-10:1:bot",
            "wo-11:1:bot",
            "wo-12:1:bot",
        ]
        # every one of the 13 notifications reached the receiver, individually or folded
        seen = set()
        for r in rx.received:
            if r.json["type"] == "digest":
                seen |= {it["key"] for it in r.json["items"]}
            else:
                seen.add(r.key)
        assert seen == {f"wo-{i}:1:bot" for i in range(13)}
        assert len(rx.received) == 3  # within the limit: 3 sends in 30 s
        relay.close()


def test_a_failed_digest_is_retried_like_any_row(store):
    t = [100.0]
    with WebhookReceiver(responses=[200, 500]) as rx:
        relay = OutboxRelay(
            store.engine,
            {"bot": WebhookNotifier(rx.url, secret=None)},
            clock=lambda: t[0],
            limits={"bot": RateLimit(messages=4, per_s=60, burst=2)},
            retry=RetrySettings(base_s=1.0, jitter=0.0),
        )
        _add(store, 5)
        assert relay.run_once() == 1  # the single one; the digest got a 500
        assert relay.counts() == {"pending": 1, "delivered": 5, "dead": 0}  # 4 folded + 1
        t[0] += 30
        assert relay.run_once() == 1
        assert rx.received[-1].json["type"] == "digest" and rx.received[-1].json["count"] == 4
        assert rx.received[-1].key == rx.received[-2].key  # the same digest, resent
        relay.close()
