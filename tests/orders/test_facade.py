"""The API's way to the work orders (gridsight.orders.facade): one transaction per tap,
another worker's order invisible, today's figures; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from gridsight.orders.errors import OrderNotFound
from gridsight.orders.facade import OrdersFacade
from gridsight.orders.store import OrderStore

from .helpers import Clock, event, service


@contextmanager
def transactions(store: OrderStore) -> Iterator[list[int]]:
    """Counts the transactions begun on the store's engine inside the block."""
    seen = [0]

    def on_begin(_conn: object) -> None:
        seen[0] += 1

    sa.event.listen(store.engine, "begin", on_begin)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "begin", on_begin)


def test_a_workers_tap_is_one_transaction_and_answers_with_the_trail(store: OrderStore) -> None:
    clock = Clock()
    orders = OrdersFacade(service(store, clock))
    order = orders.service.ingest_event(event())  # near_water: dispatched at once
    assert order is not None and order.assignee
    with transactions(store) as n:
        moved = orders.transition(
            order.id,
            "acknowledged",
            actor=f"worker:{order.assignee}",
            role="worker",
            visible_to=order.assignee,
        )
    assert n[0] == 1
    assert moved.state == "acknowledged" and moved.transitions[-1].to_state == "acknowledged"
    with transactions(store) as n:
        noted = orders.note(
            order.id, "on my way", actor=f"worker:{order.assignee}", role="worker",
            visible_to=order.assignee,
        )  # fmt: skip
    assert n[0] == 1 and noted.transitions[-1].note == "on my way"
    with transactions(store) as n:
        entry = orders.report_position(order.assignee, 1.5, 2.5)
    assert n[0] == 1 and (entry.x_km, entry.y_km) == (1.5, 2.5)


def test_another_workers_order_does_not_exist_for_a_worker(store: OrderStore) -> None:
    orders = OrdersFacade(service(store, Clock()))
    order = orders.service.ingest_event(event())
    assert order is not None and order.assignee
    with pytest.raises(OrderNotFound):
        orders.get(order.id, visible_to="someone-else")
    with pytest.raises(OrderNotFound):  # not IllegalTransition: nothing is revealed
        orders.transition(
            order.id, "closed", actor="worker:someone-else", role="worker",
            visible_to="someone-else",
        )  # fmt: skip
    assert orders.get(order.id).state == "dispatched"  # unchanged


def test_today_counts_the_days_orders_and_clocks(store: OrderStore) -> None:
    clock = Clock()
    orders = OrdersFacade(service(store, clock))
    orders.service.ingest_event(event())  # dispatched at once: dispatch clock met
    orders.service.ingest_event(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    clock.advance(120)  # the fire lane waits for verification: its dispatch clock breaks
    day = orders.today()
    assert (day.orders, day.open, day.closed) == (2, 2, 0)
    assert (day.dispatch_met, day.dispatch_decided) == (1, 2)
    assert day.since <= clock.t - 120 and day.now == clock.t
