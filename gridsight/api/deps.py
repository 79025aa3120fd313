"""Request dependencies as ``Annotated`` aliases: the services, who is calling, their rank.

Credentials are a bearer token (``Authorization: Bearer gs_...``) or the browser's
session cookie. A state-changing request authenticated by the cookie alone must also
carry ``X-Requested-With: gridsight`` (which a cross-site form cannot set), on top of the
cookie's ``SameSite=Lax``.

Ranks: :data:`Viewer` (viewer, operator, admin), :data:`Operator` (operator, admin),
:data:`Admin`; :data:`Anyone` also admits worker accounts (handlers then restrict them
to their own orders).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from gridsight.api.accounts import User
from gridsight.api.errors import Forbidden, NotFound, Unauthorized
from gridsight.api.services import Services
from gridsight.orders.event_log import EventLog
from gridsight.orders.facade import OrdersFacade

SESSION_COOKIE = "gridsight_session"
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "gridsight"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(auto_error=False, description="Bearer token (gridsight users token)")
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Browser session (POST /api/v1/auth/login)"
)


def get_services(request: Request) -> Services:
    """The app's :class:`Services`."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_orders(services: ServicesDep) -> OrdersFacade:
    """The work orders (the one way from a handler to them).

    Raises:
        NotFound: the service runs without a township config (no orders possible).
    """
    if services.orders is None:
        raise NotFound("the service runs without a township config: no work orders")
    return OrdersFacade(services.orders, stream_time=services.orders_stream_time())


def get_event_log(services: ServicesDep) -> EventLog:
    """The stored hazard events."""
    return EventLog(services.store)


OrdersDep = Annotated[OrdersFacade, Depends(get_orders)]
EventLogDep = Annotated[EventLog, Depends(get_event_log)]


def optional_user(
    request: Request,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> User | None:
    """The caller, or None when no credentials were presented.

    Raises:
        Unauthorized: credentials were presented but are invalid, revoked or expired.
        Forbidden: a cookie-authenticated unsafe request without the CSRF header.
    """
    if bearer is not None:
        user = services.accounts.user_for_token(bearer.credentials)
        if user is None:
            raise Unauthorized("the bearer token is unknown or revoked")
        return user
    if cookie:
        user = services.accounts.user_for_session(cookie)
        if user is None:
            raise Unauthorized("the session has expired; log in again")
        if request.method not in _SAFE and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
            raise Forbidden(f"a browser request that changes something needs {CSRF_HEADER}")
        return user
    return None


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The caller.

    Raises:
        Unauthorized: no credentials.
    """
    if user is None:
        raise Unauthorized("log in, or send Authorization: Bearer <token>")
    return user


Anyone = Annotated[User, Depends(current_user)]


def _at_least(role: str) -> Callable[[User], User]:
    def check(user: Anyone) -> User:
        if not user.at_least(role):
            raise Forbidden(f"this needs the {role} role or above; you are {user.role}")
        return user

    check.__name__ = f"require_{role}"
    return check


Viewer = Annotated[User, Depends(_at_least("viewer"))]
Operator = Annotated[User, Depends(_at_least("operator"))]
Admin = Annotated[User, Depends(_at_least("admin"))]
