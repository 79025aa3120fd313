"""Sustained work-order transitions per second, SQLite and PostgreSQL side by side.

Run: ``nice .venv/bin/pytest benchmarks/bench_orders.py --benchmark-columns=min,median,ops,rounds``

Each round takes ``ORDERS`` (25) freshly dispatched orders through a worker's day:
acknowledged -> on_site -> resolved, then the desk closes them: ``4 * ORDERS`` (100)
transitions, each its own transaction writing the order row (version check, row lock
on PostgreSQL), a transition record, one outbox row per channel (2), plus what follows
(the worker's position, the freed worker's queued orders, the SLA clocks). The orders
are created in the round's set-up, outside the timing. ``extra_info.transitions_per_s``
is the figure to quote; ``ops`` counts rounds.

Group ``orders-sustained``: one writer. Group ``orders-cycle``: a whole order from the
camera's ``start`` (stored, opened, verified, dispatched: 3 records) to closed (4 more)
per call, i.e. alert-to-closure work of the store for one case.

PostgreSQL comes from ``GRIDSIGHT_TEST_POSTGRES_URL`` (skipped locally when not
reachable, failing under ``CI=true``), in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridsight.core.events import HazardEvent
from gridsight.orders.config import OrdersConfig, load_orders_township
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # for tests/services.py (skip locally / fail under CI)
    sys.path.insert(0, str(ROOT))
from benchmarks.servicecheck import require_postgres  # noqa: E402

CONFIG = ROOT / "configs" / "jingqiao.yaml"
ORDERS = 25
CHANNELS = ("webhook-1", "mqtt-1")
# 10:00 local time in Jingqiao: the day shift is on duty.
MORNING = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


class Clock:
    def __init__(self) -> None:
        self.t = MORNING

    def __call__(self) -> float:
        self.t += 0.01
        return self.t


@pytest.fixture(params=["sqlite", "postgresql"])
def svc(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OrderService]:
    schema = None
    if request.param == "sqlite":
        store = OrderStore.open(tmp_path / "bench.sqlite")
    else:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        store = OrderStore.open(require_postgres(), schema=schema)
    town = load_orders_township(CONFIG)
    # No reopening: every cycle's alert on the same camera is a new case.
    settings = OrdersConfig(reopen_min=0)
    service = OrderService(store, town, clock=Clock(), channels=CHANNELS, settings=settings)
    yield service
    if schema is not None:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    store.close()


def _grids(svc: OrderService) -> list[tuple[str, str]]:
    return [(g.village, g.id) for g in svc.town.grids]


def test_sustained_transitions(benchmark, svc: OrderService) -> None:
    benchmark.group = "orders-sustained"
    grids = _grids(svc)
    counter = [0]

    def setup():
        made = []
        for _ in range(ORDERS):
            village, grid = grids[counter[0] % len(grids)]
            counter[0] += 1
            o = svc.create_manual("fire_lane", village, grid, title="bench", actor="operator:b")
            assert o.state == "dispatched" and o.assignee is not None
            made.append((o.id, f"worker:{o.assignee}"))
        return (made,), {}

    def day(made: list[tuple[str, str]]) -> None:
        for oid, worker in made:
            svc.transition(oid, "acknowledged", actor=worker, role="worker")
            svc.transition(oid, "on_site", actor=worker, role="worker")
            svc.transition(oid, "resolved", actor=worker, role="worker")
            svc.transition(oid, "closed", actor="operator:desk", role="operator")

    benchmark.pedantic(day, setup=setup, rounds=8, warmup_rounds=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(
        {
            "db": svc.store.dialect,
            "transitions_per_round": 4 * ORDERS,
            "transitions_per_s": round(4 * ORDERS / median, 1),
        }
    )
    assert svc.store.count_orders() == 9 * ORDERS


def test_alert_to_closed_cycle(benchmark, svc: OrderService) -> None:
    benchmark.group = "orders-cycle"
    cam = svc.town.camera("cam-reservoir-01")
    n = [0]

    def cycle() -> None:
        n[0] += 1
        ev = HazardEvent(
            id=f"bench-{n[0]}", camera=cam.id, hazard="near_water", phase="start",
            ts=float(n[0]), wall_time="2026-07-01T10:00:00+08:00", village=cam.village,
            grid=cam.grid, confidence=0.9,
        )  # fmt: skip
        o = svc.ingest_event(ev)
        assert o is not None and o.state == "dispatched"
        w = f"worker:{o.assignee}"
        svc.transition(o.id, "acknowledged", actor=w, role="worker")
        svc.transition(o.id, "on_site", actor=w, role="worker")
        svc.transition(o.id, "resolved", actor=w, role="worker")
        svc.transition(o.id, "closed", actor="operator:desk", role="operator")

    benchmark.pedantic(cycle, rounds=30, warmup_rounds=2)
    benchmark.extra_info.update(
        {
            "db": svc.store.dialect,
            "records_per_cycle": 7,
            "cycles_per_s": round(1 / benchmark.stats.stats.median, 1),
        }
    )
