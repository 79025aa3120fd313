"""Stores for the work-order tests: a SQLite file and a PostgreSQL schema of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gridsight.orders.store import OrderStore

from ..services import require_postgres


def fresh_schema() -> str:
    """A schema name no other test run uses."""
    return f"t_{uuid.uuid4().hex[:16]}"


def drop_schema(url: str, schema: str) -> None:
    """Remove a test schema and everything in it."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL test server (skips locally, fails under CI when unreachable)."""
    return require_postgres()


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped after the test."""
    schema = fresh_schema()
    yield schema
    drop_schema(pg_url, schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[OrderStore]:
    """A migrated, empty store on each database."""
    if request.param == "sqlite":
        s = OrderStore.open(tmp_path / "orders.sqlite")
        yield s
        s.close()
        return
    url = require_postgres()
    schema = fresh_schema()
    s = OrderStore.open(url, schema=schema)
    try:
        yield s
    finally:
        s.close()
        drop_schema(url, schema)
