"""Recovery after a crash, in the domain: events an earlier process left open are ended
(reason ``restart``, at their last known time) and their orders reconciled, on SQLite and
PostgreSQL. The end-to-end test with ``kill -9`` is tests/live/test_crash_recovery.py."""

from __future__ import annotations

import json

import sqlalchemy as sa

from gridsight.orders.store import OrderStore
from gridsight.orders.tables import events, work_orders

from .helpers import Clock, event, service


def _event_row(store: OrderStore, eid: str) -> dict:
    with store.read() as conn:
        return dict(conn.execute(sa.select(events).where(events.c.id == eid)).one()._mapping)


def test_open_events_end_at_their_last_known_time_and_orders_reconcile(
    store: OrderStore,
) -> None:
    clock = Clock()
    svc = service(store, clock)
    water = event()  # near_water: verified and dispatched at once
    lane = event(camera="cam-fire-lane-01", hazard="fire_lane")  # stays new
    done = event(camera="cam-stairwell-01", hazard="ebike")
    dispatched = svc.ingest_event(water)
    untouched = svc.ingest_event(lane)
    svc.ingest_event(done)
    clock.advance(20)
    svc.ingest_event(event("update", eid=water.id))  # last known at +20 s
    svc.ingest_event(event("end", eid=done.id))  # ended normally: not touched again
    assert dispatched is not None and untouched is not None
    # The process dies; a new one starts 5 minutes later.
    clock.advance(300)
    changed = svc.end_left_open(["cam-reservoir-01", "cam-fire-lane-01"], now=clock())
    assert {v.id for v in changed} == {dispatched.id, untouched.id}
    for ev, last in ((water, clock.t - 300), (lane, clock.t - 320)):
        row = _event_row(store, ev.id)
        assert row["ended_at"] == last and row["last_phase"] == "end"
        assert json.loads(row["extra"])["end_reason"] == "restart"
    assert "end_reason" not in json.loads(_event_row(store, done.id)["extra"])
    water_order = svc.get(dispatched.id)
    assert not water_order.hazard_active and water_order.state == "dispatched"
    assert any(t.data.get("event") == "restart" for t in water_order.transitions)
    lane_order = svc.get(untouched.id)  # nobody went: a restart cancels nothing
    assert not lane_order.hazard_active and lane_order.state == "new"
    assert any(t.data.get("event") == "restart" for t in lane_order.transitions)
    # Nothing is left open, and a second recovery finds nothing to do.
    with store.read() as conn:
        left = conn.execute(
            sa.select(sa.func.count()).select_from(events).where(events.c.ended_at.is_(None))
        ).scalar_one()
    assert left == 0
    assert svc.end_left_open(None, now=clock()) == []


def test_the_new_frames_decide_a_hazard_still_there_reopens_its_order(
    store: OrderStore,
) -> None:
    clock = Clock()
    svc = service(store, clock)
    lane = event(camera="cam-fire-lane-01", hazard="fire_lane")
    order = svc.ingest_event(lane)
    assert order is not None
    clock.advance(60)
    svc.end_left_open(["cam-fire-lane-01"], now=clock())
    assert svc.get(order.id).state == "new" and not svc.get(order.id).hazard_active
    clock.advance(30)  # the restarted engine sees the lane still blocked
    back = svc.ingest_event(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    assert back is not None and back.id == order.id  # the same order, not a second one
    assert back.hazard_active and back.state == "new"
    assert store.count_orders() == 1


def test_a_resolved_order_closes_and_a_hazard_still_there_reopens_it(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    order = svc.ingest_event(event())  # near_water: dispatched at once
    assert order is not None and order.assignee
    for to in ("acknowledged", "on_site", "resolved"):
        svc.transition(order.id, to, actor=f"worker:{order.assignee}", role="worker")
    clock.advance(60)
    svc.end_left_open(None, now=clock())  # waiting for the camera's confirmation
    assert svc.get(order.id).state == "closed"
    clock.advance(30)
    back = svc.ingest_event(event())
    assert back is not None and back.id == order.id and back.hazard_active
    assert "reopened" in [t.to_state for t in svc.get(order.id).transitions]
    assert store.count_orders() == 1


def test_recovery_touches_only_the_cameras_it_is_given(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    mine, other = event(), event(camera="cam-stairwell-01", hazard="ebike")
    svc.ingest_event(mine)
    svc.ingest_event(other)
    svc.end_left_open(["cam-reservoir-01"], now=clock())
    assert _event_row(store, mine.id)["ended_at"] is not None
    assert _event_row(store, other.id)["ended_at"] is None  # another node's camera


def test_on_the_streams_clock_records_follow_the_orders_last_record(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    water = event()
    order = svc.ingest_event(water)
    assert order is not None
    clock.advance(600)
    svc.tick()  # an escalation (no acknowledgement) recorded after the event's last time
    before = svc.get(order.id).transitions[-1].at
    svc.end_left_open(None, now=None)  # the streams' clock: "now" unknown yet
    after = svc.get(order.id)
    assert after.transitions[-1].at == max(before, clock.t - 600)
    with store.read() as conn:
        active = conn.execute(
            sa.select(work_orders.c.hazard_active).where(work_orders.c.id == order.id)
        ).scalar_one()
    assert active is False or active == 0
