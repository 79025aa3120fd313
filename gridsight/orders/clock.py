"""The cameras' clock, for an order service fed from recorded or synthetic streams.

A live deployment runs its work orders on the wall clock. A run over files or the
synthetic world in ``--fast`` mode does not: its events carry the *stream's* wall time
(the synthetic world's morning, a recording's afternoon) and come much faster than real
time. Dispatch there must see the stream's time of day (who is on shift), or a demo run
at night would hand every alert to the village cadres. :class:`StreamClock` is that
clock: the latest event wall time seen, advanced by real time since it was seen (so
acknowledgement time-outs and SLA clocks still run between events and after the last).

Example:
    >>> clock = StreamClock(now=lambda: 100.0)
    >>> clock.observe("2026-03-01T07:00:00+08:00")
    >>> clock() == 1772319600.0
    True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime


class StreamClock:
    """Epoch seconds on the streams' clock (callable, thread-safe, never goes back).

    Args:
        now: a monotonic clock in seconds (injected in tests).

    Before the first event it is the wall clock.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._base: float | None = None  # stream epoch seconds at ``_at``
        self._at = 0.0
        self._wall_at = 0.0  # the machine's epoch seconds at ``_at``

    def observe(self, wall_time: str | float) -> None:
        """An event's wall time (ISO 8601 or epoch seconds) moves the clock forward."""
        epoch = (
            float(wall_time)
            if isinstance(wall_time, int | float)
            else datetime.fromisoformat(wall_time).timestamp()
        )
        with self._lock:
            mono = self._now()
            if self._base is None or epoch > self._base + (mono - self._at):
                self._base, self._at, self._wall_at = epoch, mono, time.time()

    def at_wall(self, machine_epoch: float) -> float:
        """The stream time at a moment of the machine's clock (e.g. when a notification
        arrived), so it can be compared with the orders' times."""
        with self._lock:
            if self._base is None:
                return machine_epoch
            return self._base + (machine_epoch - self._wall_at)

    def __call__(self) -> float:
        with self._lock:
            if self._base is None:
                return time.time()
            return self._base + (self._now() - self._at)
