"""The ``cluster`` fixture: a NATS cluster name, an order store on PostgreSQL (a schema of
its own) with its consumer, and the ``gridsight node`` processes a test starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gridsight.core.config import load_township
from gridsight.live.cluster.consumer import OrderConsumer
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore

from ...services import require_nats, require_postgres
from .harness import NodeProcess
from .helpers import fresh_names, small_config


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict]:
    nats = require_nats()
    pg = require_postgres()
    names = fresh_names()
    config = small_config(tmp_path / "town.yaml", cameras=4, fps=2)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    store = OrderStore.open(pg, schema=schema)
    consumer = OrderConsumer(nats, OrderService(store, load_township(config)), names=names)
    consumer.start()
    nodes: list[NodeProcess] = []
    ctx = {"nats": nats, "names": names, "config": config, "nodes": nodes, "store": store,
           "consumer": consumer, "tmp": tmp_path}  # fmt: skip
    try:
        yield ctx
    finally:
        for n in nodes:
            n.stop()
        consumer.close()
        store.close()
        engine = sa.create_engine(pg)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()
