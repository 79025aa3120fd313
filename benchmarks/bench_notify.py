"""Alert -> notification delivered: the webhook and MQTT side by side, loopback only.

Run: ``nice .venv/bin/pytest benchmarks/bench_notify.py --benchmark-columns=min,median,max,rounds``

Group ``notify-latency`` (compare within it): one round is the whole live path of a
``near_water`` alert on the Jingqiao reservoir camera:

    OrderService.ingest_event(start)   -> order new -> verified -> dispatched (three
                                          transitions, three outbox rows, one transaction
                                          each, on the store)
    Delivery.wake()                    -> the relay's channel thread claims the rows and
                                          sends them
    ... until the **dispatched** notification (the one naming the grid worker) has
        arrived at the receiver:
        - ``webhook``: the signed JSON POST, answered 200 by the local receiver
          (``gridsight.orders.notify.receiver``, verifying the signature);
        - ``mqtt``: the message on ``<prefix>/work_orders/<id>``, received by a paho
          subscriber of the broker (Mosquitto, ``GRIDSIGHT_TEST_MQTT_URL``).

Group ``notify-throughput``: a backlog of 500 outbox rows drained by one relay in the
calling thread (batches of 10: claim, send each, mark the batch), rows/s in
``extra_info``.

Each on SQLite (a WAL file in a temporary folder) and on PostgreSQL
(``GRIDSIGHT_TEST_POSTGRES_URL``); a server that is not reachable skips its cases.
Between rounds (not timed) the order is cancelled and its notifications drained, so
every round opens a new order. ``extra_info`` holds ``p50_ms`` and ``p99_ms`` over the
rounds (pytest-benchmark's own columns give min / median / max).
"""

from __future__ import annotations

import json
import queue
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from gridsight.core.events import HazardEvent
from gridsight.core.plugins import build_plugin_manager
from gridsight.orders.config import load_orders_township
from gridsight.orders.notify.delivery import Delivery
from gridsight.orders.notify.receiver import WebhookReceiver
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for tests/services.py (skip locally / fail under CI)
    sys.path.insert(0, str(ROOT))
from benchmarks.servicecheck import require_mqtt, require_postgres  # noqa: E402

CONFIG = ROOT / "configs" / "jingqiao.yaml"
SECRET = "bench-secret"
ROUNDS = 100
# 10:00 on a weekday in the town: the day shift is on duty.
MORNING = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


class TownClock:
    """Town time that starts at MORNING and runs at wall speed."""

    def __init__(self) -> None:
        self.t0 = time.time()

    def __call__(self) -> float:
        return MORNING + (time.time() - self.t0)


