"""The work orders as a front end sees them: one typed entry for the REST API.

:class:`OrdersFacade` is what a request handler holds (``OrdersDep`` in
:mod:`gridsight.api.deps`): the order service's calls, each one transaction (a worker's
tap on *acknowledge* is one: visibility, the move and the trail it answers with), plus
the reads the API shows (today's figures, the roster; the stored events are
:class:`~gridsight.orders.event_log.EventLog`'s) so that no handler touches a
table. The domain knows no HTTP: errors are the orders' own
(:class:`~gridsight.orders.errors.OrderNotFound`, ...), which the API maps to codes.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gridsight.orders.roster import RosterEntry
from gridsight.orders.service import OrderService
from gridsight.orders.sla import clocks
from gridsight.orders.states import OPEN_STATES
from gridsight.orders.tables import work_orders
from gridsight.orders.views import OrderFilter, Page, WorkOrderView


@dataclass(frozen=True, slots=True)
class DayStats:
    """Today's figures (the local day of the township, on the orders' clock).

    Attributes:
        since: start of the local day, epoch seconds.
        now: the moment they were counted at.
        orders, open, closed: orders created today, of them still open, closed.
        dispatch_met, dispatch_decided: dispatched within the target, of those whose
            dispatch clock is decided (met or breached).
        close_met, close_decided: the same for the closure clock.
    """

    since: float
    now: float
    orders: int
    open: int
    closed: int
    dispatch_met: int
    dispatch_decided: int
    close_met: int
    close_decided: int


class OrdersFacade:
    """The work-order calls of the API (see the module docstring).

    Args:
        service: the order service.
        stream_time: whether the orders' clock is a stream's (shown next to times).
    """

    def __init__(self, service: OrderService, *, stream_time: bool = False) -> None:
        self.service = service
        self.stream_time = stream_time

    # -- time and settings -----------------------------------------------------------------

    def now(self) -> float:
        """Now on the orders' clock."""
        return float(self.service.clock())

    @property
    def settings(self) -> Any:
        """The ``orders:`` settings (request kinds, SLA targets, ...)."""
        return self.service.settings

    @property
    def ack_secret(self) -> str | None:
        """The secret of the acknowledge links, or None."""
        return self.service.ack_secret

    # -- orders --------------------------------------------------------------------------

    def get(self, order_id: str, *, visible_to: str | None = None) -> WorkOrderView:
        """One order with its trail (``visible_to`` a worker id: only theirs)."""
        return self.service.get(order_id, visible_to=visible_to)

    def list(
        self, flt: OrderFilter, *, limit: int = 50, cursor: str | None = None
    ) -> Page[WorkOrderView]:
        """A page of orders, newest first."""
        return self.service.list(flt, limit=limit, cursor=cursor)

    def create_manual(self, kind: str, village: str, grid: str, **kwargs: Any) -> WorkOrderView:
        """An operator's order (one transaction; with its trail)."""
        return self.service.create_manual(kind, village, grid, **kwargs)

    def create_request(self, kind: str, village: str, grid: str, **kwargs: Any) -> WorkOrderView:
        """A resident's request (one transaction; with its trail)."""
        return self.service.create_request(kind, village, grid, **kwargs)

    def transition(self, order_id: str, to: str, **kwargs: Any) -> WorkOrderView:
        """Move an order (one transaction; the moved order with its trail)."""
        return self.service.transition(order_id, to, **kwargs)

    def note(self, order_id: str, note: str, **kwargs: Any) -> WorkOrderView:
        """Annotate an order (one transaction; with its trail)."""
        return self.service.note(order_id, note, **kwargs)

    def iter_all(self, flt: OrderFilter | None = None) -> Any:
        """Every order matching ``flt``, newest first."""
        return self.service.iter_all(flt)

    def today(self, now: float | None = None) -> DayStats:
        """Today's figures, counted in one read."""
        t = self.now() if now is None else float(now)
        since = float(self.service.roster.day_start(t))
        with self.service.store.read() as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(work_orders).where(work_orders.c.created_at >= since)
                )
            ]
        d_met = d_total = c_met = c_total = open_n = closed_n = 0
        for row in rows:
            c = clocks(row, t)
            if c.dispatch in ("met", "breached"):
                d_total += 1
                d_met += c.dispatch == "met"
            if c.close in ("met", "breached"):
                c_total += 1
                c_met += c.close == "met"
            open_n += row["state"] in OPEN_STATES
            closed_n += row["state"] == "closed"
        return DayStats(since, t, len(rows), open_n, closed_n, d_met, d_total, c_met, c_total)

    # -- workers -------------------------------------------------------------------------

    def roster(self) -> builtins.list[RosterEntry]:
        """Everyone on the roster, on duty or not."""
        return self.service.roster_entries()

    def on_duty(self) -> builtins.list[RosterEntry]:
        """Everyone on shift now."""
        return self.service.workers_on_duty()

    def report_position(self, worker_id: str, x_km: float, y_km: float) -> RosterEntry:
        """A worker's position report (one transaction); their entry after it."""
        return self.service.report_position(worker_id, x_km, y_km)
