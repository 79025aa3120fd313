"""OrderService on SQLite and PostgreSQL: the loop from alert to closed case."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from gridsight.core.errors import GridsightError
from gridsight.orders.config import OrdersConfig, Supervisor
from gridsight.orders.errors import (
    IllegalTransition,
    NotPermitted,
    OrderNotFound,
    UnknownWorker,
    VersionConflict,
)
from gridsight.orders.service import UnknownPlace
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import outbox, transitions, work_orders
from gridsight.orders.views import BadCursor, OrderFilter

from .helpers import Clock, event, service


def _counts(store: OrderStore) -> tuple[int, int, int]:
    with store.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (work_orders, transitions, outbox)
        )


def test_near_water_is_verified_and_dispatched_at_once(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock, channels=("hook", "mqtt"))
    order = svc.ingest_event(event(snapshot="snaps/1.jpg"))
    assert order is not None
    assert order.state == "dispatched"
    assert order.assignee == "gw-ruijia-g01"  # the grid owner of the camera's grid
    assert order.dispatched_at == clock.t and order.sla_dispatch == "met"
    assert order.ack_due_at == clock.t + 120.0
    assert order.close_due_at - order.created_at == 55 * 60
    full = svc.get(order.id)
    assert [(t.from_state, t.to_state) for t in full.transitions] == [
        (None, "new"),
        ("new", "verified"),
        ("verified", "dispatched"),
    ]
    assert [t.seq for t in full.transitions] == [1, 2, 3] and full.version == 3
    with store.read() as conn:
        rows = conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()
    assert len(rows) == 6  # 3 changes x 2 channels
    assert {r.key for r in rows} == {
        f"{order.id}:{s}:{c}" for s in (1, 2, 3) for c in ("hook", "mqtt")
    }
    last = json.loads(rows[-1].payload)
    assert (
        last["type"] == "update" and last["before"] == "verified" and last["after"] == "dispatched"
    )
    assert last["snapshot"] == "snaps/1.jpg" and last["camera"] == "cam-reservoir-01"
    assert last["to"] == ["gw-ruijia-g01"] and last["idempotency_key"] == rows[-1].key


def test_full_loop_closes_on_camera_clearance(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    start = event()
    order = svc.ingest_event(start)
    assert order is not None
    worker = f"worker:{order.assignee}"
    clock.advance(20)
    svc.transition(order.id, "acknowledged", actor=worker, role="worker", position=(5.5, 4.5))
    clock.advance(300)
    svc.transition(order.id, "on_site", actor=worker, role="worker")
    clock.advance(600)
    resolved = svc.transition(
        order.id, "resolved", actor=worker, role="worker", note="moved on", photo="up/1.jpg"
    )
    assert resolved.state == "resolved" and resolved.hazard_active
    clock.advance(30)
    closed = svc.ingest_event(event("end", eid=start.id))
    assert closed is not None and closed.state == "closed"
    assert closed.cleared_at == clock.t and closed.sla_close == "met"
    trail = svc.get(order.id).transitions
    assert trail[-1].actor == "system" and trail[-1].data["event"] == "camera_clearance"
    assert trail[-2].photo == "up/1.jpg" and trail[-2].note == "moved on"
    on_duty = {e.id: e for e in svc.workers_on_duty()}
    # The on-site report moved the worker to the reservoir camera's position.
    assert (on_duty["gw-ruijia-g01"].x_km, on_duty["gw-ruijia-g01"].y_km) == (5.6, 4.9)
    assert on_duty["gw-ruijia-g01"].load == 1 and not on_duty["gw-ruijia-g01"].busy


def test_clearance_before_resolution_closes_when_the_worker_reports(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    start = event()
    order = svc.ingest_event(start)
    assert order is not None
    w = f"worker:{order.assignee}"
    svc.transition(order.id, "acknowledged", actor=w, role="worker")
    svc.transition(order.id, "on_site", actor=w, role="worker")
    cleared = svc.ingest_event(event("end", eid=start.id))
    assert cleared is not None and cleared.state == "on_site" and cleared.cleared_at is not None
    done = svc.transition(order.id, "resolved", actor=w, role="worker")
    assert done.state == "closed"


def test_repeated_identical_transition_is_idempotent(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    order = svc.ingest_event(event())
    assert order is not None
    w = f"worker:{order.assignee}"
    first = svc.transition(order.id, "acknowledged", actor=w, role="worker")
    before = _counts(store)
    clock.advance(5)
    again = svc.transition(order.id, "acknowledged", actor=w, role="worker")
    assert again == first
    assert _counts(store) == before
    # The same target by someone else is not a repeat: it is illegal from 'acknowledged'.
    with pytest.raises(IllegalTransition):
        svc.transition(order.id, "acknowledged", actor="operator:bo", role="operator")


def test_illegal_transition_names_state_and_allowed(store: OrderStore) -> None:
    svc = service(store, Clock())
    order = svc.ingest_event(event())
    assert order is not None
    with pytest.raises(IllegalTransition) as info:
        svc.transition(order.id, "closed", actor="operator:a", role="operator")
    err = info.value
    assert err.current == "dispatched" and err.to == "closed"
    assert err.allowed == ["acknowledged", "escalated", "cancelled"]
    assert "'dispatched'" in str(err) and "acknowledged, escalated, cancelled" in str(err)
    assert isinstance(err, GridsightError)


def test_only_the_assigned_worker_may_act(store: OrderStore) -> None:
    svc = service(store, Clock())
    order = svc.ingest_event(event())
    assert order is not None
    with pytest.raises(NotPermitted, match="not the assignee"):
        svc.transition(order.id, "acknowledged", actor="worker:gw-ruijia-g02", role="worker")
    with pytest.raises(NotPermitted, match="operator, supervisor, admin"):
        svc.transition(order.id, "escalated", actor="worker:gw-ruijia-g01", role="worker")
    assert svc.allowed(order.id, "worker") == ["acknowledged"]
    assert svc.allowed(order.id, "operator") == ["acknowledged", "escalated", "cancelled"]


def test_unknown_order_worker_and_place(store: OrderStore) -> None:
    svc = service(store, Clock())
    with pytest.raises(OrderNotFound, match="wo-nope"):
        svc.get("wo-nope")
    order = svc.ingest_event(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    assert order is not None
    svc.transition(order.id, "verified", actor="operator:a", role="operator")
    with pytest.raises(UnknownWorker, match="'gw-atlantis' is not on the roster; known: "):
        svc.transition(
            order.id, "dispatched", actor="operator:a", role="operator", worker="gw-atlantis"
        )
    with pytest.raises(UnknownPlace, match="unknown village 'atlantis'"):
        svc.create_manual("fire_lane", "atlantis", "x", title="t", actor="operator:a")
    with pytest.raises(UnknownPlace, match="grid 'tai-g01' is not a grid of 'ruijia'"):
        svc.create_manual("fire_lane", "ruijia", "tai-g01", title="t", actor="operator:a")
    with pytest.raises(UnknownPlace, match="unknown request kind 'pizza'; kinds: hotline_12345"):
        svc.create_request("pizza", "ruijia", "ruijia-g01", title="t")


def test_stale_version_is_a_conflict(store: OrderStore) -> None:
    svc = service(store, Clock())
    order = svc.ingest_event(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    assert order is not None and order.state == "new"
    # Two operators saw version 1; the first verifies, the second rejects.
    svc.transition(order.id, "verified", actor="operator:a", role="operator", expected_version=1)
    with pytest.raises(VersionConflict) as info:
        svc.transition(
            order.id, "rejected", actor="operator:b", role="operator", expected_version=1
        )
    assert info.value.expected == 1 and info.value.actual >= 2
    assert svc.get(order.id).state == "dispatched"


def test_operator_verification_then_dispatch(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    order = svc.ingest_event(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    assert order is not None and order.state == "new" and order.assignee is None
    clock.advance(25)
    verified = svc.transition(order.id, "verified", actor="operator:alice", role="operator")
    assert verified.state == "dispatched" and verified.assignee == "gw-ruijia-g04"
    assert verified.dispatched_at == order.created_at + 25 and verified.sla_dispatch == "met"


def test_ack_timeout_escalates_to_the_cadre_then_volunteers(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    order = svc.ingest_event(event())
    assert order is not None and order.assignee == "gw-ruijia-g01"
    clock.advance(119)
    assert svc.tick() == []
    clock.advance(1)
    (changed,) = svc.tick()
    assert changed.state == "dispatched" and changed.assignee == "cadre-ruijia"
    assert changed.tier == 1 and changed.tried == ("gw-ruijia-g01",) and changed.escalations == 1
    clock.advance(120)
    (again,) = svc.tick()
    assert (
        again.tier == 2 and again.assignee is not None and again.assignee.startswith("vol-ruijia-")
    )
    kinds = [t.to_state for t in svc.get(order.id).transitions]
    assert kinds.count("escalated") == 2
    assert svc.get(order.id).transitions[3].data == {
        "reason": "ack_timeout",
        "worker": "gw-ruijia-g01",
    }


def test_sla_breach_notifies_the_supervisor(store: OrderStore) -> None:
    clock = Clock()
    settings = OrdersConfig(supervisor=Supervisor(id="duty-chief", name="值班长", channel="ops"))
    svc = service(store, clock, channels=("ops", "chat"), settings=settings)
    order = svc.ingest_event(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    assert order is not None
    clock.advance(60)
    assert svc.tick() == []  # due at exactly alarm + 60 s: not yet late
    clock.advance(1)
    (late,) = svc.tick()
    assert late.sla_dispatch == "breached" and late.sla_close == "ongoing"
    assert late.supervisor == "duty-chief" and late.state == "new"
    rec = svc.get(order.id).transitions[-1]
    assert rec.from_state == rec.to_state == "new" and rec.data["event"] == "sla_breach"
    with store.read() as conn:
        breach = conn.execute(sa.select(outbox).where(outbox.c.kind == "sla_breach")).all()
    assert [r.channel for r in breach] == ["ops"]
    assert json.loads(breach[0].payload)["to"] == ["duty-chief"]
    assert svc.tick() == []  # a breach is told once
    # Dispatched late: the clock stays breached.
    v = svc.transition(order.id, "verified", actor="operator:a", role="operator")
    assert v.state == "dispatched" and v.sla_dispatch == "breached"
    clock.advance(55 * 60)
    (late_close,) = svc.tick()
    assert late_close.sla_close == "breached"


def test_clearance_before_anyone_went_cancels(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    start = event(camera="cam-fire-lane-01", hazard="fire_lane")
    order = svc.ingest_event(start)
    assert order is not None and order.state == "new"
    clock.advance(30)
    done = svc.ingest_event(event("end", eid=start.id))
    assert done is not None and done.state == "cancelled"
    assert done.sla_dispatch == "void" and done.sla_close == "void"


def test_repeat_alert_attaches_and_recurrence_reopens(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    first = event()
    order = svc.ingest_event(first)
    assert order is not None
    repeat = event()
    again = svc.ingest_event(repeat)
    assert again is not None and again.id == order.id  # attached, not a second order
    w = f"worker:{order.assignee}"
    for to in ("acknowledged", "on_site", "resolved"):
        svc.transition(order.id, to, actor=w, role="worker")
    svc.ingest_event(event("end", eid=first.id))
    assert svc.get(order.id).state == "resolved"  # the second event is still active
    svc.ingest_event(event("end", eid=repeat.id))
    assert svc.get(order.id).state == "closed"
    clock.advance(10 * 60)
    back = svc.ingest_event(event())
    assert back is not None and back.id == order.id and back.state == "dispatched"
    states = [t.to_state for t in svc.get(order.id).transitions]
    assert states[-2:] == ["reopened", "dispatched"]
    assert store.count_orders() == 1
    # Long after the window a recurrence is a new case.
    w = f"worker:{back.assignee}"
    for to in ("acknowledged", "on_site", "resolved"):
        svc.transition(order.id, to, actor=w, role="worker")
    svc.transition(order.id, "closed", actor="operator:a", role="operator")
    clock.advance(31 * 60)
    fresh = svc.ingest_event(event())
    assert fresh is not None and fresh.id != order.id
    assert store.count_orders() == 2


def test_redelivered_events_change_nothing(store: OrderStore) -> None:
    svc = service(store, Clock())
    start = event()
    order = svc.ingest_event(start)
    before = _counts(store)
    assert svc.ingest_event(start) == order
    assert _counts(store) == before
    assert svc.ingest_event(event("update", eid="never-started")) is None
    end = event("end", eid=start.id)
    svc.ingest_event(end)
    after_end = _counts(store)
    svc.ingest_event(end)
    assert _counts(store) == after_end


def test_off_shift_grid_staff_are_skipped(store: OrderStore) -> None:
    clock = Clock(Clock().t - 7 * 3600)  # 03:00 local: only cadres (24 h) are on duty
    svc = service(store, clock)
    order = svc.ingest_event(event())
    assert order is not None and order.assignee == "cadre-ruijia"
    assert all(e.member.role == "cadre" for e in svc.workers_on_duty())


def test_requests_and_manual_orders(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock)
    req = svc.create_request(
        "qr_service", "tai", "tai-g03", title="social-security card", channel="qr"
    )
    assert req.source == "resident" and req.state == "new" and req.priority == 1
    assert req.close_due_at - req.created_at == 3 * 24 * 3600
    triaged = svc.transition(req.id, "verified", actor="operator:a", role="operator")
    assert triaged.state == "dispatched" and triaged.assignee == "gw-tai-g03"
    manual = svc.create_manual(
        "fire_lane", "da", "da-g02", title="lane blocked", actor="operator:b", x_km=7.6, y_km=2.9
    )
    assert manual.state == "dispatched" and manual.source == "operator"
    assert svc.get(manual.id).transitions[1].actor == "operator:b"


def test_list_filters_and_cursor_pagination(store: OrderStore) -> None:
    clock = Clock()
    svc = service(store, clock, channels=())
    made = []
    for k in range(7):
        clock.advance(1)
        made.append(
            svc.create_manual(
                "fire_lane", "ruijia", "ruijia-g02", title=f"#{k}", actor="operator:a"
            )
        )
    seen = []
    cursor = None
    while True:
        page = svc.list(OrderFilter(village="ruijia"), limit=3, cursor=cursor)
        seen.extend(o.id for o in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [o.id for o in reversed(made)]
    assert svc.list(OrderFilter(village="tai")).items == ()
    assert len(svc.list(OrderFilter(states=("dispatched",)), limit=100).items) == 7
    with pytest.raises(BadCursor):
        svc.list(cursor="garbage!")


def test_notes_overdue_filter_and_change_listener(store: OrderStore) -> None:
    clock = Clock(Clock().t - 7 * 3600)  # 03:00: only the village cadre is on duty
    seen: list[tuple[str, str]] = []
    svc = service(store, clock)
    svc.on_change = lambda v: seen.append((v.id, v.state))
    first = svc.ingest_event(event())
    assert first is not None and first.assignee == "cadre-ruijia"
    queued = svc.create_manual("fire_lane", "ruijia", "ruijia-g02", title="t", actor="operator:a")
    assert queued.state == "verified" and queued.assignee is None  # nobody free: queued
    noted = svc.note(first.id, "called the cadre", actor="operator:a", role="operator")
    assert noted.state == first.state and noted.version == first.version + 1
    rec = svc.get(first.id).transitions[-1]
    assert rec.note == "called the cadre" and rec.data == {"event": "note"}
    with pytest.raises(NotPermitted):
        svc.note(first.id, "x", actor="worker:gw-ruijia-g02", role="worker")
    clock.advance(61)
    overdue = svc.list(OrderFilter(overdue_at=clock.t)).items
    assert [o.id for o in overdue] == [queued.id]  # not dispatched within 60 s
    w = "worker:cadre-ruijia"
    for to in ("acknowledged", "on_site"):
        svc.transition(first.id, to, actor=w, role="worker")
    seen.clear()
    svc.transition(first.id, "resolved", actor=w, role="worker")
    # The freed cadre took the queued order in the same transaction; both are reported.
    assert (first.id, "resolved") in seen and (queued.id, "dispatched") in seen
    assert svc.get(queued.id).assignee == "cadre-ruijia"


def test_recurrence_of_an_order_never_verified_waits_for_verification(store: OrderStore) -> None:
    # An e-bike order (no auto-verification) that cleared before anyone verified it must
    # not be dispatched when the hazard comes back: nobody has confirmed it is real.
    clock = Clock()
    svc = service(store, clock)
    first = event(camera="cam-stairwell-01", hazard="ebike")
    order = svc.ingest_event(first)
    assert order is not None and order.state == "new"
    svc.ingest_event(event("end", camera="cam-stairwell-01", hazard="ebike", eid=first.id))
    assert svc.get(order.id).state == "cancelled"
    clock.advance(60)
    back = svc.ingest_event(event(camera="cam-stairwell-01", hazard="ebike"))
    assert back is not None
    assert back.state == "new" and back.assignee is None
    with store.read() as conn:
        dispatched = conn.execute(
            sa.select(sa.func.count())
            .select_from(transitions)
            .where(transitions.c.to_state == "dispatched")
        ).scalar_one()
    assert dispatched == 0
    # Once verified, the same hazard coming back after clearance reopens and dispatches.
    svc.transition(back.id, "verified", actor="operator:a", role="operator")
    assert svc.get(back.id).state == "dispatched"
