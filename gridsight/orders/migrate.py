"""Alembic migrations of the work-order store, run from code (no ``alembic.ini`` needed).

``upgrade(url)`` brings a database to the newest revision; :meth:`OrderStore.open
<gridsight.orders.store.OrderStore.open>` calls it. Several processes may open the same
store at once: on PostgreSQL an advisory lock serialises them, on SQLite the
``BEGIN IMMEDIATE`` of the migration transaction does.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary constant naming the migration lock among PostgreSQL advisory locks.
_PG_LOCK_KEY = 0x6772_6964_7369  # "gridsi"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """The newest revision id of the packaged migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships revisions
        raise RuntimeError(f"no migrations found under {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision a database is at (None when it has never been migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``."""
    cfg = alembic_config()
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})")
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})")
                conn.commit()


def upgrade(url: str | Path, revision: str = "head", *, schema: str | None = None) -> None:
    """Migrate the store at ``url`` (SQLite path/URL or PostgreSQL URL) to ``revision``."""
    from gridsight.orders.store import create_store_engine

    engine = create_store_engine(url, schema=schema)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()
