"""Engine events into work orders: open, attach, refresh, clear, reopen.

* ``start``: the event is stored; if an order on the same camera and hazard is open the
  event attaches to it (a ``resolved`` one is reopened: the hazard is back before the
  case was checked); else if one was closed or cancelled within the reopen window it is
  reopened (same order, a new record); else a new order opens.
* ``update``: refreshes the stored event (confidence, boxes, snapshot); no record.
* ``end``: the camera no longer sees the hazard. Once no event of the order is active,
  the order records camera-confirmed clearance (``cleared_at``): a ``resolved`` order
  closes; one nobody has gone to yet (``new``, ``verified``, ``reopened``) is cancelled
  where the hazard's settings say so; any other gets an annotation.

Re-delivering an event (a writer restarted and re-sent its tail) changes nothing.

After a crash, :func:`end_left_open` ends the events the dead process left open (at
their last known time, reason ``restart``) and reconciles their orders the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridsight.core.events import HazardEvent
from gridsight.orders.ledger import END, Ledger, Record, Row
from gridsight.orders.tables import events, transitions, work_orders
from gridsight.orders.workflow import Workflow, open_key

NOT_YET_GONE = ("new", "verified", "reopened")


def ingest(flow: Workflow, conn: Connection, event: HazardEvent, now: float) -> Row | None:
    """Apply one event inside the caller's transaction; returns the order row (or None)."""
    if event.phase == "start":
        return _start(flow, conn, event, now)
    stored = conn.execute(sa.select(events).where(events.c.id == event.id)).first()
    if stored is None:
        return None
    order = Ledger.read(conn, stored.order_id, lock=True) if stored.order_id else None
    if event.phase == "update":
        values: dict[str, object] = {
            "last_phase": "update",
            "last_at": now,
            "confidence": float(event.confidence),
            "boxes": json.dumps([list(b) for b in event.boxes]),
            "track_ids": json.dumps([int(t) for t in event.track_ids]),
        }
        if event.snapshot is not None:
            values["snapshot"] = event.snapshot
        if stored.ended_at is None:
            conn.execute(sa.update(events).where(events.c.id == event.id).values(**values))
        return order
    if stored.ended_at is not None:
        return order  # already ended: a re-delivery
    conn.execute(
        sa.update(events)
        .where(events.c.id == event.id)
        .values(last_phase="end", last_at=now, ended_at=now)
    )
    if order is None:
        return None
    return cleared(flow, conn, order, event.id, now)


def _event_row(event: HazardEvent, now: float) -> dict[str, object]:
    return {
        "id": event.id,
        "camera": event.camera,
        "hazard": event.hazard,
        "village": event.village,
        "grid": event.grid,
        "started_ts": float(event.ts),
        "started_at": now,
        "last_phase": "start",
        "last_at": now,
        "ended_at": None,
        "confidence": float(event.confidence),
        "boxes": json.dumps([list(b) for b in event.boxes]),
        "track_ids": json.dumps([int(t) for t in event.track_ids]),
        "snapshot": event.snapshot,
        "clip": event.clip,
        "extra": json.dumps(event.extra, sort_keys=True, default=str),
        "order_id": None,
    }


def _start(flow: Workflow, conn: Connection, event: HazardEvent, now: float) -> Row | None:
    stored = conn.execute(sa.select(events.c.order_id).where(events.c.id == event.id)).first()
    if stored is not None:
        return Ledger.read(conn, stored.order_id) if stored.order_id else None
    conn.execute(sa.insert(events).values(**_event_row(event, now)))
    key = open_key(event.camera, event.hazard)
    found = conn.execute(
        sa.select(work_orders).where(work_orders.c.open_key == key).with_for_update()
    ).first()
    if found is not None:
        row = _attach(flow, conn, dict(found._mapping), event, now)
    else:
        recent = _recently_ended(flow, conn, event, now)
        if recent is not None:
            row = flow.reopen(
                conn, recent, now,
                Record("reopened", "system", "system",
                       note=f"the hazard came back (event {event.id})",
                       data={"event": event.id, "reason": "recurrence"}),
            )  # fmt: skip
            row = _mark_active(flow, conn, row)
        else:
            row = flow.open_camera_order(conn, event, now)
    conn.execute(sa.update(events).where(events.c.id == event.id).values(order_id=row["id"]))
    return row


def _mark_active(flow: Workflow, conn: Connection, row: Row) -> Row:
    if not row["hazard_active"] or row["cleared_at"] is not None:
        flow.ledger.housekeep(conn, row, {"hazard_active": True, "cleared_at": None})
    return row


def _attach(flow: Workflow, conn: Connection, row: Row, event: HazardEvent, now: float) -> Row:
    if row["state"] == "resolved":
        rec = Record(
            "reopened", "system", "system",
            note=f"the hazard is back before the case was checked (event {event.id})",
            data={"event": event.id, "reason": "recurrence"},
        )  # fmt: skip
        row = flow.reopen(conn, row, now, rec)
        return _mark_active(flow, conn, row)
    rec = Record(
        row["state"], "system", "system",
        note=f"the camera raised the hazard again (event {event.id})",
        data={"event": "attached", "event_id": event.id},
    )  # fmt: skip
    return flow.change(conn, row, rec, now, hazard_active=True, cleared_at=None)


