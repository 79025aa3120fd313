"""A store records the clock of the run that wrote it, and its readers read it on that clock:
``gridsight orders``, ``gridsight report`` (and ``serve --no-engine``, in the API tests)."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.orders.clock import StreamClock
from gridsight.orders.sink import open_orders_sink
from gridsight.orders.store import OrderStore
from gridsight.orders.store_clock import StoreClock, read_clock, record_clock, record_run_clock

from .helpers import CONFIG, MORNING, ZONE, Clock, event, service


class Mono:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_run_that_last_wrote_the_store_decides_its_clock(store: OrderStore) -> None:
    assert read_clock(store) is None
    assert StoreClock(store)() == pytest.approx(time.time(), abs=30.0)  # nothing recorded
    record_clock(store, "stream", MORNING, at=1.0)
    rec = read_clock(store)
    assert rec is not None and rec.kind == "stream" and rec.is_stream
    assert rec.stream_time == MORNING and rec.recorded_at == 1.0
    clock = StoreClock(store)
    assert clock() == MORNING and clock.kind == "stream"
    # A wall-clock run over the same store afterwards makes it a wall-clock store again.
    record_run_clock(store, time.time)
    rec = read_clock(store)
    assert rec is not None and rec.kind == "wall" and rec.stream_time is None
    clock = StoreClock(store, wall=lambda: 42.0)
    assert clock() == 42.0 and clock.kind == "wall" and clock.note(ZONE) is None


def test_a_stream_clock_is_recorded_at_its_time(tmp_path: Path) -> None:
    store = OrderStore.open(tmp_path / "o.sqlite")
    mono = Mono()
    stream = StreamClock(now=mono)
    stream.observe(MORNING)
    mono.t += 12.0
    record_run_clock(store, stream)
    rec = read_clock(store)
    assert rec is not None and rec.kind == "stream" and rec.stream_time == MORNING + 12.0


def test_the_record_is_read_again_after_the_refresh_interval(tmp_path: Path) -> None:
    store = OrderStore.open(tmp_path / "o.sqlite")
    record_clock(store, "stream", MORNING)
    mono = Mono()
    clock = StoreClock(store, refresh_s=1.0, monotonic=mono)
    assert clock() == MORNING
    record_clock(store, "stream", MORNING + 60.0)  # the run is still writing
    assert clock() == MORNING  # within the refresh interval: the record read before
    mono.t += 1.0
    assert clock() == MORNING + 60.0


def test_an_orders_sink_records_its_runs_clock(tmp_path: Path) -> None:
    """The sink's thread records the clock: the stream's time of the latest event on a
    stream-clock run (synthetic world, --fast), the machine's clock otherwise."""
    sink = open_orders_sink(str(tmp_path / "s.sqlite"), CONFIG, stream_time=True, tick_s=0.05)
    morning = datetime.fromtimestamp(MORNING, ZONE).isoformat()
    sink.write(dataclasses.replace(event(), wall_time=morning))
    sink.close()
    rec = read_clock(sink.service.store)
    assert rec is not None and rec.kind == "stream"
    assert rec.stream_time == pytest.approx(MORNING, abs=30.0)  # + the run's real seconds
    sink = open_orders_sink(str(tmp_path / "w.sqlite"), CONFIG, tick_s=0.05)
    sink.write(event())
    sink.close()
    rec = read_clock(sink.service.store)
    assert rec is not None and rec.kind == "wall" and rec.stream_time is None


def _stream_store(path: Path, at: float) -> str:
    """A store with one near-water order written by a stream-clock run at ``at``."""
    sink = open_orders_sink(str(path), CONFIG, stream_time=True, tick_s=0.05)
    sink.write(dataclasses.replace(event(), wall_time=datetime.fromtimestamp(at, ZONE).isoformat()))
    sink.close()
    (order,) = sink.orders.values()
    return order.id


