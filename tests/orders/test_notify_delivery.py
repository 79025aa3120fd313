"""The live path end to end: an engine alert -> work order -> outbox -> relay -> webhook,
with the acknowledge token and link a worker uses."""

from __future__ import annotations

from gridsight.core.plugins import build_plugin_manager
from gridsight.orders.notify.ack import verify_ack_token
from gridsight.orders.notify.delivery import Delivery
from gridsight.orders.notify.receiver import WebhookReceiver
from gridsight.orders.service import OrderService

from .helpers import Clock, event, jingqiao

SECRET = "e2e-secret"


def test_alert_becomes_signed_notifications_with_ack_link(store, monkeypatch):
    monkeypatch.delenv("GRIDSIGHT_ACK_SECRET", raising=False)
    monkeypatch.setenv("GRIDSIGHT_WEBHOOK_SECRET", SECRET)
    clock = Clock()
    with WebhookReceiver(secret=SECRET) as rx:
        delivery = Delivery.open(
            build_plugin_manager(),
            None,
            [rx.url],
            store.engine,
            clock=clock,
            ack_url="http://centre.local/ack",
            poll_s=0.05,
        )
        try:
            assert delivery.names == ("webhook-1",)
            svc = OrderService(
                store,
                jingqiao(),
                clock=clock,
                channels=delivery.names,
                ack_secret=delivery.ack_secret,
            )
            order = svc.ingest_event(event(snapshot="evidence/ev-9.jpg"))
            assert order is not None and order.state == "dispatched"
            delivery.wake()
            assert rx.wait_for(3, timeout_s=20)
            assert delivery.flush(5) == 0
        finally:
            delivery.close()
    got = [r.json for r in rx.accepted]
    assert all(r.signature_ok for r in rx.received)
    assert [(g["before"], g["after"]) for g in got] == [
        (None, "new"),
        ("new", "verified"),
        ("verified", "dispatched"),
    ]
    assert [r.key for r in rx.accepted] == [f"{order.id}:{s}:webhook-1" for s in (1, 2, 3)]
    last = got[-1]
    assert last["order"]["id"] == order.id and last["hazard"] == "near_water"
    assert last["camera"] == "cam-reservoir-01" and last["snapshot"] == "evidence/ev-9.jpg"
    assert last["village"] == order.village and last["grid"] == order.grid
    assert last["dispatch_due_at"] == order.dispatch_due_at
    assert last["close_due_at"] == order.close_due_at
    claim = verify_ack_token(last["ack_token"], SECRET, order_id=order.id)
    assert claim.worker == order.assignee
    assert last["ack_url"].startswith("http://centre.local/ack?token=")
    assert last["idempotency_key"] == rx.accepted[-1].key
