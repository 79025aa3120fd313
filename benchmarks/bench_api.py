"""The REST API under load, loopback only: listings over 100k events, and alert -> SSE.

Run: ``nice .venv/bin/pytest benchmarks/bench_api.py --benchmark-columns=min,median,max,ops,rounds``

A store is filled with ``EVENTS`` (100 000) event rows over 30 days on 12 cameras and
one work order per ``EVENTS // ORDERS`` events (20 000 orders in all states), on SQLite
(a WAL file) and on PostgreSQL (``GRIDSIGHT_TEST_POSTGRES_URL``; skipped when not
reachable). The app runs under uvicorn on 127.0.0.1 in this process; requests go
through real HTTP (httpx, keep-alive) with a viewer's bearer token.

Group ``api-list``: one request per round, sequential. ``ops`` is requests/s of one
client; ``extra_info`` has ``p50_ms``/``p99_ms`` over the rounds.

- ``events-first``: ``GET /api/v1/events`` (50 newest);
- ``events-camera``: ``?camera=...&hazard=...`` (one camera's 50 newest);
- ``events-deep``: the 101st page (after 5 000 events) by its cursor;
- ``events-range``: ``?since=&until=`` one day;
- ``orders-first``, ``orders-open``, ``orders-overdue``: the work-order listing,
  its open orders, the overdue ones.

Group ``api-concurrent``: 8 client threads, 50 requests each, one round = 400
requests; ``extra_info`` has ``req_per_s`` and the requests' ``p99_ms``.

Group ``api-sse``: one round is the engine's listener called with a new ``start`` event
(``OrderService.ingest_event``: the event stored, an order opened, verified and
dispatched) until a client of ``/api/v1/events/stream`` has read the event's frame: the
alert -> dashboard latency minus the browser's drawing.
"""

from __future__ import annotations

import json
import os
import queue
import random
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from gridsight.api import Settings, create_app
from gridsight.api.services import Services, build_services
from gridsight.core.config import validate_camera_hazards
from gridsight.core.events import HazardEvent
from gridsight.core.plugins import build_plugin_manager
from gridsight.orders.config import load_orders_township
from gridsight.orders.states import STATES
from gridsight.orders.tables import events, work_orders

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for tests/services.py (skip locally / fail under CI)
    sys.path.insert(0, str(ROOT))
from benchmarks.servicecheck import require_postgres  # noqa: E402

