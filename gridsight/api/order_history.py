"""The history of work orders: one filter for the history page and the CSV export.

Query parameters (all optional): ``state`` (repeatable), ``hazard``, ``village``,
``grid``, ``worker``, ``date_from`` / ``date_to`` (``YYYY-MM-DD`` in the township's time
zone, both days included) and ``q`` (an order id: that order alone).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gridsight.api.errors import BadRequest
from gridsight.orders.states import STATES
from gridsight.orders.views import OrderFilter, WorkOrderView

#: Columns of the CSV export, in order.
CSV_COLUMNS: tuple[str, ...] = (
    "id", "state", "hazard", "source", "village", "grid", "camera", "assignee",
    "created_at", "dispatched_at", "acknowledged_at", "on_site_at", "resolved_at",
    "closed_at", "sla_dispatch", "sla_close", "escalations", "title",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What the history page and the export were asked for (the form's values)."""

    states: tuple[str, ...] = ()
    hazard: str = ""
    village: str = ""
    grid: str = ""
    worker: str = ""
    date_from: str = ""
    date_to: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Any) -> HistoryQuery:
        """From a request's query parameters (a Starlette ``QueryParams``).

        Raises:
            BadRequest: an unknown state or a malformed date (names the field).
        """
        states = tuple(params.getlist("state")) if hasattr(params, "getlist") else ()
        for s in states:
            if s not in STATES:
                raise BadRequest(f"state {s!r}: allowed states are {', '.join(STATES)}", "state")
        values = {
            k: str(params.get(k) or "").strip()[:64]
            for k in ("hazard", "village", "grid", "worker", "date_from", "date_to", "q")
        }
        query = cls(states=states, **values)
        query.bounds(ZoneInfo("UTC"))  # validates the dates
        return query

    def bounds(self, zone: ZoneInfo) -> tuple[float | None, float | None]:
        """``(since, until)`` epoch seconds of the date range in ``zone``."""
        out: list[float | None] = []
        for name, value, days in (("date_from", self.date_from, 0), ("date_to", self.date_to, 1)):
            if not value:
                out.append(None)
                continue
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise BadRequest(f"{name}: a date like 2026-12-01, not {value!r}", name) from None
            start = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=days)
            out.append(start.timestamp())
        return out[0], out[1]

    def order_filter(self, zone: ZoneInfo) -> OrderFilter:
        """The store filter of this query (``q`` is handled by the caller)."""
        since, until = self.bounds(zone)
        return OrderFilter(
            states=self.states,
            kind=self.hazard or None,
            village=self.village or None,
            grid=self.grid or None,
            assignee=self.worker or None,
            since=since,
            until=until,
        )

    def as_params(self) -> list[tuple[str, str]]:
        """The query as URL parameters (for the export link and the next page)."""
        pairs = [("state", s) for s in self.states]
        for key in ("hazard", "village", "grid", "worker", "date_from", "date_to", "q"):
            value = getattr(self, key)
            if value:
                pairs.append((key, value))
        return pairs


def history_rows(
    service: Any, query: HistoryQuery, zone: ZoneInfo, limit: int
) -> Iterator[WorkOrderView]:
    """The orders of ``query``, newest first, at most ``limit`` (all pages followed)."""
    if query.q:
        try:
            view: WorkOrderView = service.get(query.q)
        except Exception:  # an unknown id finds nothing
            return
        yield view
        return
    flt = query.order_filter(zone)
    cursor: str | None = None
    left = limit
    while left > 0:
        page = service.list(flt, limit=min(500, left), cursor=cursor)
        yield from page.items
        left -= len(page.items)
        cursor = page.next_cursor
        if cursor is None or not page.items:
            return


def _when(epoch: float | None, zone: ZoneInfo) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, zone).isoformat(timespec="seconds")


def csv_text(views: Iterable[WorkOrderView], zone: ZoneInfo) -> Iterator[str]:
    """The CSV export, line by line (a header, then one row per order; local times)."""
    buf = io.StringIO()
    writer = csv.writer(buf)

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for v in views:
        row = {
            "id": v.id, "state": v.state, "hazard": v.kind, "source": v.source,
            "village": v.village, "grid": v.grid, "camera": v.camera or "",
            "assignee": v.assignee or "", "sla_dispatch": v.sla_dispatch,
            "sla_close": v.sla_close, "escalations": v.escalations, "title": v.title,
        }  # fmt: skip
        for key in ("created_at", "dispatched_at", "acknowledged_at", "on_site_at"):
            row[key] = _when(getattr(v, key), zone)
        for key in ("resolved_at", "closed_at"):
            row[key] = _when(getattr(v, key), zone)
        # A cell that starts like a formula is quoted for spreadsheets (CSV injection).
        writer.writerow([_defuse(str(row[c])) for c in CSV_COLUMNS])
        yield flush()


def _defuse(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
