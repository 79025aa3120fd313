"""The NATS servers themselves failing: a restart mid-run, a cluster's stream leader killed."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gridsight.core.config import load_township
from gridsight.core.events import HazardEvent
from gridsight.live.cluster.consumer import OrderConsumer
from gridsight.live.cluster.names import Timings
from gridsight.live.cluster.node import ClusterNode
from gridsight.live.cluster.publisher import JetStreamSink
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import deliveries

from ...services import require_postgres
from .helpers import CONFIG, RecordingRunner, fresh_names
from .natsproc import NatsServer, nats_cluster

pytestmark = pytest.mark.slow
TOWN = load_township(CONFIG)


@pytest.fixture
def pg_store() -> Iterator[OrderStore]:
    pg = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    store = OrderStore.open(pg, schema=schema)
    try:
        yield store
    finally:
        store.close()
        engine = sa.create_engine(pg)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


class Writer:
    """Writes numbered start events to a sink from a thread, as an engine would."""

    def __init__(self, sink: JetStreamSink, every_s: float = 0.01) -> None:
        self.sink = sink
        self.every_s = every_s
        self.sent: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            cam = TOWN.cameras[n % len(TOWN.cameras)]
            hazard = next(iter(cam.hazards))
            ev = HazardEvent(
                f"{cam.id}:{hazard}:{n}:{n}",
                cam.id,
                hazard,
                "start",
                float(n),
                "2026-07-01T10:00:00.000+08:00",
                cam.village,
                cam.grid,
                0.9,
            )
            self.sink.write(ev)
            self.sent.append(ev.id)
            n += 1
            time.sleep(self.every_s)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _accepted(store: OrderStore) -> set[str]:
    with store.read() as conn:
        rows = conn.execute(sa.select(deliveries.c.id, deliveries.c.outcome)).all()
    assert all(r.outcome == "accepted" for r in rows), [r for r in rows if r.outcome != "accepted"]
    return {r.id.split("/")[0] for r in rows}


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_nats_restarted_mid_run_loses_nothing_and_the_node_recovers(
    tmp_path: Path, pg_store: OrderStore
) -> None:
    server = NatsServer(tmp_path, "solo").start()
    names = fresh_names()
    timings = Timings(lease_s=2.0, renew_s=0.25)
    runner = RecordingRunner()
    node = ClusterNode(server.url, runner, node_id="r1", capacity=12, names=names,
                       timings=timings, seed_cameras=TOWN.cameras)  # fmt: skip
    loop = asyncio.new_event_loop()
    node_thread = threading.Thread(target=loop.run_until_complete, args=(node.run(),), daemon=True)
    node_thread.start()
    sink = JetStreamSink(server.url, names, "r1", node.epoch_of)
    consumer = OrderConsumer(server.url, OrderService(pg_store, TOWN), names=names,
                             timings=timings, ack_wait_s=5)  # fmt: skip
    consumer.start()
    try:
        _wait(lambda: len(runner.running) == len(TOWN.cameras), 60, "the node running 12 cameras")
        with Writer(sink) as writer:
            _wait(lambda: sink.published > 50, 30, "events flowing")
            server.kill()  # kill -9 mid-run
            _wait(lambda: sink.pending > 20, 30, "events buffered while NATS is down")
            _wait(lambda: node.counters.self_stops > 0, 30, "the cut-off node stopping its cameras")
            assert not runner.running
            server.start()  # same port, same store
            _wait(lambda: sink.published > len(writer.sent) // 2 + 50, 60, "publishing again")
        assert sink.wait_empty(60), sink.stats()
        assert sink.dropped == 0
        sent = set(writer.sent)
        _wait(lambda: _accepted(pg_store) >= sent, 120, "every event in the order store")
        assert _accepted(pg_store) == sent
        _wait(lambda: len(runner.running) == len(TOWN.cameras), 60, "cameras claimed again")
    finally:
        consumer.close()
        sink.close()
        loop.call_soon_threadsafe(node.stop)
        node_thread.join(20)
        server.stop()


def test_a_replicated_stream_survives_its_leader_killed(
    tmp_path: Path, pg_store: OrderStore
) -> None:
    servers = [s.start() for s in nats_cluster(tmp_path, 3)]
    urls = ",".join(s.url for s in servers)
    names = fresh_names()
    timings = Timings(replicas=3)
    epochs = {c.id: 0 for c in TOWN.cameras}
    sink = JetStreamSink(urls, names, "w1", epochs.__getitem__, timings=timings)
    consumer = OrderConsumer(urls, OrderService(pg_store, TOWN), names=names, timings=timings,
                             ack_wait_s=5)  # fmt: skip
    try:
        consumer.start()
        assert consumer.ready.wait(60), "the consumer could not create the replicated stream"
        leader = asyncio.run(_stream_leader(urls, names.stream))
        victim = next(s for s in servers if s.name == leader)
        with Writer(sink) as writer:
            _wait(lambda: sink.published > 100, 60, "events acknowledged by the cluster")
            acked_before = sink.published
            victim.kill()
            _wait(lambda: sink.published > acked_before + 100, 60, "a new leader taking writes")
        assert sink.wait_empty(60), sink.stats()
        assert sink.dropped == 0
        sent = set(writer.sent)
        _wait(lambda: _accepted(pg_store) >= sent, 120, "every acknowledged event consumed")
        assert _accepted(pg_store) == sent
        assert asyncio.run(_stream_leader(urls, names.stream)) != leader
    finally:
        consumer.close()
        sink.close()
        for s in servers:
            s.stop()


async def _stream_leader(urls: str, stream: str) -> str:
    from gridsight.live.cluster.kv import connect

    nc = await connect(urls, name="test", retry=False)
    try:
        # A replicated stream has no leader for a moment while its servers elect one
        # (longer on a loaded machine): ask until one is named, within a bound.
        deadline = time.monotonic() + 60
        while True:
            info = await nc.jetstream().stream_info(stream)
            if info.cluster is not None and info.cluster.leader:
                return str(info.cluster.leader)
            assert time.monotonic() < deadline, f"no leader of {stream} within 60 s: {info}"
            await asyncio.sleep(0.2)
    finally:
        await nc.close()
