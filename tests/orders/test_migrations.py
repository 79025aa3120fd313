"""The Alembic migrations build exactly the tables of gridsight.orders.tables."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gridsight.orders.migrate import current_revision, head_revision, upgrade
from gridsight.orders.store import OrderStore, normalise_url
from gridsight.orders.tables import metadata


def _diff(store: OrderStore) -> list:
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_migrated_schema_matches_tables(store: OrderStore) -> None:
    assert current_revision(store.engine) == head_revision()
    assert _diff(store) == []
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"events", "work_orders", "transitions", "outbox", "workers_live"} <= names


def test_reopening_is_a_no_op(tmp_path) -> None:
    path = tmp_path / "o.sqlite"
    upgrade(path)
    with OrderStore.open(path) as s:
        assert current_revision(s.engine) == head_revision()
        assert s.count_orders() == 0


def test_sqlite_is_in_wal_mode(tmp_path) -> None:
    with OrderStore.open(f"sqlite:///{tmp_path / 'w.sqlite'}") as s, s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_urls_are_normalised(tmp_path) -> None:
    assert normalise_url(tmp_path / "a.db").render_as_string().startswith("sqlite:////")
    pg = normalise_url("postgresql://postgres@127.0.0.1:5432/test")
    assert pg.drivername == "postgresql+psycopg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"


def test_unsupported_url_is_a_clear_error() -> None:
    import pytest

    from gridsight.orders.errors import StoreError

    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        normalise_url("mysql://u@h/db")