def test_orders_list_and_show_read_a_stream_store_on_its_clock(tmp_path: Path) -> None:
    db = tmp_path / "o.sqlite"
    order = _stream_store(db, MORNING)
    runner = CliRunner(env={"COLUMNS": "200"})
    r = runner.invoke(cli, ["orders", "list", "--db", str(db)])
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if order in line)
    # Read on the machine's clock the order would be months old and long overdue.
    age, left = re.search(r"(\S+)\s+met \S+\s+(\S+) left", row).groups()  # type: ignore[union-attr]
    assert re.fullmatch(r"\d+s|\dm\d\ds", age), row
    assert re.fullmatch(r"5\dm\d\ds", left), row
    assert "Stream time" in r.output and "2026-07-01 10:0" in r.output
    r = runner.invoke(cli, ["orders", "show", order, "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "at (Asia/Shanghai)" in r.output and "2026-07-01 10:0" in r.output
    assert "Stream time" in r.output
    r = runner.invoke(cli, ["orders", "watch", "--once", "--db", str(db)])
    assert r.exit_code == 0 and "Stream time" in r.output and " left" in r.output


def test_a_transition_on_a_stream_store_is_stamped_at_the_streams_time(tmp_path: Path) -> None:
    db = tmp_path / "o.sqlite"
    order = _stream_store(db, MORNING)
    r = CliRunner().invoke(
        cli,
        ["orders", "transition", order, "acknowledged", "--actor", "worker:gw-ruijia-g01",
         "--role", "worker", "--db", str(db)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["orders", "show", order, "--db", str(db), "--json"])
    shown = json.loads(r.output)
    assert shown["acknowledged_at"] == pytest.approx(MORNING, abs=30.0)


def test_report_without_a_date_is_the_streams_day(tmp_path: Path) -> None:
    db = tmp_path / "o.sqlite"
    _stream_store(db, MORNING)
    out = tmp_path / "reports"
    r = CliRunner().invoke(cli, ["report", "daily", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "1 orders, 2026-07-01" in r.output and "Stream time" in r.output
    text = (out / "daily-2026-07-01.md").read_text(encoding="utf-8")
    assert "- Orders: **1**" in text and "Stream time" in text


def test_report_on_a_day_without_orders_names_the_days_that_have_some(tmp_path: Path) -> None:
    """A wall-clock store (nothing recorded) whose orders are of other days."""
    db = tmp_path / "o.sqlite"
    store = OrderStore.open(db)
    for day, cams in ((3, (1, 2)), (5, (3,))):  # other cameras: an open order absorbs repeats
        svc = service(store, Clock(datetime(2020, 1, day, 10, 0, tzinfo=ZONE).timestamp()))
        for k in cams:
            svc.ingest_event(event(camera=f"cam-fire-lane-0{k}", hazard="fire_lane"))
    store.close()
    out = tmp_path / "reports"
    r = CliRunner().invoke(cli, ["report", "daily", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 0, r.output
    today = datetime.now(ZONE).date().isoformat()
    assert f"0 orders, {today}" in r.output
    assert "the store has orders on 2020-01-05 (1), 2020-01-03 (2)" in r.output
    assert "--date 2020-01-05" in r.output and "Stream time" not in r.output
    # With --date the user chose the day: no hint.
    r = CliRunner().invoke(
        cli, ["report", "daily", "--db", str(db), "--out", str(out), "--date", "2020-01-04"]
    )
    assert r.exit_code == 0 and "0 orders, 2020-01-04" in r.output
    assert "has orders on" not in r.output


def test_a_service_reading_the_stores_clock_leaves_the_record_as_it_is(tmp_path: Path) -> None:
    """``serve --no-engine`` over a demo's store ticks its orders through a sink on the
    store's clock: that must not turn the store into a wall-clock one."""
    from gridsight.orders.sink import OrdersSink

    db = tmp_path / "o.sqlite"
    _stream_store(db, MORNING)
    store = OrderStore.open(db)
    sink = OrdersSink(service(store, StoreClock(store)), tick_s=0.05)  # type: ignore[arg-type]
    sink.close()  # its thread records at its start and on its last tick
    rec = read_clock(store)
    assert rec is not None and rec.is_stream
    assert rec.stream_time == pytest.approx(MORNING, abs=30.0)
