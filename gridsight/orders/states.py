"""The work-order state machine: ONE table of allowed transitions and who may make each.

The states follow the digital city-management case flow townships already run
(capture -> verify and file -> dispatch -> handle -> report back -> check and close)::

    new --verify--> verified --dispatch--> dispatched --ack--> acknowledged --> on_site
     |                 |                     |   ^                                  |
     |                 |                     v   | (reassigned)                     v
     +-> rejected      +-> cancelled       escalated                            resolved
     +-> duplicate                                                                |   |
     +-> cancelled (the hazard cleared before anyone went)             closed <---+   |
                                                                         |            |
                                  reopened <--(hazard back soon after)---+------------+
                                     +--> dispatched | cancelled

Roles: ``system`` (the service itself: auto-verification, dispatch, ack time-outs, SLA
breaches, camera-confirmed clearance), ``operator`` (command-centre staff), ``worker``
(only the worker the order is assigned to), ``supervisor`` and ``admin``.

A worker's phone may report a step for them through an operator (a phone call): the
operator and above may make every field step on a worker's behalf.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

State = Literal[
    "new",
    "verified",
    "rejected",
    "duplicate",
    "dispatched",
    "acknowledged",
    "on_site",
    "resolved",
    "closed",
    "cancelled",
    "escalated",
    "reopened",
]
Role = Literal["system", "operator", "worker", "supervisor", "admin"]

STATES: Final[tuple[str, ...]] = (
    "new",
    "verified",
    "rejected",
    "duplicate",
    "dispatched",
    "acknowledged",
    "on_site",
    "resolved",
    "closed",
    "cancelled",
    "escalated",
    "reopened",
)
ROLES: Final[tuple[str, ...]] = ("system", "operator", "worker", "supervisor", "admin")

# Who may act, in shorthand for the table below.
_SYS = ("system",)
_DESK = ("operator", "supervisor", "admin")  # command-centre people
_SYS_DESK = _SYS + _DESK
_FIELD = ("worker", *_DESK)  # the assigned worker, or the centre on their behalf
_SENIOR = ("supervisor", "admin")


@dataclass(frozen=True, slots=True)
class Transition:
    """One allowed transition.

    Attributes:
        source: the state the order is in.
        target: the state it moves to.
        roles: who may make it.
        means: what it stands for in the case flow (shown in help and audit views).
    """

    source: str
    target: str
    roles: tuple[str, ...]
    means: str


TRANSITIONS: Final[tuple[Transition, ...]] = (
    # capture -> verify and file
    Transition("new", "verified", _SYS_DESK, "alert confirmed (automatically, or an operator)"),
    Transition("new", "rejected", _DESK, "false alarm"),
    Transition("new", "duplicate", _SYS_DESK, "the same case is already open"),
    Transition("new", "cancelled", _SYS_DESK, "the hazard cleared before anyone went"),
    Transition("rejected", "verified", _SENIOR, "rejection overruled"),
    Transition("duplicate", "verified", _SENIOR, "not a duplicate after all"),
    # dispatch
    Transition("verified", "dispatched", _SYS_DESK, "a worker was chosen and notified"),
    Transition("verified", "cancelled", _SYS_DESK, "the hazard cleared before anyone went"),
    Transition("dispatched", "acknowledged", _FIELD, "the worker took the order"),
    Transition("dispatched", "escalated", _SYS_DESK, "no acknowledgement in time, or reassigned"),
    Transition("dispatched", "cancelled", _SYS_DESK, "the hazard cleared before anyone went"),
    Transition("escalated", "dispatched", _SYS_DESK, "reassigned to the next tier"),
    Transition("escalated", "cancelled", _SYS_DESK, "the hazard cleared before anyone went"),
    Transition("acknowledged", "escalated", _DESK, "the worker cannot go: reassign"),
    # handle -> report back
    Transition("acknowledged", "on_site", _FIELD, "the worker arrived"),
    Transition("on_site", "resolved", _FIELD, "handled, reported back (note, photo)"),
    # check and close
    Transition("resolved", "closed", _SYS_DESK, "checked (or the camera confirms clearance)"),
    Transition("resolved", "reopened", _SYS_DESK, "check failed, or the hazard came back"),
    Transition("closed", "reopened", _SYS_DESK, "the hazard came back soon after closure"),
    Transition("cancelled", "reopened", _SYS_DESK, "the hazard came back soon after clearing"),
    Transition("reopened", "dispatched", _SYS_DESK, "dispatched again"),
    Transition("reopened", "cancelled", _SYS_DESK, "the hazard cleared before anyone went"),
)

_BY_PAIR: Final[Mapping[tuple[str, str], Transition]] = {
    (t.source, t.target): t for t in TRANSITIONS
}

# States in which an order is still being worked on (it holds its camera + hazard, so a
# repeat alert attaches to it, and its assignee counts as busy while dispatched..on_site).
OPEN_STATES: Final[frozenset[str]] = frozenset(
    {"new", "verified", "dispatched", "escalated", "acknowledged", "on_site", "resolved"}
    | {"reopened"}
)
# States whose assignee is committed to the order (not available for another).
BUSY_STATES: Final[frozenset[str]] = frozenset({"dispatched", "acknowledged", "on_site"})
# States waiting for a worker to be chosen.
QUEUED_STATES: Final[frozenset[str]] = frozenset({"verified", "escalated", "reopened"})
# States that stop the clocks without the order having been handled.
VOID_STATES: Final[frozenset[str]] = frozenset({"rejected", "duplicate", "cancelled"})


def transition(source: str, target: str) -> Transition | None:
    """The allowed transition from ``source`` to ``target``, or None."""
    return _BY_PAIR.get((source, target))


def allowed_targets(source: str, role: str | None = None) -> list[str]:
    """States reachable from ``source`` (by ``role``, if given), in table order."""
    return [
        t.target for t in TRANSITIONS if t.source == source and (role is None or role in t.roles)
    ]


def check_state(value: str) -> str:
    """``value`` if it is a state, else ValueError listing the states."""
    if value not in STATES:
        raise ValueError(f"unknown state {value!r}; states: {', '.join(STATES)}")
    return value


def check_role(value: str) -> str:
    """``value`` if it is a role, else ValueError listing the roles."""
    if value not in ROLES:
        raise ValueError(f"unknown role {value!r}; roles: {', '.join(ROLES)}")
    return value
