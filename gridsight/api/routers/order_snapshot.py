"""The evidence snapshot and clip of a work order, for whoever may see the order (its
worker too).

``/api/v1/events/{id}/snapshot`` (``/clip``) is for staff; a grid worker needs the picture
of the hazard they are sent to, and only that: these routes serve the evidence of the
order's event to the staff and to the order's assignee.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gridsight.api.deps import Anyone, EventLogDep, OrdersDep, ServicesDep
from gridsight.api.errors import NotFound, error_responses
from gridsight.api.routers.events import clip_path, snapshot_path
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


@router.get(
    "/{order_id}/clip",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "the evidence clip (H.264 MP4)"},
        **error_responses(401, 403, 404),
    },
)
def order_clip(
    order_id: OrderId, services: ServicesDep, orders: OrdersDep, log: EventLogDep, user: Anyone
) -> FileResponse:
    """The evidence clip of the order's camera event (404 if it has none)."""
    view = _visible(orders, user, order_id)
    event = log.get(view.event_id) if view.event_id else None
    path = clip_path(services, event.clip) if event is not None else None
    if path is None:
        raise NotFound(f"work order {order_id!r} has no clip")
    return FileResponse(path, media_type="video/mp4")
