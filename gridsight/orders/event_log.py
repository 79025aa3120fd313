"""The stored hazard events, as front ends read them: filters and keyset cursor pages.

Listings are newest first and paginated by an opaque cursor: the (start time, id) of the
last event seen (the same cursor form as the work orders', see
:func:`~gridsight.orders.views.encode_cursor`). A keyset cursor stays correct while new
events arrive and costs an index range scan however deep the client pages (no OFFSET).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from gridsight.orders.store import OrderStore
from gridsight.orders.tables import events
from gridsight.orders.views import Page, decode_cursor, encode_cursor

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Filters of the events listing (None = any)."""

    camera: str | None = None
    hazard: str | None = None
    village: str | None = None
    grid: str | None = None
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One hazard event as the store keeps it (its latest phase).

    Attributes:
        id, camera, hazard, village, grid: what and where.
        started_ts: stream time of the start, seconds.
        started_at: when it started, epoch seconds (on the orders' clock).
        last_phase: ``start`` | ``update`` | ``end``.
        last_at: its latest phase's time.
        ended_at: when it ended, or None while it is active.
        confidence: the latest confidence.
        boxes: the latest boxes, ``[[x1, y1, x2, y2], ...]`` in pixels.
        track_ids: the tracks of the boxes.
        snapshot: the evidence path the engine wrote, or None.
        clip: the evidence clip's path (``--clips``), or None.
        order_id: the work order it belongs to.
        extra: the rule's details (and ``end_reason: restart`` for an event a crashed
            process left open).
    """

    id: str
    camera: str
    hazard: str
    village: str
    grid: str
    started_ts: float
    started_at: float
    last_phase: str
    last_at: float
    ended_at: float | None
    confidence: float
    boxes: list[list[float]] = field(default_factory=list)
    track_ids: list[int] = field(default_factory=list)
    snapshot: str | None = None
    order_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    clip: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> StoredEvent:
        """From an ``events`` row (JSON columns decoded; a damaged one reads as empty)."""
        m = dict(row._mapping)
        decoded: dict[str, Any] = {}
        for key, default in (("boxes", []), ("track_ids", []), ("extra", {})):
            try:
                decoded[key] = json.loads(m.get(key) or "null") or default
            except ValueError:
                decoded[key] = default
        return cls(
            id=m["id"],
            camera=m["camera"],
            hazard=m["hazard"],
            village=m["village"],
            grid=m["grid"],
            started_ts=float(m["started_ts"]),
            started_at=float(m["started_at"]),
            last_phase=m["last_phase"],
            last_at=float(m["last_at"]),
            ended_at=None if m["ended_at"] is None else float(m["ended_at"]),
            confidence=float(m["confidence"]),
            snapshot=m.get("snapshot"),
            clip=m.get("clip"),
            order_id=m.get("order_id"),
            **decoded,
        )


def list_events(
    store: OrderStore, flt: EventFilter, *, limit: int = 50, cursor: str | None = None
) -> Page[StoredEvent]:
    """A page of events, newest first, with the cursor of the next page (None at the end).

    Raises:
        BadCursor: ``cursor`` is not one this store's listings handed out.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    query = sa.select(events)
    for column, value in (
        (events.c.camera, flt.camera),
        (events.c.hazard, flt.hazard),
        (events.c.village, flt.village),
        (events.c.grid, flt.grid),
    ):
        if value is not None:
            query = query.where(column == value)
    if flt.since is not None:
        query = query.where(events.c.started_at >= flt.since)
    if flt.until is not None:
        query = query.where(events.c.started_at < flt.until)
    if cursor is not None:
        at, row_id = decode_cursor(cursor)
        query = query.where(
            sa.or_(
                events.c.started_at < at,
                sa.and_(events.c.started_at == at, events.c.id < row_id),
            )
        )
    query = query.order_by(events.c.started_at.desc(), events.c.id.desc()).limit(limit + 1)
    with store.read() as conn:
        rows = conn.execute(query).all()
    items = tuple(StoredEvent.from_row(r) for r in rows[:limit])
    nxt = None
    if len(rows) > limit and items:
        nxt = encode_cursor(items[-1].started_at, items[-1].id)
    return Page(items, nxt)


def get_event(store: OrderStore, event_id: str) -> StoredEvent | None:
    """One event by id, or None."""
    with store.read() as conn:
        row = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
    return StoredEvent.from_row(row) if row is not None else None


class EventLog:
    """The stored events of one store (what the API's event endpoints read).

    Args:
        store: the store.
    """

    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def list(
        self, flt: EventFilter, *, limit: int = 50, cursor: str | None = None
    ) -> Page[StoredEvent]:
        """See :func:`list_events`."""
        return list_events(self.store, flt, limit=limit, cursor=cursor)

    def get(self, event_id: str) -> StoredEvent | None:
        """See :func:`get_event`."""
        return get_event(self.store, event_id)
