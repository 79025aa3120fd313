"""Read-only views of orders and transitions, filters and pages: what the service returns.

Plain frozen dataclasses built from rows; ``to_dict()`` gives the JSON shape the REST
API and the notification payloads use.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Generic, TypeVar

from gridsight.orders.errors import OrderError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TransitionView:
    """One record of an order's audit trail.

    A record whose ``from_state`` equals its ``to_state`` is an annotation, not a state
    change (an SLA breach, the camera confirming clearance of an order not yet resolved):
    ``data["event"]`` says which.
    """

    seq: int
    from_state: str | None
    to_state: str
    actor: str
    actor_role: str
    at: float
    note: str | None = None
    photo: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TransitionView:
        """From a ``transitions`` row."""
        return cls(
            seq=row["seq"],
            from_state=row["from_state"],
            to_state=row["to_state"],
            actor=row["actor"],
            actor_role=row["actor_role"],
            at=row["at"],
            note=row["note"],
            photo=row["photo"],
            data=json.loads(row["data"]) if row["data"] else {},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``from``/``to`` as in the notification payload)."""
        return {
            "seq": self.seq,
            "from": self.from_state,
            "to": self.to_state,
            "actor": self.actor,
            "actor_role": self.actor_role,
            "at": self.at,
            "note": self.note,
            "photo": self.photo,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class WorkOrderView:
    """A work order as stored (one ``work_orders`` row), with its transitions if asked."""

    id: str
    source: str
    kind: str
    state: str
    camera: str | None
    event_id: str | None
    village: str
    grid: str
    x_km: float | None
    y_km: float | None
    priority: int
    tier: int
    assignee: str | None
    tried: tuple[str, ...]
    title: str
    description: str
    created_at: float
    dispatched_at: float | None
    acknowledged_at: float | None
    on_site_at: float | None
    resolved_at: float | None
    closed_at: float | None
    dispatch_due_at: float
    close_due_at: float
    sla_dispatch: str
    sla_close: str
    cleared_at: float | None
    version: int
    updated_at: float
    ack_due_at: float | None = None
    escalations: int = 0
    supervisor: str | None = None
    hazard_active: bool = False
    transitions: tuple[TransitionView, ...] = ()

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], transitions: Sequence[TransitionView] = ()
    ) -> WorkOrderView:
        """From a ``work_orders`` row (extra columns such as ``open_key`` are ignored)."""
        names = {f.name for f in fields(cls)} - {"tried", "transitions", "hazard_active"}
        kw: dict[str, Any] = {n: row[n] for n in names}
        return cls(
            **kw,
            tried=tuple(json.loads(row["tried"] or "[]")),
            hazard_active=bool(row["hazard_active"]),
            transitions=tuple(transitions),
        )

    @property
    def is_open(self) -> bool:
        """Still being worked on."""
        from gridsight.orders.states import OPEN_STATES

        return self.state in OPEN_STATES

    def to_dict(self, *, with_transitions: bool = True) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        out["tried"] = list(self.tried)
        if with_transitions:
            out["transitions"] = [t.to_dict() for t in self.transitions]
        else:
            out.pop("transitions")
        return out


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which orders :meth:`OrderService.list` returns (every field optional, AND-ed).

    Attributes:
        states: only these states.
        open_only: only open orders (overrides nothing: AND-ed with ``states``).
        kind: hazard id or request kind.
        source: ``camera``, ``resident`` or ``operator``.
        village: village id.
        grid: grid id.
        camera: camera id.
        assignee: worker id.
        since: created at or after (epoch s).
        until: created before (epoch s).
        overdue_at: only open orders past a due time at this instant (not yet
            dispatched after the dispatch due time, or past the closure due time).
    """

    states: tuple[str, ...] = ()
    open_only: bool = False
    kind: str | None = None
    source: str | None = None
    village: str | None = None
    grid: str | None = None
    camera: str | None = None
    assignee: str | None = None
    since: float | None = None
    until: float | None = None
    overdue_at: float | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results, newest first; ``next_cursor`` fetches the next (None: last page)."""

    items: tuple[T, ...]
    next_cursor: str | None = None


class BadCursor(OrderError):
    """A pagination cursor that this service did not hand out."""


def encode_cursor(created_at: float, order_id: str) -> str:
    """An opaque cursor after the order (``created_at``, ``id``)."""
    raw = json.dumps([created_at, order_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The (``created_at``, ``id``) a cursor points after.

    Raises:
        BadCursor: the cursor is malformed.
    """
    try:
        pad = "=" * (-len(cursor) % 4)
        created_at, order_id = json.loads(base64.urlsafe_b64decode(cursor + pad))
        return float(created_at), str(order_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor(f"cursor {cursor!r} is not one this service handed out") from exc
