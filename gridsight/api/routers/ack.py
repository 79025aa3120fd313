"""The acknowledge link of a dispatch message: ``/ack?token=...``, opened on a phone.

A dispatch notification carries ``<ack_url>?token=<signed token>`` (see
:mod:`gridsight.orders.notify.ack`): the token names the order and the worker, is signed
with the service's acknowledge secret and expires (``OrderService.ack_ttl_s``).

``GET /ack`` only shows the order and a button: chat apps fetch links to preview them,
and a preview must not acknowledge anything. The button POSTs the token back to
``/ack``, which acknowledges the order as that worker (the service still checks the
worker is the assignee and the move is allowed). No login is needed: the token is the
credential, and it allows this one step of this one order.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from gridsight.api.deps import OrdersDep, ServicesDep
from gridsight.api.routers.pages import render
from gridsight.api.services import Services
from gridsight.core.errors import GridsightError
from gridsight.orders.facade import OrdersFacade
from gridsight.orders.notify.ack import AckClaim, AckTokenError, verify_ack_token

router = APIRouter(include_in_schema=False)


def _claim(orders: OrdersFacade, token: str) -> tuple[AckClaim | None, str]:
    """The token's claim, or None and the string key of why it is refused."""
    secret = orders.ack_secret
    if not secret or not token:
        return None, "ack_invalid"
    try:
        claim = verify_ack_token(token, secret, now=orders.now())
    except AckTokenError as exc:
        return None, "ack_expired" if "expired" in str(exc) else "ack_invalid"
    if claim.expires_at is None:
        return None, "ack_expired"  # links are issued with an expiry; refuse any without
    return claim, ""


def _page(request: Request, services: Services, status: int, **context: Any) -> HTMLResponse:
    response = render(request, services, "ack.html", None, **context)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/ack")
def ack_page(
    request: Request, services: ServicesDep, orders: OrdersDep, token: str = ""
) -> HTMLResponse:
    """The order the link is for and an Acknowledge button (GET changes nothing)."""
    claim, why = _claim(orders, token)
    if claim is None:
        return _page(request, services, 400, message=why, order=None)
    try:
        order = orders.get(claim.order_id)
    except GridsightError:
        return _page(request, services, 404, message="ack_invalid", order=None)
    can = order.state == "dispatched" and order.assignee == claim.worker
    return _page(
        request,
        services,
        200,
        order=order,
        token=token,
        can_ack=can,
        done=order.state == "acknowledged" and order.assignee == claim.worker,
        message=None if can else "ack_refused",
    )


@router.post("/ack")
def acknowledge(
    request: Request,
    services: ServicesDep,
    orders: OrdersDep,
    token: Annotated[str, Form(max_length=1024)] = "",
) -> HTMLResponse:
    """Acknowledge the order of the token as its worker."""
    claim, why = _claim(orders, token)
    if claim is None:
        return _page(request, services, 400, message=why, order=None)
    try:
        order = orders.transition(
            claim.order_id, "acknowledged", actor=f"worker:{claim.worker}", role="worker"
        )
    except GridsightError:
        try:
            order = orders.get(claim.order_id)
        except GridsightError:
            order = None
        return _page(request, services, 409, message="ack_refused", order=order)
    return _page(request, services, 200, order=order, done=True, message="ack_done")