CONFIG = ROOT / "configs" / "jingqiao.yaml"
EVENTS = int(os.environ.get("GRIDSIGHT_BENCH_EVENTS", "100000"))
ORDERS = EVENTS // 5
DAYS = 30
ROUNDS = 200
SSE_ROUNDS = 50
THREADS, PER_THREAD = 8, 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn on a loopback port, on a thread."""

    def __init__(self, services: Services) -> None:
        import uvicorn

        self.port = _free_port()
        app = create_app(services.settings, services=services)
        cfg = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _fill(services: Services, now: float) -> None:
    """EVENTS event rows and ORDERS order rows, spread over DAYS days before ``now``."""
    rng = random.Random(7)
    town = services.township
    assert town is not None
    cams = list(town.cameras)
    ev_rows, wo_rows = [], []
    span = DAYS * 86400.0
    for k in range(EVENTS):
        cam = cams[k % len(cams)]
        hazard = next(iter(cam.hazards))
        t = now - span + span * k / EVENTS + rng.random()
        order_id = f"wo-bench{k // (EVENTS // ORDERS):07d}" if k % (EVENTS // ORDERS) == 0 else None
        ev_rows.append(
            {
                "id": f"{cam.id}:{hazard}:{k}@bench",
                "camera": cam.id,
                "hazard": hazard,
                "village": cam.village,
                "grid": cam.grid,
                "started_ts": float(k),
                "started_at": t,
                "last_phase": "end",
                "last_at": t + 30,
                "ended_at": t + 30,
                "confidence": 0.8,
                "boxes": "[[1, 2, 3, 4]]",
                "track_ids": "[1]",
                "snapshot": None,
                "extra": "{}",
                "order_id": order_id,
            }
        )
        if order_id is not None:
            state = STATES[rng.randrange(len(STATES))]
            wo_rows.append(
                {
                    "id": order_id,
                    "source": "camera",
                    "kind": hazard,
                    "state": state,
                    "camera": cam.id,
                    "event_id": ev_rows[-1]["id"],
                    "village": cam.village,
                    "grid": cam.grid,
                    "x_km": 5.0,
                    "y_km": 4.0,
                    "title": f"{hazard} at {cam.id}",
                    "created_at": t,
                    "dispatched_at": t + 20 if state not in ("new", "verified") else None,
                    "dispatch_due_at": t + 60,
                    "close_due_at": t + 3300,
                    "closed_at": t + 1800 if state == "closed" else None,
                    # Clocks decided, as the ticker would have left a month-old order.
                    "sla_dispatch": "met" if state not in ("new", "verified") else "breached",
                    "sla_close": "met" if state == "closed" else "breached",
                    "version": 1,
                    "updated_at": t,
                }
            )
    with services.store.engine.begin() as conn:
        for i in range(0, len(ev_rows), 5000):
            conn.execute(events.insert(), ev_rows[i : i + 5000])
        for i in range(0, len(wo_rows), 5000):
            conn.execute(work_orders.insert(), wo_rows[i : i + 5000])
    if services.store.dialect == "postgresql":
        with services.store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


class Bench:
    """A filled store behind a live server, and a viewer's client."""

    def __init__(self, services: Services, server: Server, token: str, now: float) -> None:
        self.services = services
        self.server = server
        self.token = token
        self.now = now
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(base_url=server.url, headers=self.headers, timeout=30)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def bench(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bench]:
    tmp = tmp_path_factory.mktemp(f"api-{request.param}")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
    else:
        base = require_postgres()
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        url = base
    town = load_orders_township(CONFIG)
    validate_camera_hazards(town, build_plugin_manager())
    settings = Settings(db_url=url, uploads_dir=tmp / "up", snapshots_dir=tmp / "snap")
    if schema is not None:
        from gridsight.orders.store import OrderStore

        store = OrderStore.open(url, schema=schema)
        services = build_services(settings, township=town, store=store)
    else:
        services = build_services(settings, township=town)
    now = time.time()
    _fill(services, now)
    user = services.accounts.add_user("bench", "viewer")
    token = services.accounts.issue_token(user.id)
    services.phase = "ready"
    # The SLA ticker is not what is measured here (and the synthetic month of orders was
    # never ticked): it runs once an hour instead of every 5 s.
    services.tick_s = 3600.0
    server = Server(services)
    try:
        yield Bench(services, server, token, now)
    finally:
        server.close()
        if schema is not None:
            with services.store.engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        services.store.close()


def _samples(benchmark) -> list[float]:  # type: ignore[no-untyped-def]
    """The rounds' times (none when run with --benchmark-disable)."""
    return list(benchmark.stats.stats.data) if benchmark.stats is not None else []


def _percentiles(benchmark, seconds) -> dict[str, float]:  # type: ignore[no-untyped-def]
    if len(seconds) == 0:
        return {}
    data = np.asarray(seconds) * 1e3
    return {
        "p50_ms": round(float(np.percentile(data, 50)), 3),
        "p99_ms": round(float(np.percentile(data, 99)), 3),
    }


def _queries(b: Bench) -> dict[str, tuple[str, dict[str, object]]]:
    cam = b.services.township.cameras[0]  # type: ignore[union-attr]
    day = b.now - 10 * 86400
    cursor = None
    for _ in range(100):  # the cursor of the 101st page
        page = b.client.get(
            "/api/v1/events", params={"limit": 50, **({"cursor": cursor} if cursor else {})}
        )
        cursor = page.json()["next_cursor"]
    return {
        "events-first": ("/api/v1/events", {}),
        "events-camera": ("/api/v1/events", {"camera": cam.id, "hazard": next(iter(cam.hazards))}),
        "events-deep": ("/api/v1/events", {"cursor": cursor}),
        "events-range": ("/api/v1/events", {"since": day, "until": day + 86400}),
        "orders-first": ("/api/v1/work-orders", {}),
        "orders-open": ("/api/v1/work-orders", {"open": "true"}),
        "orders-overdue": ("/api/v1/work-orders", {"overdue": "true"}),
    }


