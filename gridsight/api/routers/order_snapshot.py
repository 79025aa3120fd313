"""The evidence snapshot of a work order, for whoever may see the order (its worker too).

``/api/v1/events/{id}/snapshot`` is for staff; a grid worker needs the picture of the
hazard they are sent to, and only that: this route serves the snapshot of the order's
event to the staff and to the order's assignee.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gridsight.api.deps import Anyone, EventLogDep, OrdersDep, ServicesDep
from gridsight.api.errors import NotFound, error_responses
from gridsight.api.routers.events import snapshot_path
from gridsight.api.routers.work_orders import OrderId, _visible

router = APIRouter(prefix="/work-orders", tags=["work-orders"])


@router.get(
    "/{order_id}/snapshot",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the evidence snapshot"},
        **error_responses(401, 403, 404),
    },
)
def order_snapshot(
    order_id: OrderId, services: ServicesDep, orders: OrdersDep, log: EventLogDep, user: Anyone
) -> FileResponse:
    """The evidence JPEG of the order's camera event (404 if it has none)."""
    view = _visible(orders, user, order_id)
    event = log.get(view.event_id) if view.event_id else None
    path = snapshot_path(services, event.snapshot) if event is not None else None
    if path is None:
        raise NotFound(f"work order {order_id!r} has no snapshot")
    return FileResponse(path, media_type="image/jpeg")
