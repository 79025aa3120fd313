"""The evidence snapshot and clip of a work order, for whoever may see the order (its
worker too).

``/api/v1/events/{id}/snapshot`` (``/clip``) is for staff; a grid worker needs the picture
of the hazard they are sent to, and only that: these routes serve the evidence of the
order's event to the staff and to the order's assignee.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gridsight.api.accounts import User
from gridsight.api.deps import Anyone, EventLogDep, OrdersDep, ServicesDep
from gridsight.api.routers.events import CLIP_RESPONSES, SNAPSHOT_RESPONSES, evidence_file
from gridsight.api.routers.work_orders import OrderId, _visible
from gridsight.orders.event_log import EventLog, StoredEvent
from gridsight.orders.facade import OrdersFacade

router = APIRouter(prefix="/work-orders", tags=["work-orders"])


@router.get("/{order_id}/snapshot", response_class=FileResponse, responses=SNAPSHOT_RESPONSES)
def order_snapshot(
    order_id: OrderId, services: ServicesDep, orders: OrdersDep, log: EventLogDep, user: Anyone
) -> FileResponse:
    """The evidence JPEG of the order's camera event (404 if it has none)."""
    event = _order_event(orders, log, user, order_id)
    return evidence_file(services, event, "snapshot", f"work order {order_id!r}")


@router.get("/{order_id}/clip", response_class=FileResponse, responses=CLIP_RESPONSES)
def order_clip(
    order_id: OrderId, services: ServicesDep, orders: OrdersDep, log: EventLogDep, user: Anyone
) -> FileResponse:
    """The evidence clip of the order's camera event (404 if it has none)."""
    event = _order_event(orders, log, user, order_id)
    return evidence_file(services, event, "clip", f"work order {order_id!r}")


def _order_event(
    orders: OrdersFacade, log: EventLog, user: User, order_id: str
) -> StoredEvent | None:
    view = _visible(orders, user, order_id)
    return log.get(view.event_id) if view.event_id else None
