"""Is the engine alive: its phase, why it is there, since when, and how often it restarted.

The engine's loop moves through the phases of :data:`PHASES`::

    starting -> running <-> restarting -> stopping -> stopped
                                 \\-> failed (the restart policy gave up, or the run raised)

:class:`HealthRecord` is the engine's mutable record (written on the loop's thread,
read from any other); :meth:`HealthRecord.snapshot` returns an immutable
:class:`EngineHealth`, which is what a service's ``/healthz`` and ``/readyz`` report.
The ``gridsight_engine_up`` gauge and ``gridsight_engine_restarts_total`` counter of
:class:`~gridsight.core.engine.metrics.EngineMetrics` follow the same record.

Example:
    >>> from gridsight.core.engine.metrics import EngineMetrics
    >>> record = HealthRecord(EngineMetrics(), clock=lambda: 100.0)
    >>> record.set("running", "4 cameras")
    >>> h = record.snapshot()
    >>> (h.phase, h.reason, h.since, h.up, h.restarts)
    ('running', '4 cameras', 100.0, True, 0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gridsight.core.engine.metrics import EngineMetrics

Phase = Literal["starting", "running", "restarting", "stopping", "stopped", "failed"]

#: Every phase of the engine, in life-cycle order.
PHASES: tuple[Phase, ...] = ("starting", "running", "restarting", "stopping", "stopped", "failed")


@dataclass(frozen=True, slots=True)
class EngineHealth:
    """The engine's health at one moment.

    Attributes:
        phase: one of :data:`PHASES`.
        reason: why it is in that phase, in words (the error that made it restart or
            fail, what stopped it, ...).
        since: unix time (seconds) of the last phase change.
        up: the loop is running (``phase == "running"``): frames are being analysed.
        restarts: how often the loop restarted after a failure, since the engine was built.
    """

    phase: Phase
    reason: str
    since: float
    up: bool
    restarts: int


class HealthRecord:
    """The engine's mutable health record; thread-safe.

    Args:
        metrics: whose ``engine_up`` gauge and ``engine_restarts`` counter follow it.
        clock: unix time (injectable).
    """

    def __init__(self, metrics: EngineMetrics, clock: Callable[[], float] = time.time) -> None:
        self._metrics = metrics
        self._clock = clock
        self._lock = threading.Lock()
        self._health = EngineHealth("starting", "not started yet", clock(), False, 0)
        metrics.engine_up.set(0)

    def set(self, phase: Phase, reason: str) -> None:
        """Move to ``phase`` (or, in the same phase, give a new reason)."""
        with self._lock:
            h = self._health
            since = h.since if phase == h.phase else self._clock()
            self._health = EngineHealth(phase, reason, since, phase == "running", h.restarts)
        self._metrics.engine_up.set(1 if phase == "running" else 0)

    def restarting(self, reason: str) -> int:
        """Count one restart and enter ``restarting``; returns the restarts so far."""
        with self._lock:
            h = self._health
            self._health = EngineHealth("restarting", reason, self._clock(), False, h.restarts + 1)
            restarts = self._health.restarts
        self._metrics.engine_up.set(0)
        self._metrics.engine_restarts.inc()
        return restarts

    def snapshot(self) -> EngineHealth:
        """The health now."""
        with self._lock:
            return self._health
