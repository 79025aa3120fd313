"""Read queries of the API over the store's ``events`` table, with keyset cursors.

Listings are newest first and paginated by an opaque cursor: the (time, id) of the last
row seen, base64-encoded. A keyset cursor stays correct while new rows arrive and costs
an index range scan however deep the client pages (no OFFSET).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gridsight.api.dbread import read_only
from gridsight.api.errors import BadRequest
from gridsight.orders.tables import events

MAX_LIMIT = 500


def encode_cursor(at: float, row_id: str) -> str:
    """The opaque cursor after the row ``(at, row_id)``."""
    raw = json.dumps([at, row_id], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """``(at, id)`` of a cursor.

    Raises:
        BadRequest: the cursor was not made by :func:`encode_cursor` (field ``cursor``).
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return float(at), str(row_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest(
            "cursor: not a cursor this API returned; pass next_cursor of the previous page",
            field="cursor",
        ) from None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Filters of the events listing (None = any)."""

    camera: str | None = None
    hazard: str | None = None
    village: str | None = None
    grid: str | None = None
    since: float | None = None
    until: float | None = None


def event_row(row: Any) -> dict[str, Any]:
    """One ``events`` row as a plain dict (JSON columns decoded)."""
    m = dict(row._mapping)
    for key, default in (("boxes", []), ("track_ids", []), ("extra", {})):
        try:
            m[key] = json.loads(m.get(key) or "null") or default
        except ValueError:
            m[key] = default
    return m


def list_events(
    engine: Engine, flt: EventFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of events, newest first, and the cursor of the next page (None at the end)."""
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
    with read_only(engine) as conn:
        rows = conn.execute(query).all()
    items = [event_row(r) for r in rows[:limit]]
    nxt = None
    if len(rows) > limit and items:
        last = items[-1]
        nxt = encode_cursor(float(last["started_at"]), str(last["id"]))
    return items, nxt


def get_event(engine: Engine, event_id: str) -> dict[str, Any] | None:
    """One event by id, or None."""
    with read_only(engine) as conn:
        row = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
    return event_row(row) if row is not None else None
