"""Events through JetStream into work orders: exactly once, fenced by epoch (real servers)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from gridsight.core.config import load_township
from gridsight.core.events import HazardEvent
from gridsight.live.cluster.consumer import OrderConsumer
from gridsight.live.cluster.control import open_store
from gridsight.live.cluster.kv import dumps
from gridsight.live.cluster.names import ClusterNames
from gridsight.live.cluster.publisher import JetStreamSink, message_id
from gridsight.orders.fencing import delivery_counts
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import events, transitions, work_orders

from ...services import require_nats, require_postgres
from ..cluster.helpers import REPO, fresh_names
from .consumer_proc import MORNING

TOWN = load_township(REPO / "configs" / "jingqiao.yaml")


def start_event(n: int, camera_index: int = 0) -> HazardEvent:
    cam = TOWN.cameras[camera_index % len(TOWN.cameras)]
    hazard = next(iter(cam.hazards))
    return HazardEvent(
        id=f"{cam.id}:{hazard}:{n * 1000}:{n}",
        camera=cam.id,
        hazard=hazard,
        phase="start",
        ts=float(n),
        wall_time="2026-07-01T10:00:00.000+08:00",
        village=cam.village,
        grid=cam.grid,
        confidence=0.9,
    )


async def claim(url: str, names: ClusterNames, camera: str, node: str) -> int:
    """Write ``camera``'s owner key as a node's claim would; its new revision (epoch)."""
    nc, store = await open_store(url, names)
    try:
        return int(await store.owners.put(camera, dumps({"node": node})))
    finally:
        await nc.close()


@pytest.fixture
def servers():
    nats = require_nats()
    pg = require_postgres()
    return nats, pg


def _schema_store(pg: str):
    import uuid

    schema = f"t_{uuid.uuid4().hex[:16]}"
    return schema, OrderStore.open(pg, schema=schema)


def _drop(pg: str, schema: str) -> None:
    engine = sa.create_engine(pg)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


def _wait(check, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_stale_epochs_are_refused_and_redeliveries_change_nothing(servers) -> None:
    nats, pg = servers
    names = fresh_names()
    schema, store = _schema_store(pg)
    cam = TOWN.cameras[0].id
    epochs: dict[str, int] = {}
    sink = JetStreamSink(nats, names, "node-a", lambda c: epochs.get(c, 0))
    service = OrderService(store, TOWN, clock=lambda: MORNING)
    consumer = OrderConsumer(nats, service, names=names)
    try:
        epochs[cam] = asyncio.run(claim(nats, names, cam, "node-a"))
        consumer.start()
        assert consumer.ready.wait(30)
        sink.write(start_event(1))
        assert sink.wait_empty(30)
        _wait(lambda: consumer.counters.accepted == 1, what="the first event accepted")
        # node-b claims the camera; node-a (paused, say) goes on publishing: refused.
        new_epoch = asyncio.run(claim(nats, names, cam, "node-b"))
        assert new_epoch > epochs[cam]
        sink.write(start_event(2))
        assert sink.wait_empty(30)
        _wait(lambda: consumer.counters.stale == 1, what="the stale event refused")
        epochs[cam] = new_epoch  # node-b's events carry the new epoch
        sink.write(start_event(3))
        assert sink.wait_empty(30)
        _wait(lambda: consumer.counters.accepted == 2, what="the new owner's event accepted")
        # The same message delivered again (a crash between commit and ack) changes nothing.
        ev = start_event(3)
        again = service.ingest_fenced(ev, delivery_id=message_id(ev), epoch=new_epoch)
        assert again == ("duplicate", None)
        with store.read() as conn:
            counts = delivery_counts(conn)
            stored = {r.id for r in conn.execute(sa.select(events.c.id))}
        assert counts == {"accepted": 2, "stale": 1}
        assert stored == {start_event(1).id, start_event(3).id}
    finally:
        consumer.close()
        sink.close()
        store.close()
        _drop(pg, schema)


def _spawn(nats: str, pg: str, schema: str, names: ClusterNames) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests" / "live" / "cluster" / "consumer_proc.py"),
            nats,
            pg,
            schema,
            names.name,
            "2",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_consumer_killed_while_consuming_loses_and_duplicates_nothing(servers) -> None:
    nats, pg = servers
    names = fresh_names()
    schema, store = _schema_store(pg)
    n = 400
    epochs: dict[str, int] = {}
    for cam in TOWN.cameras:
        epochs[cam.id] = asyncio.run(claim(nats, names, cam.id, "node-a"))
    sink = JetStreamSink(nats, names, "node-a", lambda c: epochs.get(c, 0))
    sent = [start_event(i, camera_index=i) for i in range(n)]
    for ev in sent:
        sink.write(ev)
    assert sink.wait_empty(60)
    sink.close()
    procs: list[subprocess.Popen[str]] = []

    def delivered() -> int:
        with store.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar())

    try:
        first = _spawn(nats, pg, schema, names)
        procs.append(first)
        _wait(lambda: delivered() >= 40, what="the first replica consuming")
        first.send_signal(signal.SIGKILL)  # mid-consumption
        first.wait(10)
        killed_at = delivered()
        assert killed_at < n, "the replica finished before it was killed: make n larger"
        procs += [_spawn(nats, pg, schema, names), _spawn(nats, pg, schema, names)]
        _wait(lambda: delivered() == n, timeout=120, what="every event delivered")
        time.sleep(3.0)  # past ack_wait: any redelivery of a committed message shows now
        with store.read() as conn:
            counts = delivery_counts(conn)
            stored = {r.id for r in conn.execute(sa.select(events.c.id, events.c.order_id))}
            orphans = conn.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.order_id.is_(None))
            ).scalar()
            orders = conn.execute(sa.select(sa.func.count()).select_from(work_orders)).scalar()
            records = conn.execute(sa.select(sa.func.count()).select_from(transitions)).scalar()
        assert counts == {"accepted": n}, counts
        assert stored == {ev.id for ev in sent}
        assert orphans == 0
        # One order per camera and hazard (repeats attach); the same history as applying
        # every event once, in order, to a store of its own.
        ref = OrderService(OrderStore.open(":memory:"), TOWN, clock=lambda: MORNING)
        for ev in sent:
            ref.ingest_event(ev)
        with ref.store.read() as conn:
            ref_orders = conn.execute(sa.select(sa.func.count()).select_from(work_orders)).scalar()
            ref_records = conn.execute(sa.select(sa.func.count()).select_from(transitions)).scalar()
        assert (orders, records) == (ref_orders, ref_records)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(10)
        store.close()
        _drop(pg, schema)
