"""An event's evidence clip reaches its work order's notifications (events.clip, 0003_i19)."""

from __future__ import annotations

import dataclasses
import json

import sqlalchemy as sa

from gridsight.orders.notify.render import render
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import events, outbox

from .helpers import Clock, event, service


def test_the_clip_of_an_event_is_stored_and_sent_with_its_order(store: OrderStore) -> None:
    svc = service(store, Clock(), channels=("hook",))
    start = dataclasses.replace(event(snapshot="snaps/1.jpg"), clip="clips/cam/1.mp4")
    order = svc.ingest_event(start)
    assert order is not None
    with store.read() as conn:
        assert conn.execute(sa.select(events.c.clip)).scalar_one() == "clips/cam/1.mp4"
        rows = conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()
    last = json.loads(rows[-1].payload)
    assert last["clip"] == "clips/cam/1.mp4" and last["snapshot"] == "snaps/1.jpg"
    _, body = render(last)
    assert "Clip: clips/cam/1.mp4" in body


def test_an_event_without_a_clip_says_nothing_of_one(store: OrderStore) -> None:
    svc = service(store, Clock(), channels=("hook",))
    assert svc.ingest_event(event()) is not None
    with store.read() as conn:
        last = json.loads(conn.execute(sa.select(outbox.c.payload)).scalars().all()[-1])
    assert last["clip"] is None and "Clip:" not in render(last)[1]


def test_the_stored_event_carries_its_clip(store: OrderStore) -> None:
    from gridsight.orders.event_log import StoredEvent

    svc = service(store, Clock())
    svc.ingest_event(dataclasses.replace(event(), clip="clips/x.mp4"))
    with store.read() as conn:
        row = conn.execute(sa.select(events)).first()
    assert StoredEvent.from_row(row).clip == "clips/x.mp4"
