"""The SQLite sink: contract fields, work orders, idempotence, kill -9 durability."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gridsight.core.errors import DataError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.sqlite import SqliteSink, read_events, read_work_orders


def _event(eid: str, phase: str, ts: float, **kw: object) -> HazardEvent:
    base: dict[str, object] = dict(
        id=eid,
        camera="cam-reservoir-01",
        hazard="near_water",
        phase=phase,
        ts=ts,
        wall_time="2026-01-01T08:00:00+08:00",
        village="ruijia",
        grid="ruijia-g01",
        confidence=0.87,
        boxes=((10.0, 20.0, 30.0, 60.0),),
        track_ids=(7,),
        snapshot="snap/x.jpg" if phase == "start" else None,
    )
    base.update(kw)
    return HazardEvent(**base)  # type: ignore[arg-type]


def test_events_round_trip_the_contract(tmp_path: Path) -> None:
    db = tmp_path / "a" / "alerts.sqlite"
    ev = _event("e1", "start", 12.5, extra={"dwell_s": 3.0})
    with SqliteSink(db) as sink:
        sink.write(ev)
        sink.write(_event("e1", "update", 20.0))
        sink.write(_event("e1", "end", 31.0))
    rows = read_events(db)
    assert [r["phase"] for r in rows] == ["start", "update", "end"]
    expected = ev.to_dict()
    assert rows[0] == expected
    assert rows[0]["boxes"] == [[10.0, 20.0, 30.0, 60.0]]
    assert rows[0]["extra"] == {"dwell_s": 3.0}


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "alerts.sqlite"
    SqliteSink(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(DataError, match="schema version 99"):
        SqliteSink(db)


def test_work_order_per_start_and_ended_on_end(tmp_path: Path) -> None:
    db = tmp_path / "alerts.sqlite"
    with SqliteSink(db) as sink:
        sink.write(_event("e1", "start", 1.0))
        sink.write(_event("e2", "start", 2.0, hazard="ebike"))
        assert [w["id"] for w in sink.open_work_orders()] == ["e1", "e2"]
        sink.write(_event("e1", "update", 3.0))
        sink.write(_event("e1", "end", 4.0))
        assert [w["id"] for w in sink.open_work_orders()] == ["e2"]
    orders = {w["id"]: w for w in read_work_orders(db)}
    assert orders["e1"]["status"] == "hazard_ended"
    assert orders["e1"]["ended_ts"] == 4.0
    assert orders["e1"]["snapshot"] == "snap/x.jpg"
    assert orders["e2"]["status"] == "new"
    assert orders["e2"]["hazard"] == "ebike"
    assert orders["e2"]["grid"] == "ruijia-g01"


def test_operator_status_is_not_overwritten_by_end(tmp_path: Path) -> None:
    db = tmp_path / "alerts.sqlite"
    with SqliteSink(db) as sink:
        sink.write(_event("e1", "start", 1.0))
    conn = sqlite3.connect(db)
    conn.execute("UPDATE work_orders SET status = 'dispatched' WHERE id = 'e1'")
    conn.commit()
    conn.close()
    with SqliteSink(db) as sink:
        sink.write(_event("e1", "end", 9.0))
    assert read_work_orders(db)[0]["status"] == "dispatched"


def test_replayed_events_are_not_duplicated(tmp_path: Path) -> None:
    db = tmp_path / "alerts.sqlite"
    events = [_event("e1", "start", 1.0), _event("e1", "end", 5.0)]
    with SqliteSink(db) as sink:
        for ev in events:
            sink.write(ev)
    # A restart that re-sends its tail: nothing is duplicated, nothing is lost.
    with SqliteSink(db) as sink:
        for ev in events:
            sink.write(ev)
        sink.write(_event("e2", "start", 7.0))
        assert sink.ignored == 2 and sink.written == 1
        assert sink.known_ids() == {"e1", "e2"}
        assert sink.count("events") == 3
        assert sink.count("work_orders") == 2


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match=r"bad\.sqlite"):
        SqliteSink(bad)
    with pytest.raises(DataError, match="no such SQLite database"):
        read_events(tmp_path / "missing.sqlite")


_WRITER = textwrap.dedent(
    """
    import sys
    from gridsight.core.events import HazardEvent
    from gridsight.core.sinks.sqlite import SqliteSink

    sink = SqliteSink(sys.argv[1])
    i = 0
    while True:  # until killed
        phase = ("start", "update", "end")[i % 3]
        sink.write(HazardEvent(id=f"e{i // 3}", camera="c", hazard="ebike", phase=phase,
                               ts=float(i), wall_time="2026-01-01T00:00:00Z", village="v",
                               grid="g", confidence=0.5))
        # Acknowledge only after write() returned: these events must survive kill -9.
        sys.stdout.write(f"{i}\\n")
        sys.stdout.flush()
        i += 1
    """
)


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "alerts.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    acked: list[int] = []
    try:
        if proc.stdout is None:
            pytest.fail("no stdout pipe")
        for line in proc.stdout:
            acked.append(int(line))
            if len(acked) >= 150:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    # The WAL was never checkpointed by a clean close; opening recovers it.
    assert (tmp_path / "alerts.sqlite-wal").exists()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {int(ts) for (ts,) in conn.execute("SELECT ts FROM events")}
    conn.close()
    assert set(acked) <= stored
    # A restarted writer continues on the same file without duplicating anything.
    with SqliteSink(db) as sink:
        before = sink.count()
        sink.write(
            HazardEvent(
                id="e0",
                camera="c",
                hazard="ebike",
                phase="start",
                ts=0.0,
                wall_time="2026-01-01T00:00:00Z",
                village="v",
                grid="g",
                confidence=0.5,
            )
        )
        assert sink.count() == before
