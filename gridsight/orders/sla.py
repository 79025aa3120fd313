"""SLA clocks of a work order: dispatch due at alarm + 60 s, closure at alarm + 55 min.

Each clock is ``ongoing`` until decided, then ``met`` or ``breached``; ``void`` when the
order ended without the clock applying (rejected as a false alarm, a duplicate, or
cancelled because the hazard cleared before anyone went). A breach is final: a late
dispatch stays breached however the order ends. A reopened order's closure clock runs
again against the same due time (it is the same case).

The functions are pure (a row in, the clock states out) so the service, the watch table
and the reports judge the clocks the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gridsight.orders.states import VOID_STATES

Clock = Literal["ongoing", "met", "breached", "void"]
CLOCK_STATES: tuple[str, ...] = ("ongoing", "met", "breached", "void")


@dataclass(frozen=True, slots=True)
class Clocks:
    """The two clock states of an order at some instant."""

    dispatch: str
    close: str


def dispatch_clock(row: Mapping[str, Any], now: float) -> str:
    """State of the dispatch clock (first notification of a worker)."""
    if row["sla_dispatch"] == "breached":
        return "breached"
    if row["dispatched_at"] is not None:
        return "met" if row["dispatched_at"] <= row["dispatch_due_at"] else "breached"
    if row["state"] in VOID_STATES:
        return "void"
    return "breached" if now > row["dispatch_due_at"] else "ongoing"


def close_clock(row: Mapping[str, Any], now: float) -> str:
    """State of the closure clock."""
    if row["sla_close"] == "breached":
        return "breached"
    if row["state"] == "closed" and row["closed_at"] is not None:
        return "met" if row["closed_at"] <= row["close_due_at"] else "breached"
    if row["state"] in VOID_STATES:
        return "void"
    return "breached" if now > row["close_due_at"] else "ongoing"


def clocks(row: Mapping[str, Any], now: float) -> Clocks:
    """Both clocks of an order row at ``now``."""
    return Clocks(dispatch_clock(row, now), close_clock(row, now))


def remaining_s(row: Mapping[str, Any], now: float) -> tuple[float | None, float | None]:
    """Seconds left on each clock that is still ongoing (negative once overdue), else None."""
    c = clocks(row, now)
    d = row["dispatch_due_at"] - now if c.dispatch == "ongoing" else None
    k = row["close_due_at"] - now if c.close == "ongoing" else None
    return d, k