def _recently_ended(flow: Workflow, conn: Connection, event: HazardEvent, now: float) -> Row | None:
    window = flow.settings.reopen_s(event.hazard)
    if window <= 0:
        return None
    wo = work_orders.c
    found = conn.execute(
        sa.select(work_orders)
        .with_for_update()
        .where(
            wo.camera == event.camera,
            wo.kind == event.hazard,
            wo.state.in_(("closed", "cancelled")),
            wo.updated_at >= now - window,
        )
        .order_by(wo.updated_at.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    row = dict(found._mapping)
    ended = conn.execute(
        sa.select(sa.func.max(transitions.c.at)).where(
            transitions.c.order_id == row["id"],
            transitions.c.to_state.in_(("closed", "cancelled")),
        )
    ).scalar()
    if ended is None or now - float(ended) > window:
        return None
    if not flow.was_verified(conn, row["id"]):
        return None  # never verified: the recurrence is a new case, verified afresh
    return row


#: Why an event ended, as the order's record says it.
CLEARED_NOTES = {
    "camera_clearance": (
        "the camera confirms the hazard has cleared",
        "the hazard cleared before anyone went",
        "the camera no longer sees the hazard",
    ),
    "restart": (
        "the engine restarted: the hazard's event ended at its last known time "
        "(the camera's new frames reopen the order if the hazard is still there)",
        "",  # a restart is no evidence that the hazard cleared: nothing is cancelled
        "the engine restarted: the hazard's event ended at its last known time (the "
        "camera's new frames attach to this order if the hazard is still there)",
    ),
}


def cleared(
    flow: Workflow,
    conn: Connection,
    row: Row,
    event_id: str,
    now: float,
    *,
    reason: str = "camera_clearance",
    cleared_at: float | None = None,
) -> Row:
    """Record that the camera stopped seeing ``row``'s hazard (event ``event_id`` ended).

    Once no event of the order is active: a ``resolved`` camera order closes, one nobody
    has gone to yet is cancelled where the hazard's settings say so (not on a
    ``restart``: the engine stopping is no evidence that the hazard cleared), any other
    open one gets an annotation; ``hazard_active`` becomes false and ``cleared_at`` is
    set (``cleared_at``, default ``now``). ``reason`` (``camera_clearance`` or
    ``restart``) goes into the record's note and data.
    """
    still = conn.execute(
        sa.select(sa.func.count())
        .select_from(events)
        .where(events.c.order_id == row["id"], events.c.ended_at.is_(None))
    ).scalar_one()
    if still:
        return row  # another event of the order is still active
    closed_note, cancelled_note, seen_note = CLEARED_NOTES[reason]
    data = {"event": reason, "event_id": event_id}
    values = {"cleared_at": now if cleared_at is None else cleared_at, "hazard_active": False}
    if row["state"] == "resolved" and row["source"] == "camera":
        rec = Record("closed", "system", "system", kind=END, note=closed_note, data=data)
        return flow.change(conn, row, rec, now, closed_at=now, open_key=None, **values)
    cancels = reason != "restart" and flow.settings.for_kind(row["kind"]).cancel_on_clear
    if row["state"] in NOT_YET_GONE and cancels:
        rec = Record("cancelled", "system", "system", kind=END, note=cancelled_note, data=data)
        return flow.change(conn, row, rec, now, open_key=None, **values)
    if row["state"] not in ("closed", "cancelled", "rejected", "duplicate"):
        rec = Record(row["state"], "system", "system", kind=END, note=seen_note, data=data)
        return flow.change(conn, row, rec, now, **values)
    flow.ledger.housekeep(conn, row, values)
    return row


def end_left_open(
    flow: Workflow, conn: Connection, cameras: Iterable[str] | None, now: float | None
) -> list[Row]:
    """End the events an earlier process left open (it crashed, or was killed).

    Each open event of ``cameras`` (None: of every camera) ends at its last known time
    (``last_at``) with ``end_reason: restart`` in its ``extra``; then each order they
    belonged to is reconciled as a camera clearance would (:func:`cleared` with reason
    ``restart``): ``hazard_active`` false, a resolved order closed, any other open one
    annotated (none cancelled). A hazard that is still there starts a new event from the
    camera's next frames, which attaches to its open order (or reopens a closed one
    within the reopen window).

    ``now`` is when the orders' records are written; None (a service on the streams'
    clock, whose "now" is unknown until the first new event) writes each at the later of
    its events' last known time and the order's last record, so its trail stays in order.

    Returns the orders changed.
    """
    ev = events.c
    query = sa.select(events).where(ev.ended_at.is_(None)).order_by(ev.started_at, ev.id)
    if cameras is not None:
        query = query.where(ev.camera.in_(list(cameras)))
    left = [dict(r._mapping) for r in conn.execute(query.with_for_update())]
    orders: dict[str, str] = {}
    for stored in left:
        extra = json.loads(stored["extra"] or "{}")
        extra["end_reason"] = "restart"
        conn.execute(
            sa.update(events)
            .where(ev.id == stored["id"], ev.ended_at.is_(None))
            .values(
                last_phase="end",
                ended_at=stored["last_at"],
                extra=json.dumps(extra, sort_keys=True, default=str),
            )
        )
        if stored["order_id"]:
            orders[stored["order_id"]] = stored["id"]
    changed: list[Row] = []
    for order_id, event_id in orders.items():
        row = Ledger.read(conn, order_id, lock=True)
        if row is None:
            continue
        last = max(float(s["last_at"]) for s in left if s["order_id"] == order_id)
        at = now
        if at is None:
            latest = conn.execute(
                sa.select(sa.func.max(transitions.c.at)).where(transitions.c.order_id == order_id)
            ).scalar()
            at = max(last, float(latest or last))
        changed.append(cleared(flow, conn, row, event_id, at, reason="restart", cleared_at=last))
    return changed
