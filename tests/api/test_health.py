"""Liveness, readiness (503 with reasons) and Prometheus metrics."""

from __future__ import annotations

from gridsight.core.engine.health import EngineHealth

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
    api.services.host = _Host(EngineHealth("starting", "loading the detector model", T, False, 0))  # type: ignore[assignment]
    try:
        r = api.client.get("/readyz")
    finally:
        api.services.host = None
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["engine"] == "engine starting: loading the detector model"
    assert body["phase"] == "starting" and body["since"] == T


T = 1_796_090_000.0


class _Host:
    """An engine host in a given state of health."""

    engine = None

    def __init__(self, health: EngineHealth) -> None:
        self.h = health

    def health(self) -> EngineHealth:
        return self.h

    def readiness(self) -> tuple[bool, str]:
        if self.h.phase != "running":
            return False, f"engine {self.h.phase}: {self.h.reason}"
        return True, "engine running"


def test_a_restarting_engine_is_not_ready_and_says_so(api: Api) -> None:
    why = "RuntimeError: boom in the loop"
    api.services.host = _Host(EngineHealth("restarting", why, T, False, 2))  # type: ignore[assignment]
    try:
        ready = api.client.get("/readyz")
        alive = api.client.get("/healthz")
    finally:
        api.services.host = None
    assert ready.status_code == 503
    body = ready.json()
    assert body["phase"] == "restarting"  # not "ready" on a 503
    assert body["reason"] == f"engine restarting: {why}" and body["since"] == T
    assert body["engine"] == {
        "phase": "restarting", "reason": why, "since": T, "up": False, "restarts": 2
    }  # fmt: skip
    assert alive.status_code == 200 and alive.json()["engine"]["restarts"] == 2


def test_a_failed_engine_fails_liveness(api: Api) -> None:
    api.services.host = _Host(EngineHealth("failed", "gave up after 5 restarts", T, False, 5))  # type: ignore[assignment]
    try:
        alive = api.client.get("/healthz")
        ready = api.client.get("/readyz")
    finally:
        api.services.host = None
    assert alive.status_code == 503 and alive.json()["status"] == "failed"
    assert ready.status_code == 503 and ready.json()["phase"] == "failed"


def test_a_running_engine_reports_its_health(tmp_path, township) -> None:
    from .conftest import make_api
    from .test_cameras import wait_for

    one = township.model_copy(update={"cameras": township.cameras[:1]})
    apps = make_api(tmp_path, one, _engine=True)
    live = next(apps)
    try:
        wait_for(lambda: live.client.get("/readyz").status_code == 200)
        body = live.client.get("/readyz").json()
        assert body["phase"] == "ready" and body["engine"]["phase"] == "running"
        assert body["engine"]["up"] is True and body["reason"] == ""
        alive = live.client.get("/healthz").json()
        assert alive["status"] == "ok" and alive["engine"]["phase"] == "running"
    finally:
        apps.close()


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
