"""HTTP hardening every response goes through: security headers, a request body limit,
validation errors that never echo the request, and ``Allow`` headers that tell the truth.

- :class:`SecurityHeaders` adds a Content-Security-Policy (scripts, styles, images and
  connections from this origin only; no framing: ``frame-ancestors 'none'``), ``X-Frame-
  Options: DENY``, ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``
  (acknowledge links carry a token in their query) to every response, errors included.
- :class:`BodyLimit` refuses a body larger than ``max_body_bytes`` with 413 before the
  application reads it: at once from ``Content-Length``, or as soon as a chunked body
  passes the limit. The refusal is a short JSON body; nothing of the request comes back.
- A 422 lists each field's location, message and type, never the value sent (FastAPI's
  default echoes the whole input, so a 10 MiB body came back as a 10 MiB error).
- A 405 names every method the path answers to (Starlette names only those of the first
  route whose path matched).

Pure ASGI middleware (not ``BaseHTTPMiddleware``), so streamed responses (SSE) pass
through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gridsight.api.errors import ErrorBody

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(self)"),
)


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (a header set by the handler
    stays as it is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in self._raw if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _too_large_body(limit: int) -> bytes:
    return json.dumps(
        {
            "error": "too_large",
            "message": f"the request body is larger than the {limit} bytes the service accepts",
            "field": None,
            "allowed": None,
            "current": None,
            "extra": {"max_body_bytes": limit},
        }
    ).encode()


class BodyLimit:
    """Answers 413 to a request body over ``max_bytes`` before the application reads it.

    Args:
        app: the ASGI app.
        max_bytes: the largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = _too_large_body(self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(send)
                return
        seen = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    # Answer now and tell the app the client has gone: it stops reading
                    # and whatever it answers is dropped.
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, tracked_send)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body without the input values (``loc``, ``msg``, ``type`` only)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {
            "loc": [p for p in e.get("loc", ()) if isinstance(p, str | int)],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]
    return JSONResponse({"detail": detail}, status_code=422)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route of ``app`` fully matches at the scope's path."""
    probe = {k: v for k, v in scope.items() if k not in ("route", "endpoint", "path_params")}
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**probe, "method": method})[0] == Match.FULL
            for route in app.router.routes
        )
    ]


_AS_ERROR_BODY = {
    404: ("not_found", "nothing is served at {path}"),
    405: ("method_not_allowed", "{path} does not take this method; see the Allow header"),
}


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's HTTP errors as ``{"detail": ...}``, with a true ``Allow`` on a 405."""
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover - registered for it
        raise exc
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    if exc.status_code in _AS_ERROR_BODY:
        # No route or no such method: the documented error body, like every other 404/405.
        kind, message = _AS_ERROR_BODY[exc.status_code]
        body = ErrorBody(error=kind, message=message.format(path=request.url.path))
        return JSONResponse(body.model_dump(), status_code=exc.status_code, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def install_hardening(app: FastAPI, max_body_bytes: int) -> None:
    """Add the middleware and handlers of this module to ``app`` (outermost last)."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(SecurityHeaders)
