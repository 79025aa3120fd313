"""The pages an operator works in besides the dashboard: one order, and the history.

``/orders/{id}``: the order's facts, its SLA clocks, the evidence snapshot large and its
clip, the timeline (every step with who and when, notes and photos) and a note form.
Staff see any order; a worker only their own.

``/history``: every order, filtered (state, hazard, village, grid, worker, dates),
searched by id, and exported as CSV (``/api/v1/exports/work-orders.csv``, same filters).
Both pages are rendered on the server; ``order.js`` only adds notes and ticks the clocks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gridsight.api.deps import EventLogDep, OrdersDep, ServicesDep
from gridsight.api.errors import BadRequest
from gridsight.api.order_history import HistoryQuery, history_rows
from gridsight.api.routers.pages import render, session_user
from gridsight.api.routers.work_orders import order_clip_url, photo_url, visible_to
from gridsight.api.services import Services
from gridsight.core.errors import GridsightError
from gridsight.orders.states import STATES

router = APIRouter(include_in_schema=False)

#: Rows the history page shows (the export has them all).
HISTORY_ROWS = 200


def _zone(services: Services) -> ZoneInfo:
    town = services.township
    return town.orders.zone if town is not None else ZoneInfo("UTC")


def _clock_text(epoch: float | None, zone: ZoneInfo) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S")


@router.get("/orders/{order_id}")
def order_page(
    order_id: str, request: Request, services: ServicesDep, orders: OrdersDep, log: EventLogDep
) -> Response:
    """One work order: facts, SLA clocks, snapshot and clip, timeline, notes and photos."""
    user = session_user(request, services)
    if user is None:
        return RedirectResponse(f"/login?next=/orders/{order_id}", status_code=303)
    try:
        view = orders.get(order_id, visible_to=visible_to(user))
    except GridsightError:
        view = None
    if view is None:
        response = render(request, services, "order.html", user, order=None, order_id=order_id)
        response.status_code = 404
        return response
    zone = _zone(services)
    steps: list[dict[str, Any]] = [
        {
            "seq": t.seq,
            "from": t.from_state,
            "to": t.to_state,
            "actor": t.actor,
            "role": t.actor_role,
            "actor_name": "" if t.actor == t.actor_role else t.actor.split(":", 1)[-1],
            "at": _clock_text(t.at, zone),
            "note": t.note,
            "photo": photo_url(view.id, t.photo),
            "annotation": t.from_state == t.to_state,
        }
        for t in view.transitions
    ]
    return render(
        request,
        services,
        "order.html",
        user,
        order=view,
        order_id=view.id,
        steps=steps,
        snapshot=f"/api/v1/events/{view.event_id}/snapshot"
        if view.event_id and user.role != "worker"
        else None,
        clip=order_clip_url(view, log),
        when={
            k: _clock_text(getattr(view, k), zone)
            for k in ("created_at", "dispatched_at", "closed_at", "dispatch_due_at", "close_due_at")
        },
        now=orders.now(),
        can_note=user.role in ("operator", "admin", "worker"),
    )


@router.get("/history")
def history_page(request: Request, services: ServicesDep, orders: OrdersDep) -> Response:
    """Every order, filtered and searched; the CSV export of the same filters."""
    user = session_user(request, services)
    if user is None:
        return RedirectResponse("/login?next=/history", status_code=303)
    if user.role == "worker":
        return RedirectResponse("/worker", status_code=303)
    error = None
    try:
        query = HistoryQuery.from_params(request.query_params)
    except BadRequest as exc:
        query, error = HistoryQuery(), str(exc)
    zone = _zone(services)
    rows = [
        {"view": v, "created": _clock_text(v.created_at, zone)}
        for v in history_rows(orders, query, zone, HISTORY_ROWS)
    ]
    town = services.township
    return render(
        request,
        services,
        "history.html",
        user,
        query=query,
        rows=rows,
        error=error,
        truncated=len(rows) >= HISTORY_ROWS,
        export_url="/api/v1/exports/work-orders.csv?" + urlencode(query.as_params()),
        states=STATES,
        hazards=sorted({c for cam in town.cameras for c in cam.hazards}) if town else [],
        villages=[v.id for v in town.villages] if town else [],
        grids=[g.id for g in town.grids] if town else [],
    )