class MqttWaiter:
    """A paho subscriber of ``<prefix>/work_orders/#`` that waits for a given order state."""

    def __init__(self, url: str, prefix: str) -> None:
        parts = urlsplit(url)
        self.q: queue.Queue[dict] = queue.Queue()
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        ready: queue.Queue[bool] = queue.Queue()
        self.client.on_message = lambda c, u, m: self.q.put(json.loads(m.payload))
        self.client.on_subscribe = lambda *a: ready.put(True)
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/work_orders/#", qos=1)
        ready.get(timeout=5)

    def wait(self, order_id: str, after: str, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            msg = self.q.get(timeout=max(0.001, deadline - time.monotonic()))
            if msg["order"]["id"] == order_id and msg["after"] == after:
                return

    def drain(self) -> None:
        while not self.q.empty():
            self.q.get_nowait()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class WebhookWaiter:
    def __init__(self, rx: WebhookReceiver) -> None:
        self.rx = rx

    def wait(self, order_id: str, after: str, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            got = self.rx.received
            for r in got[seen:]:
                if r.json and r.json["order"]["id"] == order_id and r.json["after"] == after:
                    if not r.signature_ok:
                        raise AssertionError("bad signature")
                    return
            seen = len(got)
            self.rx.wait_for(
                seen + 1, timeout_s=max(0.001, deadline - time.monotonic()), accepted=False
            )
        raise TimeoutError(f"no {after} notification for {order_id}")

    def drain(self) -> None:
        self.rx.clear()


def _store(kind: str, tmp_path: Path) -> tuple[OrderStore, str | None]:
    if kind == "sqlite":
        return OrderStore.open(tmp_path / "orders.sqlite"), None
    url = require_postgres()
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    return OrderStore.open(url, schema=schema), schema


def _drop(store: OrderStore, schema: str | None) -> None:
    if schema is not None:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    store.close()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
@pytest.mark.parametrize("channel", ["webhook", "mqtt"])
def test_alert_to_notification(benchmark, tmp_path, channel, db):
    benchmark.group = "notify-latency"
    town = load_orders_township(CONFIG)
    pm = build_plugin_manager()
    store, schema = _store(db, tmp_path)
    rx = None
    waiter: MqttWaiter | WebhookWaiter
    if channel == "webhook":
        rx = WebhookReceiver(secret=SECRET).start()
        url = rx.url
        waiter = WebhookWaiter(rx)
    else:
        broker = require_mqtt()
        prefix = f"gsbench-{uuid.uuid4().hex[:8]}"
        url = f"{broker}/{prefix}"
        waiter = MqttWaiter(broker, prefix)
    clock = TownClock()
    delivery = Delivery.open(
        pm, None, [url], store.engine, env={"GRIDSIGHT_WEBHOOK_SECRET": SECRET}, clock=clock
    )
    svc = OrderService(store, town, clock=clock, channels=delivery.names, ack_secret=SECRET)
    cam = town.camera("cam-reservoir-01")
    state: dict[str, object] = {"n": 0, "order": None}

    def setup():
        prev = state["order"]
        if prev is not None:
            svc.transition(prev, "cancelled", actor="operator:bench", role="operator")
        delivery.wake()
        delivery.flush(10)
        waiter.drain()
        state["n"] = int(state["n"]) + 1  # type: ignore[call-overload]
        ev = HazardEvent(
            id=f"bench-{state['n']}",
            camera=cam.id,
            hazard="near_water",
            phase="start",
            ts=float(state["n"]),
            wall_time="2026-07-01T10:00:00+08:00",
            village=cam.village,
            grid=cam.grid,
            confidence=0.9,
            boxes=((10.0, 20.0, 30.0, 40.0),),
            track_ids=(1,),
            snapshot=f"evidence/bench-{state['n']}.jpg",
        )
        return (ev,), {}

    split: list[tuple[float, float]] = []

    def alert(ev: HazardEvent) -> None:
        t0 = time.perf_counter()
        order = svc.ingest_event(ev)
        assert order is not None and order.state == "dispatched"
        delivery.wake()
        t1 = time.perf_counter()
        waiter.wait(order.id, "dispatched")
        split.append((t1 - t0, time.perf_counter() - t1))
        state["order"] = order.id

    try:
        benchmark.pedantic(alert, setup=setup, rounds=ROUNDS, warmup_rounds=5)
        data = np.asarray(benchmark.stats.stats.data) * 1e3
        parts = np.asarray(split[-len(data) :]) * 1e3
        benchmark.extra_info.update(
            {
                "p50_ms": round(float(np.percentile(data, 50)), 3),
                "p99_ms": round(float(np.percentile(data, 99)), 3),
                # where the time goes: the store (ingest, three transitions committed)
                # and the delivery (relay claim + send + the receiver getting it)
                "ingest_p50_ms": round(float(np.percentile(parts[:, 0], 50)), 3),
                "deliver_p50_ms": round(float(np.percentile(parts[:, 1], 50)), 3),
                "rounds": len(data),
                "store": db,
                "channel": channel,
            }
        )
        assert delivery.relay.counts()["dead"] == 0
    finally:
        delivery.close()
        if rx is not None:
            rx.stop()
        if isinstance(waiter, MqttWaiter):
            waiter.close()
        _drop(store, schema)


THROUGHPUT_ROWS = 500


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
@pytest.mark.parametrize("channel", ["webhook", "mqtt"])
def test_relay_throughput(benchmark, tmp_path, channel, db):
    """Group ``notify-throughput``: a backlog of 500 outbox rows (e.g. after the receiver
    was down) drained by one relay; ``extra_info["rows_per_s"]``."""
    import sqlalchemy as sa

    from gridsight.orders.tables import outbox

    benchmark.group = "notify-throughput"
    pm = build_plugin_manager()
    store, schema = _store(db, tmp_path)
    rx = None
    if channel == "webhook":
        rx = WebhookReceiver(secret=SECRET).start()
        url = rx.url
    else:
        url = f"{require_mqtt()}/gsbench-{uuid.uuid4().hex[:8]}"
    delivery = Delivery.open(
        pm, None, [url], store.engine, env={"GRIDSIGHT_WEBHOOK_SECRET": SECRET}, start=False
    )
    (name,) = delivery.names
    round_no = [0]

    def setup():
        round_no[0] += 1
        payload = {"type": "update", "order": {"id": "wo-x"}, "before": "a", "after": "b"}
        rows = [
            {
                "key": f"wo-x:{round_no[0]}-{i}:{name}",
                "channel": name,
                "topic": "work_orders",
                "kind": "update",
                "order_id": "wo-x",
                "payload": json.dumps({**payload, "idempotency_key": f"{round_no[0]}-{i}"}),
                "created_at": 0.0,
                "attempts": 0,
                "next_attempt_at": 0.0,
            }
            for i in range(THROUGHPUT_ROWS)
        ]
        with store.begin() as conn:
            conn.execute(sa.insert(outbox), rows)
        return (), {}

    def drain() -> int:
        n = 0
        while True:
            got = delivery.relay.run_once()
            if got == 0:
                return n
            n += got

    try:
        benchmark.pedantic(drain, setup=setup, rounds=5, warmup_rounds=1)
        median = benchmark.stats.stats.median
        benchmark.extra_info.update(
            {"rows": THROUGHPUT_ROWS, "rows_per_s": round(THROUGHPUT_ROWS / median, 1)}
        )
        assert delivery.relay.counts()["pending"] == 0
        if rx is not None:
            assert len(rx.accepted) == THROUGHPUT_ROWS * 6
    finally:
        delivery.close()
        if rx is not None:
            rx.stop()
        _drop(store, schema)
