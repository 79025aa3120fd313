"""OrdersSink: the engine's events into work orders, without ever blocking the engine.

The engine calls sinks from its own loop, so :meth:`OrdersSink.write` only puts the
event on a bounded queue; a worker thread feeds :meth:`OrderService.ingest_event` and
runs :meth:`OrderService.tick` every ``tick_s`` (acknowledgement time-outs, SLA clocks),
so ``gridsight run --db URL`` creates, dispatches, escalates and breaches orders while
it runs.

When the store is unreachable (a PostgreSQL restart) the thread retries the same event
with growing pauses; events wait in the queue. If the queue fills up, ``update`` events
are dropped first (they only refresh boxes), and the drop is counted; a ``start`` or
``end`` is dropped only when the queue holds nothing else, and then logged as an error.
``close()`` drains what is queued (up to ``drain_s``) and stops the thread.

Recovery after a crash: given ``recover`` (the cameras this process runs), the thread's
first job, retried like an event until the store answers, is
:meth:`OrderService.end_left_open`: the events an earlier process left open on those
cameras are ended (reason ``restart``) and their orders reconciled, before any new event
of this process is applied. ``on_ingested`` is told of every applied event and its order
(the live pipeline's event bus, for the API's stream).

The thread also records the service's clock in the store (when it starts, on every tick
and at the end: :func:`~gridsight.orders.store_clock.record_run_clock`), so that a store
written on the streams' clock is read on it afterwards (``gridsight orders``, ``report``,
``serve --no-engine``).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from gridsight.core.config import OrdersConfig, load_township
from gridsight.core.errors import GridsightError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.base import EventSink
from gridsight.orders.clock import StreamClock
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore
from gridsight.orders.store_clock import record_run_clock
from gridsight.orders.views import WorkOrderView

log = logging.getLogger(__name__)


class OrdersSink(EventSink):
    """Feeds hazard events to an :class:`OrderService` from a background thread.

    Args:
        service: the order service.
        tick_s: seconds between clock ticks.
        max_queue: events held while the store is slow or down.
        drain_s: how long ``close()`` waits for the queue to empty.
        stream_clock: the service's clock when it runs on the streams' time (``--fast``
            over files or the synthetic world): each event's wall time moves it forward
            before the event is applied. See :mod:`gridsight.orders.clock`.
        recover: cameras whose events left open by an earlier process are ended first
            (None: no recovery, e.g. a service that runs no cameras).
        on_ingested: called on the sink's thread with each applied event and the view of
            its order (or None); a failure is logged, never retried.

    Attributes:
        ingested: events applied to the store.
        dropped: events dropped because the queue was full.
        errors: failed attempts (store errors and rejected events).
        last_error: the latest error message, or None.
    """

    name: ClassVar[str] = "orders"

    def __init__(
        self,
        service: OrderService,
        *,
        tick_s: float = 1.0,
        max_queue: int = 10_000,
        drain_s: float = 30.0,
        stream_clock: StreamClock | None = None,
        recover: Iterable[str] | None = None,
        on_ingested: Callable[[HazardEvent, WorkOrderView | None], None] | None = None,
    ) -> None:
        self.service = service
        self.recover = None if recover is None else tuple(recover)
        self.recovered: list[WorkOrderView] | None = None  # set once recovery ran
        self.on_ingested = on_ingested
        self.stream_clock = stream_clock
        self.tick_s = tick_s
        self.max_queue = max_queue
        self.drain_s = drain_s
        self.ingested = 0
        self.dropped = 0
        self.errors = 0
        self.last_error: str | None = None
        self.orders: dict[str, WorkOrderView] = {}  # latest view of each order touched
        self._queue: collections.deque[HazardEvent] = collections.deque()
        self._cond = threading.Condition()
        self._stop = False
        self._clock_recorded = False
        self._thread = threading.Thread(target=self._work, name="orders-sink", daemon=True)
        self._thread.start()

    # -- the engine's side ---------------------------------------------------------------

    def write(self, event: HazardEvent) -> None:
        """Queue one event (never blocks)."""
        with self._cond:
            if len(self._queue) >= self.max_queue and not self._make_room(event):
                return
            self._queue.append(event)
            self._cond.notify()

    def _make_room(self, event: HazardEvent) -> bool:
        for i, queued in enumerate(self._queue):
            if queued.phase == "update":
                del self._queue[i]
                self.dropped += 1
                return True
        if event.phase == "update":
            self.dropped += 1
            return False
        lost = self._queue.popleft()
        self.dropped += 1
        log.error("orders queue full: dropped %s event %s", lost.phase, lost.id)
        return True

    def close(self) -> None:
        """Apply what is queued (up to ``drain_s``), tick once more and stop."""
        deadline = time.monotonic() + self.drain_s
        with self._cond:
            while self._queue and time.monotonic() < deadline and self._thread.is_alive():
                self._cond.wait(timeout=0.05)
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=max(deadline - time.monotonic(), 1.0))
        if self._queue:
            log.error("orders sink closed with %d events not applied", len(self._queue))

    @property
    def pending(self) -> int:
        """Events queued, not yet applied."""
        with self._cond:
            return len(self._queue)

    # -- the worker thread ---------------------------------------------------------------

    def _recover(self) -> None:
        """End what an earlier process left open, retrying while the store is down."""
        pause = 0.25
        while self.recover is not None and self.recovered is None:
            # On the streams' clock "now" is unknown until the first event: the records
            # are written at the events' last known time instead.
            now = None if self.stream_clock is not None else self.service.clock()
            try:
                self.recovered = self.service.end_left_open(self.recover, now=now)
            except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
                self._failed(f"recovery: store unavailable: {getattr(exc, 'orig', exc)}")
            except Exception as exc:  # never let the thread die: go on without recovery
                log.exception("orders sink: recovery failed")
                self._failed(f"recovery: {type(exc).__name__}: {exc}")
                return
            else:
                for view in self.recovered:
                    self.orders[view.id] = view
                if self.recovered:
                    log.warning(
                        "ended the events an earlier process left open: %d order(s) reconciled",
                        len(self.recovered),
                    )
                return
            with self._cond:
                if self._stop:
                    return
                self._cond.wait(timeout=pause)
            pause = min(pause * 2, 10.0)

    def _work(self) -> None:
        self._record_clock(first=True)
        self._recover()
        next_tick = time.monotonic() + self.tick_s
        pause = 0.0
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    wait = next_tick - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(timeout=wait)
                if self._stop and not self._queue:
                    break
                event = self._queue[0] if self._queue else None
            if event is not None:
                if pause:
                    time.sleep(pause)
                if self._apply(event):
                    pause = 0.0
                    with self._cond:
                        if self._queue and self._queue[0] is event:
                            self._queue.popleft()
                        self._cond.notify_all()
                else:
                    pause = min(max(pause * 2, 0.25), 10.0)
            if time.monotonic() >= next_tick:
                self._tick()
                next_tick = time.monotonic() + self.tick_s
        self._tick()

    def _apply(self, event: HazardEvent) -> bool:
        """Ingest one event; False when it should be retried (the store failed)."""
        if self.stream_clock is not None:
            # wall_time: validated ISO 8601 (HazardEvent); ts puts every camera on one
            # timeline (their worlds or recordings may show different times of day).
            self.stream_clock.observe(event.wall_time, event.ts)
        try:
            view = self.service.ingest_event(event)
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            self._failed(f"store unavailable: {exc.orig if hasattr(exc, 'orig') else exc}")
            return False
        except GridsightError as exc:
            self._failed(f"event {event.id} rejected: {exc}")
            return True  # a bad event stays bad: skip it
        except Exception as exc:  # never let the thread die; the event is skipped
            log.exception("orders sink: unexpected error on event %s", event.id)
            self._failed(f"event {event.id}: {type(exc).__name__}: {exc}")
            return True
        self.ingested += 1
        if view is not None:
            self.orders[view.id] = view
        if self.on_ingested is not None:
            try:
                self.on_ingested(event, view)
            except Exception:  # a listener must not make the event look failed
                log.exception("orders sink: on_ingested listener failed")
        return True

    def _tick(self) -> None:
        try:
            for view in self.service.tick():
                self.orders[view.id] = view
        except Exception as exc:
            self._failed(f"tick: {type(exc).__name__}: {exc}")
        self._record_clock()

    def _record_clock(self, *, first: bool = False) -> None:
        """Record the service's clock in the store: a stream clock's time moves, so on
        every tick; the machine's clock once (a failed first try is made again)."""
        clock = self.service.clock
        if not first and self._clock_recorded and not isinstance(clock, StreamClock):
            return
        try:
            record_run_clock(self.service.store, clock)
        except Exception as exc:
            self._failed(f"recording the clock: {type(exc).__name__}: {exc}")
            return
        self._clock_recorded = True

    def _failed(self, message: str) -> None:
        self.errors += 1
        self.last_error = message
        log.warning("orders sink: %s", message)

    def stats(self) -> dict[str, Any]:
        """Counters for status views."""
        return {
            "ingested": self.ingested,
            "pending": self.pending,
            "dropped": self.dropped,
            "errors": self.errors,
            "last_error": self.last_error,
            "orders": len(self.orders),
        }


def open_orders_sink(
    db: str,
    config: str | Path,
    *,
    channels: Sequence[str] = (),
    ack_secret: str | None = None,
    settings: OrdersConfig | None = None,
    tick_s: float = 1.0,
    stream_time: bool = False,
) -> OrdersSink:
    """The store at ``db`` (migrated), a service over the township ``config``, and its sink.

    With ``stream_time`` the service runs on the events' clock (:class:`StreamClock`):
    shifts, acknowledgement time-outs and SLA clocks follow the streams' time of day
    instead of the machine's, as a run over recordings or the synthetic world needs.
    ``sink.service.store.engine`` is the engine an outbox relay delivers from.
    """
    town = load_township(config)
    clock = StreamClock() if stream_time else None
    svc = OrderService(
        OrderStore.open(db),
        town,
        channels=channels,
        ack_secret=ack_secret,
        settings=settings,
        clock=clock or time.time,
    )
    return OrdersSink(svc, tick_s=tick_s, stream_clock=clock)
