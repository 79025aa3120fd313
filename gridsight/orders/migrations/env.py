"""Alembic environment of the work-order store.

Run programmatically by :func:`gridsight.orders.migrate.upgrade` (which hands over an
open connection in ``config.attributes["connection"]``); ``alembic -x url=...`` with an
``alembic.ini`` pointing here works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from gridsight.orders.tables import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over the given connection, or over one opened from ``-x url=...``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass -x url=<sqlalchemy url>")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run them online")
run_migrations_online()
