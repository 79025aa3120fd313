"""``/metrics``: the series operators alert on, read from the store at scrape time."""

from __future__ import annotations

import time

import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from gridsight.core.events import HazardEvent
from gridsight.orders.tables import outbox

from .conftest import Api, manual_order


def _scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = api.client.get("/metrics")
    assert r.status_code == 200
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _bike(api: Api, n: int) -> None:
    cam = api.services.township.camera("cam-stairwell-01")
    api.services.orders.ingest_event(
        HazardEvent(
            id=f"cam-stairwell-01:ebike:{n}@m",
            camera="cam-stairwell-01",
            hazard="ebike",
            phase="start",
            ts=float(n),
            wall_time="2026-12-01T02:00:00+00:00",
            village=cam.village,
            grid=cam.grid,
            confidence=0.9,
            boxes=((1.0, 1.0, 2.0, 2.0),),
            track_ids=(1,),
            snapshot=None,
        )
    )


def test_orders_by_state_verification_wait_and_breaches(api: Api) -> None:
    manual_order(api)  # dispatched at once
    _bike(api, 1)  # waits for verification
    api.clock.advance(90)
    api.services.orders.tick()  # the e-bike order's dispatch clock breaches
    m = _scrape(api)
    assert m[("gridsight_work_orders", (("state", "dispatched"),))] == 1
    assert m[("gridsight_work_orders", (("state", "new"),))] == 1
    assert m[("gridsight_orders_awaiting_verification", ())] == 1
    assert m[("gridsight_verification_wait_seconds", ())] == 90
    assert m[("gridsight_sla_breaches_total", (("clock", "dispatch"),))] == 1
    assert m[("gridsight_sla_breaches_total", (("clock", "close"),))] == 0
    assert m[("gridsight_store_up", ())] == 1


def test_outbox_backlog_dead_letters_and_latency(api: Api) -> None:
    now = api.clock()
    # (key, delivered after, dead, last error)
    spec = [
        ("a", 0.3, False, None),
        ("b", 45.0, False, None),
        ("c", None, False, None),  # pending
        ("d", None, True, "503"),  # dead letter
        ("e", 0.0, False, "not sent: filtered"),  # filtered: not a delivery
    ]
    rows = [
        {
            "key": key,
            "channel": "hook",
            "delivered_at": None if after is None else now + after,
            "dead_at": now if dead else None,
            "last_error": error,
        }
        for key, after, dead, error in spec
    ]
    with api.services.store.engine.begin() as conn:
        for r in rows:
            conn.execute(
                sa.insert(outbox).values(
                    topic="order", kind="update", order_id=None, payload="{}",
                    created_at=now, next_attempt_at=now, **r,
                )
            )  # fmt: skip
    m = _scrape(api)
    hook = (("channel", "hook"),)
    assert m[("gridsight_outbox_pending", hook)] == 1
    assert m[("gridsight_outbox_dead", hook)] == 1
    assert m[("gridsight_notification_latency_seconds_count", hook)] == 2
    le = lambda b: (("channel", "hook"), ("le", b))  # noqa: E731
    assert m[("gridsight_notification_latency_seconds_bucket", le("0.5"))] == 1
    assert m[("gridsight_notification_latency_seconds_bucket", le("30.0"))] == 1
    assert m[("gridsight_notification_latency_seconds_bucket", le("60.0"))] == 2
    assert abs(m[("gridsight_notification_latency_seconds_sum", hook)] - 45.3) < 1e-6


def test_process_and_build_info_and_head(api: Api) -> None:
    m = _scrape(api)
    assert any(name == "gridsight_build_info" for name, _ in m)
    assert any(name.startswith("python_info") for name, _ in m)
    if time.get_clock_info("monotonic") and __import__("sys").platform == "linux":
        assert ("process_resident_memory_bytes", ()) in m
    assert api.client.head("/metrics").status_code == 200


def test_the_grafana_dashboard_uses_only_series_the_service_serves(api: Api) -> None:
    import json
    import re
    from pathlib import Path

    dash = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text()
    )
    manual_order(api)  # an HTTP request, and an outbox row on its channel
    with api.services.store.engine.begin() as conn:
        conn.execute(
            sa.insert(outbox).values(
                key="g", channel="hook", topic="order", kind="update", payload="{}",
                created_at=api.clock(), next_attempt_at=api.clock(),
                delivered_at=api.clock() + 1,
            )
        )  # fmt: skip
    served = {name for name, _ in _scrape(api)}
    used = {
        m
        for panel in dash["panels"]
        for target in panel["targets"]
        for m in re.findall(r"\b(?:gridsight|process)_[a-z_]+", target["expr"])
    }
    assert used, "the dashboard queries something"
    assert used <= served, f"not served: {sorted(used - served)}"
