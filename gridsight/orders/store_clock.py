"""The clock a store's orders were written on, recorded with them and read back.

A run over files or the synthetic world (``gridsight demo``, ``gridsight run`` without
``--realtime``) writes its orders on the streams' clock (:class:`StreamClock`): the
demo's orders carry the synthetic world's date, months away from the machine's. Read on
the machine's clock afterwards, every order of such a store looks thousands of hours old
and "today" has none of them. So the run records its clock in the store (the
``store_clock`` table: the kind and its latest stream time), and whoever reads the store
later (``gridsight orders``, ``gridsight report``, ``gridsight serve --no-engine``) reads
it on that clock: :class:`StoreClock` is the run's last stream time on a stream-clock
store and the machine's clock otherwise.

The recording is :func:`record_run_clock`, which :class:`~gridsight.orders.sink.OrdersSink`
calls from its own thread when it starts, on every tick and when it closes: any run that
feeds its orders through the sink records its clock without further wiring. The run that
last wrote a store decides its clock (a wall-clock run over a demo's store makes it a
wall-clock store again).

Example:
    >>> from gridsight.orders.store import OrderStore
    >>> store = OrderStore.open(":memory:")
    >>> record_run_clock(store, lambda: 1.7e9)  # a plain callable: the machine's clock
    >>> read_clock(store).kind
    'wall'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gridsight.orders.clock import StreamClock
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import store_clock

ClockKind = Literal["stream", "wall"]
_ROW = 1  # the table holds one row


@dataclass(frozen=True, slots=True)
class RecordedClock:
    """The clock of the run that last wrote a store.

    Attributes:
        kind: ``stream`` (the events' time) or ``wall`` (the machine's).
        stream_time: the run's latest stream time (epoch s); None on the wall clock.
        recorded_at: when it was recorded (the machine's epoch s).
    """

    kind: ClockKind
    stream_time: float | None
    recorded_at: float

    @property
    def is_stream(self) -> bool:
        """Whether the store's orders are on a stream's clock."""
        return self.kind == "stream" and self.stream_time is not None


def record_clock(
    store: OrderStore, kind: ClockKind, stream_time: float | None, *, at: float | None = None
) -> None:
    """Record the clock of the run writing ``store`` (replaces the previous record)."""
    values = {
        "kind": kind,
        "stream_time": stream_time if kind == "stream" else None,
        "recorded_at": time.time() if at is None else at,
    }
    with store.begin() as conn:
        done = conn.execute(
            sa.update(store_clock).where(store_clock.c.id == _ROW).values(**values)
        ).rowcount
        if not done:
            conn.execute(sa.insert(store_clock).values(id=_ROW, **values))


def record_run_clock(store: OrderStore, clock: Callable[[], float]) -> None:
    """Record the clock an order service runs on: a :class:`StreamClock` is ``stream`` at
    its current time, a :class:`StoreClock` nothing (it reads the record: ``serve
    --no-engine`` over a demo's store must leave it as the demo wrote it), anything else
    the machine's clock."""
    if isinstance(clock, StoreClock):
        return
    if isinstance(clock, StreamClock):
        record_clock(store, "stream", clock())
    else:
        record_clock(store, "wall", None)


def read_clock(store: OrderStore) -> RecordedClock | None:
    """The recorded clock of ``store``; None when no run recorded one."""
    with store.read() as conn:
        row = conn.execute(sa.select(store_clock).where(store_clock.c.id == _ROW)).first()
    if row is None:
        return None
    kind: ClockKind = "stream" if row.kind == "stream" else "wall"
    return RecordedClock(kind, row.stream_time, row.recorded_at)


class StoreClock:
    """Epoch seconds on the clock of the run that wrote a store (callable, thread-safe).

    On a stream-clock store it is the run's latest recorded stream time, as the run saw
    it (it moves while the run still writes, not after); otherwise the machine's clock.
    The record is read again at most every ``refresh_s`` seconds.

    Args:
        store: the order store.
        wall: the machine's clock (injected in tests).
        refresh_s: how long a read record is trusted.
        monotonic: the clock of the refresh (injected in tests).
    """

    def __init__(
        self,
        store: OrderStore,
        *,
        wall: Callable[[], float] = time.time,
        refresh_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._wall = wall
        self._refresh_s = refresh_s
        self._mono = monotonic
        self._read_at: float | None = None
        self._record: RecordedClock | None = None

    @property
    def recorded(self) -> RecordedClock | None:
        """The store's recorded clock (re-read when older than ``refresh_s``)."""
        now = self._mono()
        if self._read_at is None or now - self._read_at >= self._refresh_s:
            self._record = read_clock(self._store)
            self._read_at = now
        return self._record

    @property
    def kind(self) -> ClockKind:
        """``stream`` when the store's orders are read on a stream's clock."""
        rec = self.recorded
        return "stream" if rec is not None and rec.is_stream else "wall"

    def __call__(self) -> float:
        rec = self.recorded
        if rec is not None and rec.is_stream and rec.stream_time is not None:
            return rec.stream_time
        return self._wall()

    def note(self, zone: ZoneInfo) -> str | None:
        """A line telling the reader that the times are the stream's, or None."""
        rec = self.recorded
        if rec is None or not rec.is_stream or rec.stream_time is None:
            return None
        return stream_time_note(rec.stream_time, zone)


def stream_time_note(stream_time: float, zone: ZoneInfo) -> str:
    """The note shown with orders read on a stream's clock."""
    at = datetime.fromtimestamp(stream_time, zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    return (
        f"Stream time: this store was written on its cameras' clock (the synthetic world's "
        f"or a recording's), not this machine's: ages, countdowns and 'today' are as the run "
        f"saw them at its last stream time, {at}."
    )
