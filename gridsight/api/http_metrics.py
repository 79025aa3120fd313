"""HTTP request metrics (Prometheus) for the service, in the app's own registry.

Requests are labelled by the route *template* (``/api/v1/work-orders/{order_id}``), never
the raw path, so an id in a URL cannot blow up the number of series.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def route_template(scope: Mapping[str, Any]) -> str:
    """The full route template of a matched request, e.g. ``/api/v1/events/{event_id}``.

    FastAPI puts the innermost router's route in the scope, whose path lacks the prefixes
    of the routers it was included into; they are recovered from the request path.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return "(unmatched)"
    tail = template
    for name, value in (scope.get("path_params") or {}).items():
        pattern = re.compile(r"\{" + re.escape(name) + r"(:[^}]*)?\}")
        tail = pattern.sub(str(value).replace("\\", "\\\\"), tail)
    path = str(scope.get("path", ""))
    if path.endswith(tail):
        return path[: len(path) - len(tail)] + template
    return str(template)


class HttpMetrics:
    """Counters and latency histograms of the HTTP layer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gridsight_http_requests",
            "HTTP requests served, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gridsight_http_request_seconds",
            "Time to the response's first byte, by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "gridsight_http_in_flight", "Requests being served.", registry=self.registry
        )
        self.sse_clients = Gauge(
            "gridsight_sse_clients", "Clients on the live event stream.", registry=self.registry
        )

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Starlette ``http`` middleware recording one request."""
        t0 = time.perf_counter()
        self.in_flight.inc()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            self.in_flight.dec()
            template = route_template(request.scope)
            self.requests.labels(request.method, template, str(status)).inc()
            self.latency.labels(request.method, template).observe(time.perf_counter() - t0)

    def exposition(self) -> bytes:
        """Prometheus text of the HTTP metrics."""
        return generate_latest(self.registry)
