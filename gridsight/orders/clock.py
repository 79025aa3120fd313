"""The cameras' clock, for an order service fed from recorded or synthetic streams.

A live deployment runs its work orders on the wall clock. A run over files or the
synthetic world in ``--fast`` mode does not: its events carry the *stream's* wall time
(the synthetic world's morning, a recording's afternoon) and come much faster than real
time. Dispatch there must see the stream's time of day (who is on shift), or a demo run
at night would hand every alert to the village cadres. :class:`StreamClock` is that
clock: the latest event wall time seen, advanced by real time since it was seen (so
acknowledgement time-outs and SLA clocks still run between events and after the last).

The cameras of one run need not show the same time of day: each synthetic world draws
its own (the demo's twelve span 03:00 to 18:00), recordings start when they were made.
Taken as they come, an order of a camera whose world is hours behind the others would be
stamped hours before them (and breached at once when the next camera's event moved the
clock on), or absorbed at the others' time, depending on which camera's event came
first. Given the events' stream time (``ts``, seconds since the camera's stream began,
which all began with the run), the clock is one timeline: the run's stream time from
where the first event's stream began (its wall time minus its ``ts``).

Example:
    >>> clock = StreamClock(now=lambda: 100.0)
    >>> clock.observe("2026-03-01T07:00:00+08:00")
    >>> clock() == 1772319600.0
    True
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from datetime import datetime

#: Anchors kept for :meth:`StreamClock.at_wall` (older moments map through the oldest).
MAX_ANCHORS = 4096


class StreamClock:
    """Epoch seconds on the streams' clock (callable, thread-safe, never goes back).

    Args:
        now: a monotonic clock in seconds (injected in tests).
        wall: the machine's epoch clock (injected in tests).

    Before the first event it is the wall clock.
    """

    def __init__(
        self, now: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
    ) -> None:
        self._now = now
        self._wall = wall
        self._lock = threading.Lock()
        # Every time the clock was moved, in order: the machine's epoch seconds and the
        # stream's then (so a past moment maps through the anchor of its time); the
        # monotonic time of the latest move, ``_at``, runs the clock between events.
        self._walls: list[float] = []
        self._bases: list[float] = []
        self._at = 0.0
        self._origin: float | None = None  # where the streams began (with ``ts``)

    def observe(self, wall_time: str | float, ts: float | None = None) -> None:
        """An event's wall time (ISO 8601 or epoch seconds) moves the clock forward; with
        its stream time ``ts``, to ``ts`` on the run's timeline (see the module docstring).
        """
        epoch = (
            float(wall_time)
            if isinstance(wall_time, int | float)
            else datetime.fromisoformat(wall_time).timestamp()
        )
        with self._lock:
            if ts is not None:
                if self._origin is None:
                    self._origin = epoch - ts
                epoch = self._origin + ts
            mono = self._now()
            if not self._bases or epoch > self._bases[-1] + (mono - self._at):
                self._at = mono
                self._walls.append(self._wall())
                self._bases.append(epoch)
                if len(self._walls) > 2 * MAX_ANCHORS:
                    del self._walls[:-MAX_ANCHORS], self._bases[:-MAX_ANCHORS]

    def at_wall(self, machine_epoch: float) -> float:
        """The stream time at a moment of the machine's clock (e.g. when a notification
        arrived), so it can be compared with the orders' times.

        The moment maps through the clock as it stood *then* (the last event seen before
        it, plus real time since), not as it stands now: in ``--fast`` the stream runs
        ahead of real time, and a notification that arrived at once after an early
        alarm would otherwise look minutes late when read at the end of the run.
        """
        with self._lock:
            if not self._walls:
                return machine_epoch
            k = max(0, bisect.bisect_right(self._walls, machine_epoch) - 1)
            return self._bases[k] + (machine_epoch - self._walls[k])

    def __call__(self) -> float:
        with self._lock:
            if not self._bases:
                return self._wall()
            return self._bases[-1] + (self._now() - self._at)
