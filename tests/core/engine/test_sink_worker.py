"""SinkWorker: a slow or failing sink never blocks the engine, and loses nothing it can write."""

from __future__ import annotations

import threading
import time

from gridsight.core.engine.sink_worker import SinkQueueFull, SinkWorker
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.base import EventSink


def event(i: int) -> HazardEvent:
    return HazardEvent(f"e{i}", "cam", "near_water", "start", float(i), "t", "v", "g", 0.9)


class Gate(EventSink):
    """Blocks every write until released; fails the writes of the ids it is told to."""

    name = "gate"

    def __init__(self, fail: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.open = threading.Event()
        self.written: list[str] = []
        self.fail = fail
        self.closed = False

    def write(self, ev: HazardEvent) -> None:
        self.open.wait()
        if ev.id in self.fail:
            raise OSError(f"disk said no to {ev.id}")
        self.written.append(ev.id)

    def close(self) -> None:
        self.closed = True


def test_a_blocked_sink_does_not_block_the_caller_and_gets_everything_in_order() -> None:
    sink, errors = Gate(fail={"e2"}), []
    worker = SinkWorker(sink, lambda s, exc: errors.append(exc))
    for i in range(5):
        worker.write(event(i))  # returns at once although the sink is blocked
    assert sink.written == []
    sink.open.set()
    assert worker.close(drain_s=5.0) and sink.closed
    assert sink.written == ["e0", "e1", "e3", "e4"]
    assert [str(e) for e in errors] == ["disk said no to e2"]


def test_a_full_queue_drops_the_newest_and_says_so() -> None:
    sink, errors = Gate(), []
    worker = SinkWorker(sink, lambda s, exc: errors.append(exc), capacity=2)
    worker.write(event(0))
    deadline = time.monotonic() + 60
    while worker._queue.qsize() and time.monotonic() < deadline:  # e0 taken into write()
        time.sleep(0.01)
    assert worker._queue.qsize() == 0, "the sink's thread never took the first event"
    for i in range(1, 5):
        worker.write(event(i))
    # One event is inside the blocked write, two wait in the queue, the rest are dropped.
    assert worker.dropped == 2
    assert all(isinstance(e, SinkQueueFull) for e in errors)
    sink.open.set()
    assert worker.close(drain_s=5.0)
    assert sink.written == ["e0", "e1", "e2"]


def test_a_sink_stuck_for_good_does_not_hang_the_close() -> None:
    sink = Gate()
    worker = SinkWorker(sink, lambda s, exc: None)
    worker.write(event(0))
    assert worker.close(drain_s=0.2) is False
    assert not sink.closed  # its thread may still be inside write: not closed under it
    sink.open.set()
