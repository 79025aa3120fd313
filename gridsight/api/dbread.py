"""Read-only connections for the API's queries.

The store starts every transaction on SQLite with ``BEGIN IMMEDIATE`` (the write lock)
unless the connection is marked read-only, so that writers never deadlock; the API's
reads are marked, so a listing never waits for (or blocks) the engine's and the SLA
ticker's writes. On PostgreSQL the mark changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A connection whose transactions are plain (deferred) reads."""
    with engine.connect() as conn:
        yield conn.execution_options(gridsight_readonly=True)
