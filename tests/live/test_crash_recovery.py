"""Recovery after a crash, for real: ``kill -9`` of a ``gridsight run`` (and of a
``gridsight serve``) subprocess at seeded random moments while events are open, then a
restart on the same store (SQLite and PostgreSQL). After the restart every event that
started has ended (those the dead process left open with reason ``restart``, at their
last known time), no order is lost (every stored event points at an existing order) and
none is duplicated (one order per camera and hazard still open at most; the restart's
events joined the orders they belong to).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from gridsight.orders.tables import events, work_orders

from ..services import require_postgres

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "jingqiao.yaml"
# Stairwells and a reservoir: their first hazards start within seconds of stream time.
CAMERAS = ("cam-stairwell-01", "cam-stairwell-04", "cam-reservoir-02")
SEEDS = (1, 2)
#: Longest wait for the first open event of the run to be killed (a loaded machine).
FIRST_EVENT_S = 240.0


def _run(db: str, duration: float, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "gridsight", "run", str(CONFIG), "--no-live", "--db", db]
    cmd += ["--duration", str(duration)]
    for cam in CAMERAS:
        cmd += ["--camera", cam]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("ab") as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def _serve(config: Path, db: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "gridsight", "serve", str(config), "--db", db, "--fast"]
    cmd += ["--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRIDSIGHT_DATA_DIR": str(log.parent)}
    with log.open("ab") as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _three_cameras(folder: Path) -> Path:
    """The Jingqiao config with only :data:`CAMERAS` (serve runs every camera it has)."""
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    raw["cameras"] = [c for c in raw["cameras"] if c["id"] in CAMERAS]
    path = folder / "town.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _wait(predicate: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:g} s: {log.read_text()[-3000:]}")
        time.sleep(0.2)


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _open_events(engine: sa.Engine) -> set[str]:
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(events.c.id).where(events.c.ended_at.is_(None)))
            return {r.id for r in rows}
    except sa.exc.SQLAlchemyError:  # not migrated yet, or locked for a moment
        return set()


def _kill_while_open(db: str, engine: sa.Engine, rng: random.Random, log: Path) -> set[str]:
    """Start a long run, wait for open events, kill -9 it a random moment later; the ids
    of the events open at the kill."""
    proc = _run(db, 3600.0, log)
    try:
        deadline = time.monotonic() + FIRST_EVENT_S
        while not _open_events(engine):
            if proc.poll() is not None:
                pytest.fail(f"gridsight run ended before any event: {log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no event within {FIRST_EVENT_S:g} s: {log.read_text()[-3000:]}")
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 3.0))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return _open_events(engine)


def _check_invariants(engine: sa.Engine, left_open: set[str]) -> None:
    ev, wo = events.c, work_orders.c
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(events))]
        orders = {r.id: dict(r._mapping) for r in conn.execute(sa.select(work_orders))}
        open_keys = conn.execute(
            sa.select(wo.open_key, sa.func.count())
            .where(wo.open_key.is_not(None))
            .group_by(wo.open_key)
        ).all()
        active = conn.execute(
            sa.select(sa.func.count()).select_from(work_orders).where(wo.hazard_active)
        ).scalar_one()
        still_open = conn.execute(
            sa.select(sa.func.count()).select_from(events).where(ev.ended_at.is_(None))
        ).scalar_one()
    by_id = {r["id"]: r for r in rows}
    # Every start has its end.
    assert still_open == 0, f"{still_open} events still open after the restart"
    for eid in left_open:
        row = by_id[eid]
        assert json.loads(row["extra"]).get("end_reason") == "restart", row
        assert row["ended_at"] == row["last_at"], row  # ended at its last known time
    # No order lost: every event belongs to an order that exists.
    lost = [r["id"] for r in rows if r["order_id"] is None or r["order_id"] not in orders]
    assert not lost, f"events without their order: {lost}"
    # None duplicated: one open order per camera and hazard at most, and none still
    # marked active once every event has ended.
    assert all(n == 1 for _, n in open_keys), open_keys
    assert active == 0
    per_event = {}
    for o in orders.values():
        if o["event_id"] is not None:
            assert o["event_id"] not in per_event, f"two orders opened by {o['event_id']}"
            per_event[o["event_id"]] = o["id"]


def _crash_and_restart(db: str, engine: sa.Engine, tmp_path: Path) -> None:
    left_open: set[str] = set()
    for seed in SEEDS:
        rng = random.Random(seed)
        log = tmp_path / f"run-{seed}.log"
        left_open |= _kill_while_open(db, engine, rng, log)
    assert left_open, "the kills found no open event to recover"
    log = tmp_path / "restart.log"
    proc = _run(db, 20.0, log)
    try:
        assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "recovered after a crash" in log.read_text()
    _check_invariants(engine, left_open)


@pytest.mark.slow
def test_kill_9_and_restart_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "orders.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        _crash_and_restart(str(path), engine, tmp_path)
    finally:
        engine.dispose()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own (a subprocess is given a URL, not a schema)."""
    url = sa.make_url(require_postgres())
    name = f"crash_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.slow
def test_kill_9_and_restart_on_postgresql(pg_database: str, tmp_path: Path) -> None:
    engine = sa.create_engine(pg_database)
    try:
        _crash_and_restart(pg_database, engine, tmp_path)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_9_of_serve_and_restart(tmp_path: Path) -> None:
    """The service path: serve builds the same pipeline, so it recovers the same way."""
    config = _three_cameras(tmp_path)
    path = tmp_path / "orders.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    rng = random.Random(3)
    try:
        log = tmp_path / "serve-1.log"
        proc = _serve(config, str(path), _free_port(), log)
        try:
            _wait(lambda: bool(_open_events(engine)), FIRST_EVENT_S, "no open event", log)
            time.sleep(rng.uniform(0.0, 3.0))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        left_open = _open_events(engine)
        assert left_open, "the kill found no open event to recover"
        log = tmp_path / "serve-2.log"
        port = _free_port()
        proc = _serve(config, str(path), port, log)
        try:
            _wait(lambda: not (left_open & _open_events(engine)), 120, "not recovered", log)
            _wait(lambda: _ready(port), 120, "not ready", log)
        finally:
            proc.send_signal(signal.SIGTERM)  # a clean stop ends this run's own events
            # uvicorn re-raises the signal once it has shut down cleanly: -SIGTERM.
            assert proc.wait(timeout=120) in (0, -signal.SIGTERM), log.read_text()[-3000:]
        _check_invariants(engine, left_open)
    finally:
        engine.dispose()
