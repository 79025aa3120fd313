"""Work orders: listing (filters, overdue, cursor pages), one order with its trail,
transitions (409 with the allowed states), manual orders, notes, report-back photos,
and today's figures.

Worker accounts see and move only the orders assigned to them (another's order is a
404 to them, as if it did not exist); viewers read; operators and admins act.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, UploadFile, status
from fastapi.responses import FileResponse

from gridsight.api.accounts import User
from gridsight.api.deps import Anyone, EventLogDep, Operator, OrdersDep, ServicesDep, Viewer
from gridsight.api.errors import BadRequest, Forbidden, NotFound, error_responses
from gridsight.api.photos import PHOTO_NAME, store_photo
from gridsight.api.schemas.orders import (
    ManualOrderIn,
    NoteIn,
    OrderStats,
    PhotoOut,
    Share,
    Sla,
    TransitionIn,
    TransitionOut,
    WorkOrderDetail,
    WorkOrderOut,
    WorkOrderPage,
)
from gridsight.api.services import Services
from gridsight.orders.event_log import EventLog
from gridsight.orders.facade import DayStats, OrdersFacade
from gridsight.orders.sla import clocks
from gridsight.orders.states import STATES, allowed_targets
from gridsight.orders.views import OrderFilter, WorkOrderView

router = APIRouter(prefix="/work-orders", tags=["work-orders"])

OrderId = Annotated[str, Path(max_length=64, description="work-order id")]
StateName = Annotated[str, Query(pattern="^(" + "|".join(STATES) + ")$")]

#: The role a user acts as in the order state machine.
ORDER_ROLE = {"operator": "operator", "admin": "admin", "worker": "worker"}


def allowed_for(user: User | None, view: WorkOrderView) -> list[str]:
    """States ``user`` may move the order to (none for viewers, or another's worker)."""
    if user is None:
        return []
    role = ORDER_ROLE.get(user.role)
    if role is None:
        return []
    if role == "worker" and view.assignee != user.worker_id:
        return []
    return allowed_targets(view.state, role)


def photo_url(order_id: str, photo: str | None) -> str | None:
    """URL of a stored report-back photo."""
    if not photo:
        return None
    name = photo.rsplit("/", 1)[-1]
    return f"/api/v1/work-orders/{order_id}/photos/{name}"


def order_out(view: WorkOrderView, user: User | None, now: float) -> WorkOrderOut:
    """The API form of an order for ``user``."""
    row = view.to_dict(with_transitions=False)
    c = clocks(row, now)
    open_ = view.is_open
    dispatch_left = view.dispatch_due_at - now if view.dispatched_at is None and open_ else None
    close_left = view.close_due_at - now if open_ else None
    overdue = open_ and (
        (dispatch_left is not None and dispatch_left < 0)
        or (close_left is not None and close_left < 0)
    )
    # The fields the view and the API share are copied by name (a new view field needs
    # only its schema entry: tests/api/test_schemas.py checks the two against each other).
    shared = {k: row[k] for k in WorkOrderOut.model_fields if k in row}
    return WorkOrderOut(
        **shared,
        hazard=view.kind,
        sla=Sla(
            dispatch=c.dispatch,  # type: ignore[arg-type]
            close=c.close,  # type: ignore[arg-type]
            dispatch_due_at=view.dispatch_due_at,
            close_due_at=view.close_due_at,
            dispatch_left_s=dispatch_left,
            close_left_s=close_left,
            overdue=overdue,
        ),
        allowed=allowed_for(user, view),
    )


def order_clip_url(view: WorkOrderView, log: EventLog | None) -> str | None:
    """URL of the evidence clip of the order's camera event, if the engine wrote one."""
    event = log.get(view.event_id) if log is not None and view.event_id else None
    return f"/api/v1/work-orders/{view.id}/clip" if event is not None and event.clip else None


def order_detail(
    view: WorkOrderView, user: User | None, now: float, log: EventLog | None = None
) -> WorkOrderDetail:
    """An order with its audit trail (and its clip's URL, given the event log)."""
    base = order_out(view, user, now)
    trail = [
        TransitionOut.model_validate(
            {
                "seq": t.seq,
                "from": t.from_state,
                "to": t.to_state,
                "actor": t.actor,
                "actor_role": t.actor_role,
                "at": t.at,
                "note": t.note,
                "photo_url": photo_url(view.id, t.photo),
                "data": t.data,
            }
        )
        for t in view.transitions
    ]
    return WorkOrderDetail(
        **base.model_dump(), transitions=trail, clip_url=order_clip_url(view, log)
    )


def order_stats(day: DayStats, *, stream_time: bool, timezone: str | None = None) -> OrderStats:
    """The API form of today's figures."""

    def share(met: int, total: int) -> Share:
        return Share(met=met, total=total, share=(met / total) if total else None)

    return OrderStats(
        since=day.since,
        now=day.now,
        stream_time=stream_time,
        timezone=timezone,
        orders=day.orders,
        open=day.open,
        closed=day.closed,
        dispatch_within_sla=share(day.dispatch_met, day.dispatch_decided),
        close_within_sla=share(day.close_met, day.close_decided),
    )


def publish_order(services: Services, view: WorkOrderView) -> None:
    """Announce an order change on the live stream (``OrderService.on_change``)."""
    body = order_out(view, None, services.orders_now()).model_dump()
    body.pop("allowed", None)
    services.bus.publish("work_order", {"order": body, "assignee": view.assignee})


def visible_to(user: User) -> str | None:
    """The worker id a worker account sees orders of (others' orders do not exist for
    it); None for the desk's roles, who see every order."""
    return (user.worker_id or "") if user.role == "worker" else None


def _visible(orders: OrdersFacade, user: User, order_id: str) -> WorkOrderView:
    return orders.get(order_id, visible_to=visible_to(user))


@router.get("", response_model=WorkOrderPage, responses=error_responses(401, 403, 404, 422))
def list_orders(
    orders: OrdersDep,
    user: Anyone,
    state: Annotated[list[StateName] | None, Query(description="repeatable")] = None,
    open: Annotated[bool, Query(description="only orders still being worked on")] = False,
    overdue: Annotated[bool, Query(description="only open orders past a due time")] = False,
    hazard: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(pattern="^(camera|resident|operator)$")] = None,
    camera: Annotated[str | None, Query(max_length=64)] = None,
    village: Annotated[str | None, Query(max_length=64)] = None,
    grid: Annotated[str | None, Query(max_length=64)] = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[float | None, Query(description="created at or after (epoch s)")] = None,
    until: Annotated[float | None, Query(description="created before (epoch s)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> WorkOrderPage:
    """Orders newest first; a worker account gets only its own."""
    if user.role == "worker":
        assignee = user.worker_id
    now = orders.now()
    flt = OrderFilter(
        states=tuple(state or ()),
        open_only=open,
        overdue_at=now if overdue else None,
        kind=hazard,
        source=source,
        camera=camera,
        village=village,
        grid=grid,
        assignee=assignee,
        since=since,
        until=until,
    )
    page = orders.list(flt, limit=limit, cursor=cursor)
    return WorkOrderPage(
        items=[order_out(v, user, now) for v in page.items],
        next_cursor=page.next_cursor,
        now=now,
        stream_time=orders.stream_time,
        timezone=orders.settings.timezone,
    )


@router.get("/stats", response_model=OrderStats, responses=error_responses(401, 403, 404))
def stats(orders: OrdersDep, _user: Viewer) -> OrderStats:
    """Today's figures: orders, dispatched within 1 min, closed within 55 min."""
    return order_stats(
        orders.today(), stream_time=orders.stream_time, timezone=orders.settings.timezone
    )


@router.post(
    "",
    response_model=WorkOrderDetail,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 422),
)
def create_manual(body: ManualOrderIn, orders: OrdersDep, user: Operator) -> WorkOrderDetail:
    """File an order by hand (phone call, patrol); it enters the flow as ``new``."""
    view = orders.create_manual(
        body.kind,
        body.village,
        body.grid,
        title=body.title,
        description=body.description,
        actor=user.actor,
        x_km=body.x_km,
        y_km=body.y_km,
    )
    return order_detail(view, user, orders.now())


@router.get("/{order_id}", response_model=WorkOrderDetail, responses=error_responses(401, 403, 404))
def get_order(
    order_id: OrderId, orders: OrdersDep, log: EventLogDep, user: Anyone
) -> WorkOrderDetail:
    """One order with its transitions."""
    return order_detail(_visible(orders, user, order_id), user, orders.now(), log)


@router.post(
    "/{order_id}/transitions",
    response_model=WorkOrderDetail,
    responses=error_responses(401, 403, 404, 409, 422),
)
def move_order(
    order_id: OrderId,
    body: TransitionIn,
    services: ServicesDep,
    orders: OrdersDep,
    log: EventLogDep,
    user: Anyone,
) -> WorkOrderDetail:
    """Move the order; 409 names the allowed states when the move is illegal.

    One transaction: a worker's tap reads, checks and moves the order and answers with
    its trail in the same one.
    """
    role = ORDER_ROLE.get(user.role)
    if role is None:
        raise Forbidden(f"the {user.role} role cannot change work orders")
    photo = None
    if body.photo is not None:
        prefix, _, name = body.photo.rpartition("/")
        if not PHOTO_NAME.match(name) or prefix not in ("", order_id):
            raise BadRequest("photo: use the 'photo' value POST .../photos returned", "photo")
        if not (services.settings.uploads_dir / order_id / name).is_file():
            raise BadRequest(f"photo: no uploaded photo {name!r} for this order", "photo")
        photo = f"{order_id}/{name}"
    moved = orders.transition(
        order_id,
        body.to,
        actor=user.actor,
        role=role,
        note=body.note,
        photo=photo,
        expected_version=body.expected_version,
        visible_to=visible_to(user),
    )
    return order_detail(moved, user, orders.now(), log)


@router.post(
    "/{order_id}/notes",
    response_model=WorkOrderDetail,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 422),
)
def add_note(
    order_id: OrderId, body: NoteIn, orders: OrdersDep, log: EventLogDep, user: Anyone
) -> WorkOrderDetail:
    """Add a note to the order's trail (no state change; one transaction)."""
    role = ORDER_ROLE.get(user.role)
    if role is None:
        raise Forbidden(f"the {user.role} role cannot annotate work orders")
    noted = orders.note(
        order_id, body.note, actor=user.actor, role=role, visible_to=visible_to(user)
    )
    return order_detail(noted, user, orders.now(), log)


@router.post(
    "/{order_id}/photos",
    response_model=PhotoOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 413, 415),
)
async def upload_photo(
    order_id: OrderId, photo: UploadFile, services: ServicesDep, orders: OrdersDep, user: Anyone
) -> PhotoOut:
    """Store a report-back photo (JPEG, PNG or WebP, checked by content, size-limited)."""
    if ORDER_ROLE.get(user.role) is None:
        raise Forbidden(f"the {user.role} role cannot upload report-back photos")
    view = _visible(orders, user, order_id)
    name, size, ctype = await store_photo(
        photo, services.settings.uploads_dir / view.id, services.settings.max_upload_bytes
    )
    return PhotoOut(
        photo=f"{view.id}/{name}",
        url=photo_url(view.id, name) or "",
        bytes=size,
        content_type=ctype,
    )


@router.get(
    "/{order_id}/photos/{name}",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
        **error_responses(401, 403, 404),
    },
)
def get_photo(
    order_id: OrderId, name: str, services: ServicesDep, orders: OrdersDep, user: Anyone
) -> Any:
    """A report-back photo of an order (names are the upload's, never a client path)."""
    view = _visible(orders, user, order_id)
    if not PHOTO_NAME.match(name):
        raise NotFound(f"no photo {name!r}")
    root = services.settings.uploads_dir.resolve()
    path = (root / view.id / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"no photo {name!r}")
    media = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[name.rsplit(".", 1)[1]]
    return FileResponse(path, media_type=media)
