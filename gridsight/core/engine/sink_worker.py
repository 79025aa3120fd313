"""Each event sink on a thread of its own, so a slow sink never stalls the cameras.

A sink's ``write`` may block: a SQLite file locked by another process makes it wait out
its busy timeout, a remote sink may hang on the network. Called on the engine thread,
that wait stops every camera. :class:`SinkWorker` puts a bounded queue and a thread in
front of one sink: the engine hands it the event and goes on; the thread writes in
order, and a write that raises is reported through ``on_error`` (counted and shown
against the sink, as before) while the next events are still written. A sink whose
queue is full (it has been stuck for ``capacity`` events) loses the newest event,
counted the same way, rather than holding the engine.

:meth:`SinkWorker.close` writes what is queued (up to ``drain_s``), then closes the sink.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from gridsight.core.errors import GridsightError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.base import EventSink

ErrorHandler = Callable[[EventSink, BaseException], None]

_STOP = object()


class SinkQueueFull(GridsightError):
    """A sink has fallen ``capacity`` events behind; an event for it was dropped."""


class SinkWorker:
    """Writes one sink's events on its own thread.

    Args:
        sink: the sink.
        on_error: called (on the worker thread) with the sink and the exception of every
            write that raised, and for every event dropped because the queue was full.
        capacity: events queued at most before new ones are dropped.
    """

    def __init__(self, sink: EventSink, on_error: ErrorHandler, capacity: int = 10_000) -> None:
        self.sink = sink
        self.name = str(getattr(sink, "name", type(sink).__name__))
        self._on_error = on_error
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self.dropped = 0
        self._thread = threading.Thread(
            target=self._run, name=f"gridsight-sink-{self.name}", daemon=True
        )
        self._thread.start()

    def write(self, event: HazardEvent) -> None:
        """Queue ``event`` for the sink; never blocks."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            self._on_error(
                self.sink,
                SinkQueueFull(
                    f"sink {self.name!r} is {self._queue.maxsize} events behind; "
                    f"event {event.id} ({event.phase}) dropped for it"
                ),
            )

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if not isinstance(item, HazardEvent):
                continue
            try:
                self.sink.write(item)
            except Exception as exc:
                self._on_error(self.sink, exc)

    def close(self, drain_s: float = 30.0) -> bool:
        """Write what is queued (waiting at most ``drain_s``), then close the sink.

        Returns:
            True if every queued event was written (or failed) before the deadline;
            False if the sink was still stuck, in which case it is not closed (its
            thread may still be inside ``write``) and the rest of its queue is lost.
        """
        try:
            self._queue.put(_STOP, timeout=drain_s)
        except queue.Full:
            return False
        self._thread.join(timeout=drain_s)
        if self._thread.is_alive():
            return False
        self.sink.close()
        return True
