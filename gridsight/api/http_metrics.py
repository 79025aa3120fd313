"""HTTP request metrics (Prometheus) for the service, in the app's own registry.

Requests are labelled by the route *template* (``/api/v1/work-orders/{order_id}``), never
the raw path, so an id in a URL cannot blow up the number of series.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


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
            route = request.scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            self.requests.labels(request.method, template, str(status)).inc()
            self.latency.labels(request.method, template).observe(time.perf_counter() - t0)

    def exposition(self) -> bytes:
        """Prometheus text of the HTTP metrics."""
        return generate_latest(self.registry)
