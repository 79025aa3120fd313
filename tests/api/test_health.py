"""Liveness, readiness (503 with reasons) and Prometheus metrics."""

from __future__ import annotations

from .conftest import Api


def test_healthz(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}


def test_readyz_ready_then_503_while_stopping(api: Api) -> None:
    r = api.client.get("/readyz")
    assert r.status_code == 200 and r.json()["ready"] is True
    api.services.phase = "stopping"
    r = api.client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["reasons"] == ["service stopping"]


def test_readyz_names_an_unreachable_store(api: Api) -> None:
    api.services.store.engine.dispose()
    real = api.services.store_reachable
    api.services.store_reachable = lambda: "store unreachable: OperationalError: gone"  # type: ignore[method-assign]
    try:
        r = api.client.get("/readyz")
    finally:
        api.services.store_reachable = real  # type: ignore[method-assign]
    assert r.status_code == 503
    assert r.json()["checks"]["store"].startswith("store unreachable")


def test_readyz_while_the_engine_loads(api: Api) -> None:
    class Loading:
        phase = "loading"
        engine = None

        def readiness(self) -> tuple[bool, str]:
            return False, "loading the detector model"

    api.services.host = Loading()  # type: ignore[assignment]
    try:
        r = api.client.get("/readyz")
    finally:
        api.services.host = None
    assert r.status_code == 503
    assert r.json()["checks"]["engine"] == "loading the detector model"


def test_metrics_count_requests_by_route_template(api: Api) -> None:
    api.client.get("/api/v1/work-orders/wo-1", headers=api.h("viewer"))
    api.client.get("/api/v1/work-orders/wo-2", headers=api.h("viewer"))
    text = api.client.get("/metrics").text
    line = next(
        ln for ln in text.splitlines()
        if ln.startswith("gridsight_http_requests_total{")
        and 'route="/api/v1/work-orders/{order_id}"' in ln and 'status="404"' in ln
    )  # fmt: skip
    assert line.endswith(" 2.0")
    assert "wo-1" not in text
    assert "gridsight_http_request_seconds_bucket" in text
