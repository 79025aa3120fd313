"""The write side of the store: one change = order row + transition record + outbox rows.

Every change to a work order goes through :meth:`Ledger.commit` inside the caller's
transaction: the ``work_orders`` row is updated only if its ``version`` is still the one
read (optimistic concurrency), the new version becomes the ``seq`` of an appended
``transitions`` row, and one ``outbox`` row per notification channel carries the
notification, keyed ``<order id>:<seq>:<channel>`` so a relay that crashes half-way
never sends one twice. Either all of it is committed or none of it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridsight.orders.tables import events, outbox, transitions, work_orders
from gridsight.orders.views import TransitionView, WorkOrderView

# Notification types (the ``type`` of a payload and the ``kind`` of an outbox row).
NEW = "new"
UPDATE = "update"
END = "end"
ESCALATION = "escalation"
SLA_BREACH = "sla_breach"

Row = dict[str, Any]


class StaleVersion(Exception):
    """The order changed since it was read (internal: the service retries or reports)."""

    def __init__(self, order_id: str, expected: int, actual: int) -> None:
        super().__init__(order_id, expected, actual)
        self.order_id = order_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True)
class Record:
    """What one change appends to the audit trail.

    Attributes:
        to_state: the new state (equal to the current one for an annotation).
        actor: who, e.g. ``system``, ``operator:alice``, ``worker:gw-ruijia-g01``.
        role: the actor's role.
        kind: the notification type (new, update, end, escalation, sla_breach).
        note: free text.
        photo: evidence path relative to the uploads folder.
        data: structured details (``worker`` for dispatch/acknowledge, ``event`` for
            annotations, ...).
        channels: notify only these channels (None: all).
        to: person ids the notification is meant for (assignee, supervisor).
    """

    to_state: str
    actor: str
    role: str
    kind: str = UPDATE
    note: str | None = None
    photo: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    channels: tuple[str, ...] | None = None
    to: tuple[str, ...] = ()


# Statements built once: SQLAlchemy then reuses their compiled form (building a fresh
# statement per change cost more than the database work on SQLite).
_WO = work_orders.c
_READ = sa.select(work_orders).where(_WO.id == sa.bindparam("p_id"))
_READ_LOCKED = _READ.with_for_update()
_COLUMNS = tuple(c.name for c in work_orders.columns if c.name != "id")
_UPDATE = (
    work_orders.update()
    .where(_WO.id == sa.bindparam("p_id"), _WO.version == sa.bindparam("p_version"))
    .values({name: sa.bindparam(name) for name in _COLUMNS})
)
_INSERT_ORDER = work_orders.insert()
_INSERT_TRANSITION = transitions.insert()
_INSERT_OUTBOX = outbox.insert()
_LAST = (
    sa.select(transitions)
    .where(transitions.c.order_id == sa.bindparam("p_id"))
    .order_by(transitions.c.seq.desc())
    .limit(1)
)
_EVIDENCE = sa.select(events.c.snapshot, events.c.clip).where(events.c.id == sa.bindparam("p_id"))


class Ledger:
    """Writes changes for one service (its channels and ack-token maker).

    Args:
        channels: notification channel names; one outbox row per channel per change.
        ack_token: ``(order id, worker id) -> token`` or None (no tokens in payloads).
    """

    def __init__(
        self,
        channels: Sequence[str],
        ack_token: Callable[[str, str], str] | None = None,
    ) -> None:
        self.channels = tuple(channels)
        self.ack_token = ack_token
        self._local = threading.local()

    # -- which orders the current transaction changed -------------------------------------

    def begin_tracking(self) -> None:
        """Start recording the orders this thread's transaction changes."""
        self._local.touched = {}

    def touched(self) -> dict[str, Row]:
        """The orders changed since :meth:`begin_tracking` (id -> newest row), in order."""
        return dict(getattr(self._local, "touched", {}))

    def _touch(self, row: Row) -> None:
        touched = getattr(self._local, "touched", None)
        if touched is not None:
            touched.pop(row["id"], None)
            touched[row["id"]] = row

    # -- reads ---------------------------------------------------------------------------

    @staticmethod
    def read(conn: Connection, order_id: str, *, lock: bool = False) -> Row | None:
        """The order row as a dict, or None.

        ``lock`` (in a write transaction) takes the row lock on PostgreSQL (``SELECT ...
        FOR UPDATE``), so writers of one order queue instead of failing their version
        check; SQLite's ``BEGIN IMMEDIATE`` already serialises writers.
        """
        row = conn.execute(_READ_LOCKED if lock else _READ, {"p_id": order_id}).first()
        return dict(row._mapping) if row is not None else None

    @staticmethod
    def trail(conn: Connection, order_id: str) -> list[TransitionView]:
        """The order's transitions, oldest first."""
        rows = conn.execute(
            sa.select(transitions)
            .where(transitions.c.order_id == order_id)
            .order_by(transitions.c.seq)
        )
        return [TransitionView.from_row(dict(r._mapping)) for r in rows]

    @staticmethod
    def last_record(conn: Connection, order_id: str) -> TransitionView | None:
        """The order's newest transition record."""
        row = conn.execute(_LAST, {"p_id": order_id}).first()
        return TransitionView.from_row(dict(row._mapping)) if row is not None else None

    # -- writes --------------------------------------------------------------------------

    def create(self, conn: Connection, row: Row, record: Record, now: float) -> Row:
        """Insert a new order (version 1) with its first record (``None -> new``)."""
        row = {**row, "version": 1, "updated_at": now}
        conn.execute(_INSERT_ORDER, row)
        self._append(conn, row, None, record, now)
        self._touch(row)
        return row

    def commit(self, conn: Connection, before: Row, after: Row, record: Record, now: float) -> Row:
        """Write one change of ``before`` into ``after`` (version + 1) with its record.

        Raises:
            StaleVersion: the stored version is no longer ``before["version"]``.
        """
        version = int(before["version"])
        new = {**after, "version": version + 1, "updated_at": now}
        params = {name: new[name] for name in _COLUMNS}
        params["p_id"], params["p_version"] = before["id"], version
        result = conn.execute(_UPDATE, params)
        if result.rowcount != 1:
            actual = conn.execute(
                sa.select(work_orders.c.version).where(work_orders.c.id == before["id"])
            ).scalar()
            raise StaleVersion(before["id"], version, int(actual or 0))
        self._append(conn, new, before["state"], record, now)
        self._touch(new)
        return new

    def housekeep(self, conn: Connection, before: Row, values: Mapping[str, Any]) -> bool:
        """Update bookkeeping columns without a record (retry times, hazard flags).

        Applied only if nobody changed the order meanwhile; returns whether it was.
        """
        result = conn.execute(
            sa.update(work_orders)
            .where(work_orders.c.id == before["id"], work_orders.c.version == before["version"])
            .values(**values)
        )
        if result.rowcount == 1:
            before.update(values)
            return True
        return False

    def _append(
        self, conn: Connection, row: Row, before_state: str | None, rec: Record, now: float
    ) -> None:
        seq = int(row["version"])
        data = dict(rec.data)
        conn.execute(
            _INSERT_TRANSITION,
            {
                "order_id": row["id"],
                "seq": seq,
                "from_state": before_state,
                "to_state": rec.to_state,
                "actor": rec.actor,
                "actor_role": rec.role,
                "at": now,
                "note": rec.note,
                "photo": rec.photo,
                "data": json.dumps(data, sort_keys=True) if data else None,
            },
        )
        channels = self.channels if rec.channels is None else rec.channels
        if not channels:
            return
        base = self.payload(conn, row, before_state, rec, seq, now)
        rows = []
        for channel in channels:
            key = f"{row['id']}:{seq}:{channel}"
            rows.append(
                {
                    "key": key,
                    "channel": channel,
                    "topic": "work_orders",
                    "kind": rec.kind,
                    "order_id": row["id"],
                    "payload": json.dumps({**base, "idempotency_key": key}, sort_keys=True),
                    "created_at": now,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
            )
        conn.execute(_INSERT_OUTBOX, rows)

    def payload(
        self,
        conn: Connection,
        row: Row,
        before_state: str | None,
        rec: Record,
        seq: int,
        now: float,
    ) -> dict[str, Any]:
        """The notification dict of one change (without its per-channel idempotency key)."""
        view = WorkOrderView.from_row(row)
        snapshot = clip = None
        if row.get("event_id"):
            found = conn.execute(_EVIDENCE, {"p_id": row["event_id"]}).first()
            if found is not None:
                snapshot, clip = found.snapshot, found.clip
        token = None
        if self.ack_token is not None and row.get("assignee") and rec.to_state == "dispatched":
            token = self.ack_token(row["id"], row["assignee"])
        return {
            "type": rec.kind,
            "order": view.to_dict(with_transitions=False),
            "before": before_state,
            "after": rec.to_state,
            "transition": {
                "seq": seq,
                "from": before_state,
                "to": rec.to_state,
                "actor": rec.actor,
                "at": now,
                "note": rec.note,
            },
            "hazard": row["kind"] if row["source"] == "camera" else None,
            "kind": row["kind"],
            "village": row["village"],
            "grid": row["grid"],
            "camera": row["camera"],
            "snapshot": snapshot,
            "clip": clip,
            "assignee": row["assignee"],
            "supervisor": row.get("supervisor"),
            "to": list(rec.to),
            "dispatch_due_at": row["dispatch_due_at"],
            "close_due_at": row["close_due_at"],
            "ack_token": token,
        }


def order_row_defaults() -> Row:
    """Column defaults of a new order (what the server defaults would give)."""
    return {
        "camera": None,
        "event_id": None,
        "x_km": None,
        "y_km": None,
        "priority": 0,
        "tier": 0,
        "assignee": None,
        "tried": "[]",
        "title": "",
        "description": "",
        "dispatched_at": None,
        "acknowledged_at": None,
        "on_site_at": None,
        "resolved_at": None,
        "closed_at": None,
        "sla_dispatch": "ongoing",
        "sla_close": "ongoing",
        "cleared_at": None,
        "open_key": None,
        "ack_due_at": None,
        "escalations": 0,
        "supervisor": None,
        "hazard_active": False,
    }
