"""Liveness, readiness and Prometheus metrics (outside ``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from gridsight.api.deps import ServicesDep
from gridsight.api.schemas import Health, Readiness

router = APIRouter(tags=["health"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    """Always 200 while the process serves requests."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready, with the reasons"}},
    summary="Ready to serve: model loaded, store reachable, cameras started",
)
def readyz(services: ServicesDep) -> JSONResponse:
    """200 when every check passes, else 503 with each failing check's reason."""
    checks: dict[str, str] = {}
    checks["service"] = "ok" if services.phase == "ready" else f"service {services.phase}"
    checks["store"] = services.store_reachable()
    if services.host is None:
        checks["engine"] = "ok"  # --no-engine: the API serves an existing store
    else:
        ready, reason = services.host.readiness()
        checks["engine"] = "ok" if ready else reason
    reasons = [v for v in checks.values() if v != "ok"]
    body = Readiness(ready=not reasons, phase=services.phase, checks=checks, reasons=reasons)
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.head("/metrics", include_in_schema=False)  # a probe's HEAD: the GET, body dropped
@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {PROMETHEUS_TEXT: {}}, "description": "Prometheus text"}},
    summary="Prometheus metrics: the engine's registry and the HTTP layer's",
)
def metrics(services: ServicesDep) -> Response:
    """The engine's metrics (when it runs) followed by the HTTP request metrics."""
    parts = []
    host = services.host
    if host is not None and host.engine is not None:
        parts.append(host.engine.metrics.exposition())
    parts.append(services.http_metrics.exposition())
    return Response(b"".join(parts), media_type=PROMETHEUS_TEXT)
