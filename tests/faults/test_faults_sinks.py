"""Fault matrix, storage side: the snapshot disk full, the SQLite file locked by another process.

Neither is a camera fault, so every camera is a "healthy" one here: all three must keep
their frame counts within 5 % of a run without the fault while the evidence writer or
the SQLite sink fails, and events must keep flowing to the other sink (JSONL).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridsight.core.sinks.jsonl import JsonlSink
from gridsight.core.sinks.sqlite import SqliteSink
from gridsight.core.sinks.sqlite import read_events as read_db

from .harness import (
    HEALTHY,
    RECOVERIES,
    assert_others_unaffected,
    baseline_frames,
    run_faulty,
    sleep_until,
)

pytestmark = pytest.mark.slow

DURATION = 14.0


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class FullDisk:
    """A directory whose filesystem is full until :meth:`free` (a tiny tmpfs when root).

    Without the right to mount (not root, or a container without CAP_SYS_ADMIN), the
    same ``OSError(ENOSPC)`` is injected into the writes under the directory instead.
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = root / "snapshots"
        self.path.mkdir()
        self.kind = "injected"
        self._full = True
        mounted = os.geteuid() == 0 and shutil.which("mount") is not None
        if mounted:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=2m,nr_inodes=64", "tmpfs", str(self.path)],
                capture_output=True,
            )
            mounted = done.returncode == 0
        if mounted:
            self.kind = "tmpfs"
            filler = self.path / "filler"
            with open(filler, "wb") as fh:  # fill it for real, until the kernel says ENOSPC
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
            self._filler = filler
        else:
            original = Path.write_bytes

            def write_bytes(p: Path, data: bytes) -> int:
                if self._full and self.path in p.parents:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(p))
                return original(p, data)

            monkeypatch.setattr(Path, "write_bytes", write_bytes)

    def free(self) -> None:
        self._full = False
        if self.kind == "tmpfs":
            self._filler.unlink()

    def close(self) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["umount", "-l", str(self.path)], check=False)

    def snapshots(self) -> list[Path]:
        return sorted(self.path.rglob("*.jpg"))


@pytest.fixture
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FullDisk]:
    disk = FullDisk(tmp_path, monkeypatch)
    try:
        yield disk
    finally:
        disk.close()


def test_snapshot_disk_full_events_still_flow_and_snapshots_resume(
    tmp_path: Path, full_disk: FullDisk
) -> None:
    jsonl = JsonlSink(tmp_path / "alerts.jsonl")
    marks: dict[str, float] = {}

    def scenario(engine, watch):
        sleep_until(engine, 6.0)
        comp = engine.status().component("evidence")
        watch.notes["errors_full"] = comp.errors if comp else 0
        watch.notes["last_error"] = comp.last_error if comp else None
        watch.notes["written_full"] = len(full_disk.snapshots())
        full_disk.free()
        t0 = time.monotonic()
        marks["freed"] = engine.status().elapsed_s
        while time.monotonic() - t0 < 6.0:
            if full_disk.snapshots():
                watch.recovery_s = time.monotonic() - t0
                break
            time.sleep(0.02)

    run = run_faulty([], scenario, DURATION, sinks=[jsonl], snapshots_dir=full_disk.path)
    w = run.watch
    assert w.notes["errors_full"] >= 1, "no snapshot was attempted while the disk was full"
    assert "No space left on device" in (w.notes["last_error"] or ""), w.notes
    assert w.notes["written_full"] == 0
    assert w.recovery_s is not None, "no snapshot was written after the disk was freed"
    events = read_events(tmp_path / "alerts.jsonl")
    starts = [e for e in events if e["phase"] == "start"]
    # Every start reached the JSONL sink; those raised while the disk was full carry no
    # snapshot, later ones point at a file that exists.
    assert len(starts) == sum(run.summary.starts.values()) >= 3
    assert any(e["snapshot"] is None for e in starts)
    with_snap = [e for e in starts if e["snapshot"]]
    assert with_snap and all(Path(e["snapshot"]).exists() for e in with_snap)
    RECOVERIES.append(
        {
            "fault": "snapshot disk full",
            "recovery_s": w.recovery_s,
            "how": f"{full_disk.kind} ENOSPC for 6 s, then space freed "
            f"({w.notes['errors_full']} snapshots failed)",
        }
    )
    assert_others_unaffected(run, DURATION)


LOCKED_UNTIL = 12.0  # locked from t=3 s: longer than the sink's 5 s busy timeout
SQLITE_RUN = 18.0
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


@pytest.fixture(scope="module")
def locked_run(tmp_path_factory: pytest.TempPathFactory):
    """One run with the SQLite file locked by another process from t=3 s to t=12 s."""
    tmp_path = tmp_path_factory.mktemp("sqlite-locked")
    db = tmp_path / "alerts.sqlite"
    sqlite = SqliteSink(db)
    jsonl = JsonlSink(tmp_path / "alerts.jsonl")
    locker: list[subprocess.Popen[str]] = []

    def scenario(engine, watch):
        sleep_until(engine, 3.0)
        proc = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        locker.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        sleep_until(engine, LOCKED_UNTIL)
        comp = engine.status().component("sink:sqlite")
        watch.notes["errors_locked"] = comp.errors if comp else 0
        watch.notes["last_error"] = comp.last_error if comp else None
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(10)
        watch.notes["rows_at_release"] = len(read_db(db))
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5.0:
            if len(read_db(db)) > watch.notes["rows_at_release"]:
                watch.recovery_s = time.monotonic() - t0
                break
            time.sleep(0.05)

    try:
        run = run_faulty([], scenario, SQLITE_RUN, sinks=[sqlite, jsonl])
    finally:
        for proc in locker:
            if proc.poll() is None:
                proc.kill()
    return run, db, tmp_path / "alerts.jsonl"


def test_sqlite_file_locked_by_another_process_is_reported_and_writes_resume(locked_run) -> None:
    run, db, jsonl_path = locked_run
    w = run.watch
    assert w.notes["errors_locked"] >= 1, "no event was written while the database was locked"
    assert "locked" in (w.notes["last_error"] or ""), w.notes
    assert run.metric("gridsight_sink_errors_total", sink="sqlite") >= 1
    assert w.recovery_s is not None, "no event reached SQLite after the lock was released"
    in_jsonl = {(e["id"], e["phase"]) for e in read_events(jsonl_path)}
    in_db = {(r["id"], r["phase"]) for r in read_db(db)}
    assert in_db < in_jsonl  # the other sink got everything; SQLite missed the locked span
    frames = [run.frames(c) for c in HEALTHY]
    base = [baseline_frames(SQLITE_RUN)[c] for c in HEALTHY]
    RECOVERIES.append(
        {
            "fault": "sqlite locked",
            "recovery_s": w.recovery_s,
            "how": f"EXCLUSIVE lock held 9 s by another process; {len(in_jsonl - in_db)} "
            f"event records lost to SQLite; healthy frames {frames} vs {base} without the lock",
        }
    )


def test_sqlite_lock_does_not_stall_the_cameras(locked_run) -> None:
    # Every sink writes on its own thread (core/engine/sink_worker.py): the locked
    # SQLite file waits out its busy timeout there, not on the engine thread.
    run, _, _ = locked_run
    assert_others_unaffected(run, SQLITE_RUN)
