"""One exception handler: the project's error classes -> HTTP status codes and a JSON body.

Bad input is never a 5xx: a :class:`~gridsight.core.errors.GridsightError` the handler
has no specific code for is a 400. The body is :class:`ErrorBody` and names the field
(where one is at fault) and, for an illegal transition, the states allowed instead.
Validation of the request itself (FastAPI/pydantic) stays FastAPI's 422 body, which
lists each field's location.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gridsight.api.accounts import AccountError, UserNotFound
from gridsight.api.photos import PayloadTooLarge, UnsupportedMediaType
from gridsight.core.engine import EngineStopped
from gridsight.core.errors import ConfigError, DataError, GridsightError
from gridsight.orders.errors import (
    IllegalTransition,
    NotPermitted,
    OrderError,
    OrderNotFound,
    StoreError,
    UnknownWorker,
    VersionConflict,
)
from gridsight.orders.views import BadCursor

log = logging.getLogger("gridsight.api")


class NotFound(GridsightError):
    """A resource the path names does not exist (camera, event, snapshot, token)."""


class NotSupported(GridsightError):
    """This version of a component cannot do what was asked (409, never a fake success)."""


class Unauthorized(GridsightError):
    """No valid credentials were presented."""


class Forbidden(GridsightError):
    """The credentials are valid but the role may not do this."""


class TooManyAttempts(GridsightError):
    """Too many failed logins; ``retry_after`` seconds until the next may be tried."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadRequest(GridsightError):
    """The request is well-formed but its values do not fit (names the field)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ErrorBody(BaseModel):
    """The JSON body of every error response except request validation (422 from FastAPI).

    Attributes:
        error: a short machine-readable kind, e.g. ``illegal_transition``.
        message: what is wrong and what to do, for a person.
        field: the request field at fault, where one is.
        allowed: for an illegal transition, the states the order may move to.
        current: for an illegal transition, the order's current state.
    """

    error: str
    message: str
    field: str | None = None
    allowed: list[str] | None = None
    current: str | None = None
    extra: dict[str, str | int | float | None] = Field(default_factory=dict)


# Most specific first.
_STATUS: tuple[tuple[type[GridsightError], int, str], ...] = (
    (OrderNotFound, 404, "not_found"),
    (UserNotFound, 404, "not_found"),
    (NotFound, 404, "not_found"),
    (IllegalTransition, 409, "illegal_transition"),
    (VersionConflict, 409, "version_conflict"),
    (EngineStopped, 409, "engine_not_running"),
    (AccountError, 409, "conflict"),
    (NotPermitted, 403, "not_permitted"),
    (Forbidden, 403, "forbidden"),
    (Unauthorized, 401, "unauthorized"),
    (TooManyAttempts, 429, "too_many_attempts"),
    (PayloadTooLarge, 413, "too_large"),
    (UnsupportedMediaType, 415, "unsupported_media_type"),
    (BadCursor, 422, "invalid"),
    (UnknownWorker, 422, "unknown_worker"),
    (ConfigError, 422, "invalid"),
    (BadRequest, 422, "invalid"),
    (DataError, 422, "invalid"),
    (StoreError, 503, "store_unavailable"),
    (NotSupported, 409, "not_supported"),
    (OrderError, 422, "invalid"),
)


def status_of(exc: GridsightError) -> tuple[int, str]:
    """The HTTP status and error kind for ``exc``."""
    for cls, status, kind in _STATUS:
        if isinstance(exc, cls):
            return status, kind
    return 400, "bad_request"


def error_body(exc: GridsightError) -> ErrorBody:
    """The response body for ``exc``, with the attributes a client can act on."""
    _, kind = status_of(exc)
    body = ErrorBody(error=kind, message=str(exc))
    if isinstance(exc, IllegalTransition):
        body.allowed = list(exc.allowed)
        body.current = exc.current
        body.field = "to"
    elif isinstance(exc, VersionConflict):
        body.field = "expected_version"
        body.extra = {"expected": exc.expected, "actual": exc.actual}
    elif isinstance(exc, NotPermitted):
        body.allowed = list(exc.allowed_roles)
        body.field = "to"
    elif isinstance(exc, UnknownWorker):
        body.field = "assignee"
    elif isinstance(exc, BadRequest):
        body.field = exc.field
    elif isinstance(exc, BadCursor):
        body.field = "cursor"
    elif isinstance(exc, PayloadTooLarge | UnsupportedMediaType):
        body.field = "photo"
    return body


async def gridsight_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The one handler for every :class:`GridsightError`."""
    if not isinstance(exc, GridsightError):  # pragma: no cover - registered for it only
        raise exc
    status, _ = status_of(exc)
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    headers = {}
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc).model_dump(), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handler on ``app``."""
    app.add_exception_handler(GridsightError, gridsight_error_handler)


class DetailBody(BaseModel):
    """The body of an error the web framework raises itself (e.g. a body that is not JSON)."""

    detail: str


class ValidationDetail(BaseModel):
    """One problem of a request FastAPI rejected (``loc`` names the field)."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationBody(BaseModel):
    """FastAPI's own 422 body: the fields of the request that do not fit."""

    detail: list[ValidationDetail]


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses=`` entries documenting :class:`ErrorBody` for ``codes``.

    A 422 is either FastAPI's request validation body or ours (a value that parses but
    does not fit, e.g. an unknown grid), so it documents both.
    """
    out: dict[int | str, dict[str, object]] = {}
    for code in codes:
        out[code] = {"model": ErrorBody | ValidationBody if code == 422 else ErrorBody}
    return out
