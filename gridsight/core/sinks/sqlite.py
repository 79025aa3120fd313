"""The SQLite event sink: every event phase plus one work-order-ready record per hazard.

Durability. The database runs in WAL mode and every :meth:`SqliteSink.write` is its own
committed transaction before it returns, so "written" means "committed". With WAL,
``synchronous=NORMAL`` (the default here) appends the commit to the ``-wal`` file with
``write()`` but fsyncs only at checkpoints: the commit is then in the operating system's
page cache, which survives the *process* being killed (``kill -9``, an OOM kill, a
segfault) — the next open replays the WAL. Only an OS crash or power cut can lose the
last commits (never corrupt the file). ``synchronous=FULL`` also fsyncs the WAL on every
commit, which survives power loss at the cost of one fsync per event; choose it on
hardware without a UPS. Hazard events are rare (a few per camera per hour), so either is
cheap; NORMAL is the default because the failure the engine must survive is its own
death, not the host's.

Idempotence. ``events`` has a unique key ``(id, phase, ts)`` and inserts are ``INSERT OR
IGNORE``, so replaying the same events (a retried write, a restart that re-sends its
tail) never duplicates a row. Work orders are keyed by the event id.

Id continuity. Event ids come from the hazard lifecycle. :meth:`SqliteSink.known_ids`
and :meth:`SqliteSink.open_work_orders` let an engine that restarts on the same database
check that its new ids do not collide and see which hazards were still open.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

from gridsight.core.errors import DataError
from gridsight.core.events import HazardEvent
from gridsight.core.jsonutil import to_jsonable
from gridsight.core.sinks.base import EventSink

SCHEMA_VERSION = 1

Synchronous = Literal["NORMAL", "FULL"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL,
    phase      TEXT NOT NULL CHECK (phase IN ('start', 'update', 'end')),
    ts         REAL NOT NULL,
    camera     TEXT NOT NULL,
    hazard     TEXT NOT NULL,
    wall_time  TEXT NOT NULL,
    village    TEXT NOT NULL,
    grid       TEXT NOT NULL,
    confidence REAL NOT NULL,
    boxes      TEXT NOT NULL,
    track_ids  TEXT NOT NULL,
    snapshot   TEXT,
    extra      TEXT,
    UNIQUE (id, phase, ts)
);
CREATE INDEX IF NOT EXISTS events_camera_hazard ON events (camera, hazard, ts);
CREATE TABLE IF NOT EXISTS work_orders (
    id           TEXT PRIMARY KEY,
    camera       TEXT NOT NULL,
    hazard       TEXT NOT NULL,
    village      TEXT NOT NULL,
    grid         TEXT NOT NULL,
    created_ts   REAL NOT NULL,
    created_wall TEXT NOT NULL,
    confidence   REAL NOT NULL,
    snapshot     TEXT,
    status       TEXT NOT NULL DEFAULT 'new',
    ended_ts     REAL,
    updated_wall TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS work_orders_status ON work_orders (status);
"""