QUERIES = [
    "events-first",
    "events-camera",
    "events-deep",
    "events-range",
    "orders-first",
    "orders-open",
    "orders-overdue",
]


@pytest.mark.parametrize("query", QUERIES)
def test_listing(benchmark, bench: Bench, query: str) -> None:
    benchmark.group = "api-list"
    path, params = _queries(bench)[query]

    def get() -> None:
        r = bench.client.get(path, params=params)
        if r.status_code != 200 or not r.json()["items"]:
            raise AssertionError(f"{path} {params}: {r.status_code} {r.text[:200]}")

    benchmark.pedantic(get, rounds=ROUNDS, warmup_rounds=10)
    benchmark.extra_info.update(
        {**_percentiles(benchmark, _samples(benchmark)), "store": bench.services.store.dialect,
         "events": EVENTS, "orders": ORDERS}
    )  # fmt: skip


@pytest.mark.parametrize("query", ["events-first", "orders-open"])
def test_listing_concurrent(benchmark, bench: Bench, query: str) -> None:
    benchmark.group = "api-concurrent"
    path, params = _queries(bench)[query]
    latencies: list[float] = []
    lock = threading.Lock()

    def client_run() -> None:
        with httpx.Client(base_url=bench.server.url, headers=bench.headers, timeout=30) as c:
            mine = []
            for _ in range(PER_THREAD):
                t0 = time.perf_counter()
                r = c.get(path, params=params)
                mine.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise AssertionError(r.text[:200])
            with lock:
                latencies.extend(mine)

    def round_() -> None:
        with ThreadPoolExecutor(THREADS) as pool:
            for f in [pool.submit(client_run) for _ in range(THREADS)]:
                f.result()

    benchmark.pedantic(round_, rounds=3, warmup_rounds=1)
    n = THREADS * PER_THREAD
    benchmark.extra_info.update(
        {
            "req_per_s": round(n / np.mean(_samples(benchmark)), 1)
            if _samples(benchmark)
            else None,
            **_percentiles(benchmark, latencies[-3 * n :]),
            "threads": THREADS,
            "store": bench.services.store.dialect,
        }
    )


def test_event_to_sse(benchmark, bench: Bench) -> None:
    benchmark.group = "api-sse"
    services = bench.services
    listener = services.live.ingest  # the event -> order -> SSE path of the pipeline
    frames: queue.Queue[tuple[str, str | None]] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        with (
            httpx.Client(base_url=bench.server.url, headers=bench.headers, timeout=None) as c,
            c.stream("GET", "/api/v1/events/stream", params={"topic": "event"}) as r,
        ):
            for line in r.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("data: "):
                    body = json.loads(line[6:])
                    frames.put((body["id"], body.get("order_id")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while services.bus.subscribers == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    cam = services.township.cameras[0]  # type: ignore[union-attr]
    n = [0]
    opened: list[str] = []

    def setup():  # type: ignore[no-untyped-def]
        # Cancel the order the previous round opened, so that this start opens a new one.
        if opened:
            services.orders.transition(
                opened.pop(), "cancelled", actor="operator:bench", role="operator"
            )
        n[0] += 1
        ev = HazardEvent(
            id=f"sse-{n[0]}@bench", camera=cam.id, hazard=next(iter(cam.hazards)), phase="start",
            ts=float(n[0]), wall_time=datetime.now(UTC).isoformat(), village=cam.village,
            grid=cam.grid, confidence=0.9, boxes=((1.0, 2.0, 3.0, 4.0),), track_ids=(1,),
        )  # fmt: skip
        return (ev,), {}

    def alert(ev: HazardEvent) -> None:
        listener(ev)
        while True:
            got, order_id = frames.get(timeout=10)
            if got == ev.id:
                if order_id:
                    opened.append(order_id)
                break

    try:
        benchmark.pedantic(alert, setup=setup, rounds=SSE_ROUNDS, warmup_rounds=3)
    finally:
        stop.set()
    benchmark.extra_info.update(
        {**_percentiles(benchmark, _samples(benchmark)), "store": services.store.dialect}
    )
