"""Residents' requests through Open311 GeoReport v2 (the FixMyStreet-style client API).

- ``GET /open311/v2/services.json``: the request kinds the township takes (the
  ``orders.requests`` kinds of its config: grid QR code questions, fraud reports, service
  requests, the 12345 hotline).
- ``POST /open311/v2/requests.json`` (form-encoded, as the spec says): files a request
  as a work order (``source = resident``). The place is the grid: ``address_id`` is a
  grid id of the township (its village follows).
- ``GET /open311/v2/requests.json``: requests with GeoReport's ``open``/``closed``
  status; the detailed work-order state is in ``status_notes``.

Filing and reading need an ``api_key`` (a bearer token of an operator or above, as an
integrator holds) in the form/query, or an ``Authorization: Bearer`` header.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import BeforeValidator

from gridsight.api.accounts import User
from gridsight.api.deps import OrdersDep, ServicesDep
from gridsight.api.errors import BadRequest, Forbidden, Unauthorized, error_responses
from gridsight.api.schemas.open311 import Open311Created, Open311Request, Open311Service
from gridsight.api.services import Services
from gridsight.orders.errors import OrderNotFound
from gridsight.orders.facade import OrdersFacade
from gridsight.orders.states import OPEN_STATES
from gridsight.orders.views import OrderFilter, WorkOrderView


def _iso_only(value: object) -> object:
    """GeoReport dates are W3C date-times; a bare number (``0.5``) is not one."""
    if isinstance(value, str) and not _W3C_DATE.match(value):
        raise ValueError("a W3C date-time, e.g. 2026-12-01T10:00:00+08:00")
    return value


_W3C_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"
)
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _caller(services: Services, request: Request, api_key: str | None) -> User:
    token = api_key
    header = request.headers.get("authorization", "")
    if token is None and header.lower().startswith("bearer "):
        token = header[7:].strip()
    if not token:
        raise Unauthorized("pass api_key (an integrator's token) or Authorization: Bearer")
    user = services.accounts.user_for_token(token)
    if user is None:
        raise Unauthorized("the api_key is unknown or revoked")
    if not user.at_least("operator"):
        raise Forbidden("filing and reading Open311 requests needs an operator's key")
    return user


def _kinds(orders: OrdersFacade) -> dict[str, Any]:
    return dict(orders.settings.requests)


def _request_out(services: Services, view: WorkOrderView, names: dict[str, str]) -> Open311Request:
    town = services.township
    grid_name = view.grid
    village_name = view.village
    if town is not None:
        try:
            g = town.grid(view.grid)
            grid_name = g.name or g.id
            village_name = town.village(view.village).name
        except KeyError:
            pass
    return Open311Request(
        service_request_id=view.id,
        status="open" if view.state in OPEN_STATES else "closed",
        status_notes=view.state,
        service_name=names.get(view.kind, view.kind),
        service_code=view.kind,
        description=view.description or view.title,
        agency_responsible=town.command_centre.name if town is not None else "",
        requested_datetime=_iso(view.created_at),
        updated_datetime=_iso(view.updated_at),
        expected_datetime=_iso(view.close_due_at),
        address=f"{village_name} {grid_name}",
        address_id=view.grid,
    )


@router.get("/services.json", response_model=list[Open311Service])
def services_list(svc: OrdersDep) -> list[Open311Service]:
    """The request kinds residents can file (public, as in the spec)."""
    return [
        Open311Service(service_code=kind, service_name=kind, description=f"{kind} request")
        for kind in sorted(_kinds(svc))
    ]


@router.post(
    "/requests.json",
    response_model=list[Open311Created],
    responses=error_responses(401, 403, 404, 422),
)
def post_request(
    request: Request,
    services: ServicesDep,
    svc: OrdersDep,
    service_code: Annotated[str, Form(max_length=64)],
    address_id: Annotated[str, Form(max_length=64, description="grid id of the place")],
    description: Annotated[str, Form(max_length=4000)] = "",
    api_key: Annotated[str | None, Form(max_length=256)] = None,
    first_name: Annotated[str | None, Form(max_length=100)] = None,
    last_name: Annotated[str | None, Form(max_length=100)] = None,
    phone: Annotated[str | None, Form(max_length=40)] = None,
    device_id: Annotated[str | None, Form(max_length=100)] = None,
) -> list[Open311Created]:
    """File a resident's request; it enters the work-order flow as ``new``."""
    user = _caller(services, request, api_key)
    town = services.township
    if service_code not in _kinds(svc):
        known = ", ".join(sorted(_kinds(svc)))
        raise BadRequest(
            f"service_code {service_code!r} is not offered; codes: {known}", "service_code"
        )
    try:
        grid = town.grid(address_id) if town is not None else None
    except KeyError:
        grid = None
    if grid is None:
        raise BadRequest(f"address_id {address_id!r} is not a grid of the township", "address_id")
    who = " ".join(p for p in (first_name, last_name) if p) or "resident"
    title = description.strip().splitlines()[0][:200] if description.strip() else service_code
    view = svc.create_request(
        service_code,
        grid.village,
        grid.id,
        title=title,
        description=description,
        actor=f"resident:{who}" if who != "resident" else "resident",
        channel=f"open311:{user.name}" + (f":{device_id}" if device_id else ""),
    )
    return [Open311Created(service_request_id=view.id)]


@router.get(
    "/requests.json",
    response_model=list[Open311Request],
    responses=error_responses(401, 403, 404, 422),
)
def get_requests(
    request: Request,
    services: ServicesDep,
    svc: OrdersDep,
    api_key: Annotated[str | None, Query(max_length=256)] = None,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    start_date: Annotated[IsoDatetime | None, Query()] = None,
    end_date: Annotated[IsoDatetime | None, Query()] = None,
) -> list[Open311Request]:
    """Residents' requests, newest first (ids comma-separated, as the spec allows)."""
    _caller(services, request, api_key)
    names = {k: k for k in _kinds(svc)}
    if service_request_id:
        out = []
        for rid in service_request_id.split(","):
            try:
                view = svc.get(rid.strip())
            except OrderNotFound:  # an unknown id is simply not listed (GeoReport)
                continue
            if view.source == "resident":
                out.append(_request_out(services, view, names))
        return out
    flt = OrderFilter(
        source="resident",
        kind=service_code,
        open_only=status == "open",
        since=start_date.timestamp() if start_date is not None else None,
        until=end_date.timestamp() if end_date is not None else None,
    )
    page = svc.list(flt, limit=1000)
    views = [v for v in page.items if status != "closed" or v.state not in OPEN_STATES]
    return [_request_out(services, v, names) for v in views]
