"""Liveness, readiness and Prometheus metrics (outside ``/api/v1``)."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from gridsight.api.deps import ServicesDep
from gridsight.api.schemas import EngineHealthOut, Health, Readiness
from gridsight.api.services import Services

router = APIRouter(tags=["health"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _engine_health(services: Services) -> EngineHealthOut | None:
    if services.host is None:
        return None
    return EngineHealthOut.model_validate(dataclasses.asdict(services.host.health()))


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "the engine has failed for good"}},
    summary="The process is alive (and its engine has not given up)",
)
def healthz(services: ServicesDep) -> JSONResponse:
    """200 while the process serves requests and its engine runs, starts or restarts;
    503 once the engine has failed (its restart policy gave up): restart the process."""
    engine = _engine_health(services)
    failed = engine is not None and engine.phase == "failed"
    body = Health(status="failed" if failed else "ok", engine=engine)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=503 if failed else 200)


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
    engine = _engine_health(services)
    if services.host is None:
        checks["engine"] = "ok"  # --no-engine: the API serves an existing store
    else:
        ready, reason = services.host.readiness()
        checks["engine"] = "ok" if ready else reason
    reasons = [v for v in checks.values() if v != "ok"]
    phase = services.phase
    if phase == "ready" and engine is not None and engine.phase != "running":
        phase = engine.phase  # never "ready" on a 503 while the engine restarts or failed
    body = Readiness(
        ready=not reasons,
        phase=phase,
        reason=reasons[0] if reasons else "",
        since=engine.since if engine is not None else None,
        engine=engine,
        checks=checks,
        reasons=reasons,
    )
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