class SqliteSink(EventSink):
    """Writes events and work-order-ready records to a SQLite database (WAL mode).

    Args:
        path: database file; created with its parent folder if missing.
        synchronous: ``NORMAL`` (survives a killed process) or ``FULL`` (also survives
            power loss); see the module docstring.
        timeout_s: how long to wait for a lock held by another connection (a reader).

    Example:
        >>> sink = SqliteSink("alerts.sqlite")          # doctest: +SKIP
        >>> sink.write(event); sink.close()              # doctest: +SKIP
    """

    name: ClassVar[str] = "sqlite"

    def __init__(
        self, path: str | Path, *, synchronous: Synchronous = "NORMAL", timeout_s: float = 5.0
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise DataError(f"SqliteSink: synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The engine may write from its main thread and read status from another, so one
        # connection is shared under a lock instead of sqlite3's per-thread check.
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise DataError(
                    f"{self.path}: SQLite refused WAL mode (got {mode!r}); "
                    "put the database on a local filesystem"
                )
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._conn.executescript(_SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise DataError(f"{self.path}: not a usable SQLite database ({exc})") from exc
        self.synchronous = synchronous
        self.written = 0
        self.ignored = 0

    def _check_version(self) -> None:
        rows = self._conn.execute("SELECT version FROM schema_version").fetchall()
        if not rows:
            self._conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            return
        version = int(rows[0][0])
        if version != SCHEMA_VERSION:
            raise DataError(
                f"{self.path}: schema version {version}, this gridsight writes version "
                f"{SCHEMA_VERSION}; write to a new database file"
            )

    # ------------------------------------------------------------------ writing
    def write(self, event: HazardEvent) -> None:
        """Commit one event (and its work-order change) before returning."""
        d = event.to_dict()
        row = (
            event.id,
            event.phase,
            float(event.ts),
            event.camera,
            event.hazard,
            event.wall_time,
            event.village,
            event.grid,
            float(d["confidence"]),
            json.dumps(d["boxes"]),
            json.dumps(d["track_ids"]),
            event.snapshot,
            json.dumps(event.extra, default=to_jsonable) if event.extra else None,
        )
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute(
                    "INSERT OR IGNORE INTO events (id, phase, ts, camera, hazard, wall_time,"
                    " village, grid, confidence, boxes, track_ids, snapshot, extra)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                inserted = cur.rowcount == 1
                if inserted:
                    self._work_order(cur, event)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        if inserted:
            self.written += 1
        else:
            self.ignored += 1

    @staticmethod
    def _work_order(cur: sqlite3.Cursor, event: HazardEvent) -> None:
        if event.phase == "start":
            cur.execute(
                "INSERT OR IGNORE INTO work_orders (id, camera, hazard, village, grid,"
                " created_ts, created_wall, confidence, snapshot, status, updated_wall)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?)",
                (
                    event.id,
                    event.camera,
                    event.hazard,
                    event.village,
                    event.grid,
                    float(event.ts),
                    event.wall_time,
                    float(event.confidence),
                    event.snapshot,
                    event.wall_time,
                ),
            )
        elif event.phase == "end":
            # Only a 'new' order moves to 'hazard_ended': an operator's status (dispatched,
            # closed) written by another service is never overwritten by the camera.
            cur.execute(
                "UPDATE work_orders SET status = 'hazard_ended', ended_ts = ?, updated_wall = ?"
                " WHERE id = ? AND status = 'new'",
                (float(event.ts), event.wall_time, event.id),
            )

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close."""
        with self._lock:
            # A reader holding the WAL open makes this fail: the next open checkpoints it.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()

    # ------------------------------------------------------------------ reading
    def known_ids(self) -> set[str]:
        """Every event id already in the database."""
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT DISTINCT id FROM events")}

    def open_work_orders(self) -> list[dict[str, Any]]:
        """Work orders whose hazard has not ended (status ``new``), oldest first."""
        with self._lock:
            cur = self._conn.execute(
                "SELECT * FROM work_orders WHERE status = 'new' ORDER BY created_ts"
            )
            names = [c[0] for c in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def count(self, table: Literal["events", "work_orders"] = "events") -> int:
        """Number of rows in ``events`` or ``work_orders``."""
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _connect_existing(p: Path) -> sqlite3.Connection:
    # A plain (read-write) connection, not ``mode=ro``: after a killed writer the WAL must
    # be recovered, which a read-only connection cannot always do.
    if not p.exists():
        raise DataError(f"{p}: no such SQLite database")
    return sqlite3.connect(str(p))


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """Events of a database in insertion order, as contract dicts.

    Raises:
        DataError: the file does not exist or is not a gridsight events database.
    """
    p = Path(path)
    conn = _connect_existing(p)
    events: list[dict[str, Any]] = []
    try:
        cur = conn.execute(
            "SELECT id, camera, hazard, phase, ts, wall_time, village, grid, confidence,"
            " boxes, track_ids, snapshot, extra FROM events ORDER BY seq"
        )
        for r in cur:
            out: dict[str, Any] = {
                "id": r[0],
                "camera": r[1],
                "hazard": r[2],
                "phase": r[3],
                "ts": r[4],
                "wall_time": r[5],
                "village": r[6],
                "grid": r[7],
                "confidence": r[8],
                "boxes": json.loads(r[9]),
                "track_ids": json.loads(r[10]),
                "snapshot": r[11],
            }
            if r[12]:
                out["extra"] = json.loads(r[12])
            events.append(out)
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{p}: not a gridsight events database ({exc})") from exc
    finally:
        conn.close()
    return events


def read_work_orders(path: str | Path) -> list[dict[str, Any]]:
    """All work orders of a database, oldest first."""
    p = Path(path)
    conn = _connect_existing(p)
    try:
        cur = conn.execute("SELECT * FROM work_orders ORDER BY created_ts, id")
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{p}: not a gridsight events database ({exc})") from exc
    finally:
        conn.close()
