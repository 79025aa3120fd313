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
"""

from __future__ import annotations

import json

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
    return _cleared(flow, conn, order, event, now)


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


def _cleared(flow: Workflow, conn: Connection, row: Row, event: HazardEvent, now: float) -> Row:
    still = conn.execute(
        sa.select(sa.func.count())
        .select_from(events)
        .where(events.c.order_id == row["id"], events.c.ended_at.is_(None))
    ).scalar_one()
    if still:
        return row  # another event of the order is still active
    values = {"cleared_at": now, "hazard_active": False}
    if row["state"] == "resolved" and row["source"] == "camera":
        rec = Record(
            "closed", "system", "system", kind=END,
            note="the camera confirms the hazard has cleared",
            data={"event": "camera_clearance", "event_id": event.id},
        )  # fmt: skip
        return flow.change(conn, row, rec, now, closed_at=now, open_key=None, **values)
    if row["state"] in NOT_YET_GONE and flow.settings.for_kind(row["kind"]).cancel_on_clear:
        rec = Record(
            "cancelled", "system", "system", kind=END,
            note="the hazard cleared before anyone went",
            data={"event": "camera_clearance", "event_id": event.id},
        )  # fmt: skip
        return flow.change(conn, row, rec, now, open_key=None, **values)
    if row["state"] not in ("closed", "cancelled", "rejected", "duplicate"):
        rec = Record(
            row["state"], "system", "system", kind=END,
            note="the camera no longer sees the hazard",
            data={"event": "camera_clearance", "event_id": event.id},
        )  # fmt: skip
        return flow.change(conn, row, rec, now, **values)
    flow.ledger.housekeep(conn, row, values)
    return row
