"""The order service on the streams' clock (``--fast`` over files or the synthetic world):
shifts and SLA clocks follow the events' time of day, not the machine's."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime

import pytest

from gridsight.orders.clock import StreamClock
from gridsight.orders.sink import open_orders_sink

from .helpers import CONFIG, MORNING, ZONE, event

NIGHT = datetime(2026, 7, 1, 2, 0, tzinfo=ZONE).isoformat()  # nobody of the grid on shift


class Mono:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def test_the_clock_follows_the_latest_event_and_real_time_since_and_never_goes_back() -> None:
    mono = Mono()
    clock = StreamClock(now=mono)
    before = time.time()
    assert before <= clock() <= time.time()  # the wall clock until an event is seen
    clock.observe("2026-07-01T10:00:00+08:00")
    assert clock() == MORNING
    # A moment of the machine's clock maps onto the stream's (a notification's arrival).
    assert clock.at_wall(time.time() + 7.0) == pytest.approx(MORNING + 7.0, abs=1.0)
    mono.t += 30.0
    assert clock() == MORNING + 30.0  # time-outs still run between events
    clock.observe("2026-07-01T10:00:10+08:00")  # an older camera's event: no step back
    assert clock() == MORNING + 30.0
    clock.observe(MORNING + 100.0)
    assert clock() == MORNING + 100.0


def test_a_past_moment_maps_through_the_clock_as_it_stood_then() -> None:
    """--fast: the stream runs 100x real time here. A notification that arrived half a
    second after the first alarm is half a second late, however far the stream has run
    by the time the delays are read."""
    mono, wall = Mono(), Mono()
    wall.t = 1000.0
    clock = StreamClock(now=mono, wall=wall)
    for k in range(3):  # an event every real second, 100 stream seconds apart
        clock.observe(MORNING + 100.0 * k)
        mono.t += 1.0
        wall.t += 1.0
    assert clock.at_wall(1000.5) == pytest.approx(MORNING + 0.5)
    assert clock.at_wall(1001.2) == pytest.approx(MORNING + 100.2)
    assert clock.at_wall(1005.0) == pytest.approx(MORNING + 205.0)  # after the last
    assert clock.at_wall(990.0) == pytest.approx(MORNING - 10.0)  # before the first
    assert clock() == pytest.approx(MORNING + 201.0)


@pytest.mark.parametrize(
    ("wall", "on_shift"), [("2026-07-01T10:00:00+08:00", True), (NIGHT, False)]
)
def test_orders_take_the_events_time_of_day_for_shifts_and_clocks(
    tmp_path, wall: str, on_shift: bool
) -> None:
    sink = open_orders_sink(str(tmp_path / "o.sqlite"), CONFIG, stream_time=True, tick_s=0.05)
    ev = dataclasses.replace(event(), wall_time=wall)
    sink.write(ev)
    sink.close()
    (order,) = sink.orders.values()
    alarm = datetime.fromisoformat(wall).timestamp()
    assert order.created_at == pytest.approx(alarm, abs=5.0)  # not the machine's time
    assert order.state == "dispatched" and order.dispatched_at is not None
    assert order.dispatched_at - order.created_at < 60.0
    # The camera's grid owner works days: at 10:00 the order is theirs whatever hour the
    # machine says; at 02:00 it goes to whoever the roster has on the night shift.
    assert (order.assignee == "gw-ruijia-g01") is on_shift


def test_without_stream_time_the_orders_run_on_the_machines_clock(tmp_path) -> None:
    sink = open_orders_sink(str(tmp_path / "o.sqlite"), CONFIG, tick_s=0.05)
    sink.write(event())
    sink.close()
    (order,) = sink.orders.values()
    assert order.created_at == pytest.approx(time.time(), abs=30.0)


def test_cameras_whose_worlds_show_other_times_of_day_share_the_runs_timeline(
    tmp_path,
) -> None:
    """The demo's synthetic worlds each draw a time of day. A camera five hours behind the
    others must not get an order stamped five hours back (and breached when the next
    event moves the clock on), whichever camera's event comes first."""
    late = datetime(2026, 7, 1, 17, 0, tzinfo=ZONE).timestamp()
    early = datetime(2026, 7, 1, 12, 0, tzinfo=ZONE).timestamp()
    sink = open_orders_sink(str(tmp_path / "o.sqlite"), CONFIG, stream_time=True, tick_s=0.05)
    # The early world's event first (stream second 10), then the late one's (second 30).
    first = dataclasses.replace(
        event(camera="cam-stairwell-01", hazard="ebike"),
        ts=10.0, wall_time=datetime.fromtimestamp(early + 10.0, ZONE).isoformat(),
    )  # fmt: skip
    second = dataclasses.replace(
        event(), ts=30.0, wall_time=datetime.fromtimestamp(late + 30.0, ZONE).isoformat()
    )
    sink.write(first)
    sink.write(second)
    sink.close()
    by_camera = {o.camera: o for o in sink.orders.values()}
    bike, water = by_camera["cam-stairwell-01"], by_camera["cam-reservoir-01"]
    # One timeline from where the first event's stream began (12:00): 20 s apart.
    assert bike.created_at == pytest.approx(early + 10.0, abs=5.0)
    assert water.created_at - bike.created_at == pytest.approx(20.0, abs=5.0)
    assert bike.sla_close != "breached"
