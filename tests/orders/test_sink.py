"""OrdersSink: events become orders from a background thread; a down store is retried."""

from __future__ import annotations

import sqlalchemy as sa

from gridsight.orders.service import OrderService
from gridsight.orders.sink import OrdersSink
from gridsight.orders.store import OrderStore

from .helpers import Clock, event, service


def test_events_become_dispatched_orders(tmp_path) -> None:
    svc = service(OrderStore.open(tmp_path / "o.sqlite"), Clock())
    sink = OrdersSink(svc, tick_s=0.05)
    start = event()
    sink.write(start)
    sink.write(event("update", eid=start.id))
    sink.write(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    sink.close()
    assert sink.ingested == 3 and sink.pending == 0 and sink.errors == 0
    states = sorted(o.state for o in sink.orders.values())
    assert states == ["dispatched", "new"]
    assert svc.store.count_orders() == 2


class Flaky(OrderService):
    """Fails the first ``n`` ingests as an unreachable database would."""

    fail = 3

    def ingest_event(self, event):  # type: ignore[no-untyped-def]
        if Flaky.fail > 0:
            Flaky.fail -= 1
            raise sa.exc.OperationalError("INSERT", {}, ConnectionRefusedError("db down"))
        return super().ingest_event(event)


def test_a_down_store_is_retried_and_nothing_is_lost(tmp_path) -> None:
    from .helpers import jingqiao

    svc = Flaky(OrderStore.open(tmp_path / "o.sqlite"), jingqiao(), clock=Clock())
    sink = OrdersSink(svc, tick_s=10.0)
    sink.write(event())
    sink.write(event(camera="cam-stairwell-01", hazard="ebike"))
    sink.close()
    assert sink.errors == 3 and "store unavailable" in (sink.last_error or "")
    assert sink.ingested == 2 and svc.store.count_orders() == 2


def test_a_full_queue_drops_updates_first(tmp_path) -> None:
    svc = service(OrderStore.open(tmp_path / "o.sqlite"), Clock())
    sink = OrdersSink(svc, max_queue=2, tick_s=10.0)
    with sink._cond:  # hold the worker so the queue fills
        start = event()
        sink._queue.append(start)
        sink._queue.append(event("update", eid=start.id))
        sink.write(event("end", eid=start.id))  # makes room by dropping the update
        sink.write(event("update", eid=start.id))  # full, and only an update: dropped
    sink.close()
    assert sink.dropped == 2
    (order,) = sink.orders.values()
    assert order.state == "dispatched" and order.cleared_at is not None
