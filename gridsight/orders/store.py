"""The work-order store: one SQLAlchemy engine on SQLite (WAL) or PostgreSQL.

``OrderStore.open(url)`` normalises the URL, opens the engine with the settings each
database needs, migrates the schema to the newest Alembic revision and returns the store.

* **SQLite** (the embedded default): a plain path or a ``sqlite:///`` URL. The file runs
  in WAL mode (readers never block the writer), ``synchronous=NORMAL`` (a commit survives
  the process being killed; see :mod:`gridsight.core.sink_sqlite` for the trade-off),
  foreign keys on, and a busy timeout so that several processes on one file wait for
  each other instead of failing. Write transactions start with ``BEGIN IMMEDIATE``: the
  write lock is taken up front, so two writers never deadlock upgrading a read lock.
* **PostgreSQL**: ``postgresql+psycopg://user@host:port/db`` (``postgresql://`` and
  ``postgres://`` are accepted and use psycopg 3). ``schema=`` puts every table in a
  schema of its own (created if missing), which is how tests keep runs apart.

Example:
    >>> store = OrderStore.open(":memory:")
    >>> with store.begin() as conn:
    ...     _ = conn.execute(sa.select(sa.func.count()).select_from(work_orders)).scalar()
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from gridsight.orders.errors import StoreError
from gridsight.orders.tables import work_orders

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str | Path) -> URL:
    """The SQLAlchemy URL of a store given as a path, ``sqlite:///...`` or a PostgreSQL URL.

    Raises:
        StoreError: the URL names a database other than SQLite or PostgreSQL.
    """
    text = str(url)
    if text in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return make_url("sqlite://")
    if "://" not in text:
        return make_url(f"sqlite:///{Path(text).expanduser().resolve()}")
    try:
        parsed = make_url(text)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise StoreError(f"--db {text!r} is not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed
    if backend in ("postgresql", "postgres"):
        if "+" not in parsed.drivername or parsed.drivername.startswith("postgres+"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    raise StoreError(
        f"--db {text!r}: unsupported database {backend!r}; use a SQLite path, "
        "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
    )


def _sqlite_settings(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's implicit
        # transactions would start too late and as DEFERRED).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("gridsight_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _postgres_schema(engine: Engine, schema: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        cur.close()
        dbapi_conn.commit()


def create_store_engine(url: str | Path, *, schema: str | None = None) -> Engine:
    """A SQLAlchemy engine for a store URL, with the per-database settings (no migration).

    Args:
        url: SQLite path / URL or PostgreSQL URL.
        schema: PostgreSQL only: the schema holding the tables (created if missing).

    Raises:
        StoreError: bad URL or schema name, or the database cannot be reached.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise StoreError("schema= is for PostgreSQL; a SQLite store is one file")
        if parsed.database in (None, "", ":memory:"):
            engine = sa.create_engine(
                parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed, connect_args={"check_same_thread": False})
        _sqlite_settings(engine)
        return engine
    engine = sa.create_engine(parsed, pool_pre_ping=True)
    if schema is not None:
        if not _SCHEMA_RE.match(schema):
            raise StoreError(f"schema {schema!r}: use lower-case letters, digits and '_' (max 63)")
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot reach {parsed.render_as_string()}: {exc.orig}") from exc
        except sa.exc.IntegrityError:
            pass  # another process created it at the same moment
        engine.dispose()
        _postgres_schema(engine, schema)
    return engine


class OrderStore:
    """The database of the work-order loop (see the module docstring).

    Attributes:
        engine: the SQLAlchemy engine (shared with the outbox relay).
        url: the normalised URL (password hidden when printed).
        schema: the PostgreSQL schema, or None.
    """

    def __init__(self, engine: Engine, *, schema: str | None = None) -> None:
        self.engine = engine
        self.url = engine.url
        self.schema = schema

    @classmethod
    def open(
        cls, url: str | Path, *, schema: str | None = None, migrate: bool = True
    ) -> OrderStore:
        """Open (and by default migrate to the newest revision) the store at ``url``.

        Raises:
            StoreError: the URL is not usable or the database cannot be reached.
        """
        engine = create_store_engine(url, schema=schema)
        store = cls(engine, schema=schema)
        if migrate:
            from gridsight.orders.migrate import upgrade_engine

            try:
                upgrade_engine(engine)
            except sa.exc.OperationalError as exc:
                engine.dispose()
                raise StoreError(
                    f"cannot open the store {engine.url.render_as_string()}: {exc.orig}"
                ) from exc
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on an exception."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (on SQLite a deferred one that does not take the write lock)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(gridsight_readonly=True)
            with conn.begin():
                yield conn

    def count_orders(self) -> int:
        """Number of work orders in the store."""
        with self.read() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(work_orders)).scalar_one()
        return int(n)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> OrderStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
