"""A thin adapter between the routers and :class:`~gridsight.orders.service.OrderService`.

It turns the API's query parameters into an :class:`~gridsight.orders.views.OrderFilter`
and computes today's figures from the same SLA clock functions the service uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gridsight.api.errors import NotFound
from gridsight.api.schemas_orders import OrderStats, Share
from gridsight.orders.sla import clocks
from gridsight.orders.states import OPEN_STATES
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import work_orders
from gridsight.orders.views import OrderFilter, Page, WorkOrderView

if TYPE_CHECKING:
    from gridsight.api.schemas_orders import ManualOrderIn
    from gridsight.api.services import Services


class OrderAdapter:
    """The work-order calls the routers make.

    Args:
        service: the :class:`~gridsight.orders.service.OrderService`.
        store: its store.
    """

    def __init__(self, service: Any, store: OrderStore) -> None:
        self.service = service
        self.store = store

    def get(self, order_id: str) -> WorkOrderView:
        """One order with its trail (OrderNotFound if none)."""
        view: WorkOrderView = self.service.get(order_id)
        return view

    def list_orders(
        self,
        *,
        overdue_at: float | None,
        limit: int,
        cursor: str | None,
        states: tuple[str, ...] = (),
        **filters: Any,
    ) -> Page[WorkOrderView]:
        """A page of orders (see :class:`OrderFilter`; ``overdue_at`` added here)."""
        flt = OrderFilter(states=states, overdue_at=overdue_at, **filters)
        page: Page[WorkOrderView] = self.service.list(flt, limit=limit, cursor=cursor)
        return page

    def create_manual(self, body: ManualOrderIn, *, actor: str) -> WorkOrderView:
        """File an operator's order."""
        view: WorkOrderView = self.service.create_manual(
            body.kind,
            body.village,
            body.grid,
            title=body.title,
            description=body.description,
            actor=actor,
            x_km=body.x_km,
            y_km=body.y_km,
        )
        return self.get(view.id)

    def transition(self, order_id: str, to: str, **kwargs: Any) -> WorkOrderView:
        """Move an order; the moved order with its trail."""
        self.service.transition(order_id, to, **kwargs)
        return self.get(order_id)

    def note(self, order_id: str, note: str, *, actor: str, role: str) -> WorkOrderView:
        """Annotate an order (no state change)."""
        self.service.note(order_id, note, actor=actor, role=role)
        return self.get(order_id)


def today_stats(services: Services) -> OrderStats:
    """Today's figures from the store (local day of the township's time zone, on the
    orders' clock: a stream's day on a store a stream-clock run wrote)."""
    svc = services.orders
    if svc is None:
        raise NotFound("the service runs without a township config: no work orders")
    clock = services.orders_clock()
    now = clock["now"]
    since = float(svc.roster.day_start(now))
    with services.store.read() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(sa.select(work_orders).where(work_orders.c.created_at >= since))
        ]
    d_met = d_total = c_met = c_total = 0
    open_n = closed_n = 0
    for row in rows:
        c = clocks(row, now)
        if c.dispatch in ("met", "breached"):
            d_total += 1
            d_met += c.dispatch == "met"
        if c.close in ("met", "breached"):
            c_total += 1
            c_met += c.close == "met"
        open_n += row["state"] in OPEN_STATES
        closed_n += row["state"] == "closed"

    def share(met: int, total: int) -> Share:
        return Share(met=met, total=total, share=(met / total) if total else None)

    return OrderStats(
        since=since,
        **clock,
        orders=len(rows),
        open=open_n,
        closed=closed_n,
        dispatch_within_sla=share(d_met, d_total),
        close_within_sla=share(c_met, c_total),
    )
