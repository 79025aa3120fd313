"""Request and response models of the work-order, worker and statistics endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from gridsight.core.config.base import StrictModel
from gridsight.orders.states import State

Clock = Literal["ongoing", "met", "breached", "void"]


#: Request bodies use the project's one strict base model: unknown fields are an error
#: naming the field, and a parsed body is immutable.
Strict = StrictModel


class Sla(BaseModel):
    """The two clocks of an order, counted from the alarm."""

    dispatch: Clock = Field(description="first worker notified within the dispatch target")
    close: Clock = Field(description="closed within the closure target")
    dispatch_due_at: float
    close_due_at: float
    dispatch_left_s: float | None = Field(description="seconds left (negative: overdue)")
    close_left_s: float | None
    overdue: bool = Field(description="an open order past a due time")


class TransitionOut(BaseModel):
    """One record of the audit trail (``from`` == ``to``: an annotation such as a note)."""

    model_config = ConfigDict(populate_by_name=True)

    seq: int
    from_state: str | None = Field(alias="from")
    to_state: str = Field(alias="to")
    actor: str
    actor_role: str
    at: float
    note: str | None
    photo_url: str | None
    data: dict[str, Any]


class WorkOrderOut(BaseModel):
    """A work order as listed (the fields of ``WorkOrderView`` it shares, by name)."""

    id: str
    state: str
    hazard: str = Field(description="hazard id (camera orders) or request kind")
    source: str
    camera: str | None
    event_id: str | None
    village: str
    grid: str
    x_km: float | None
    y_km: float | None
    priority: int
    tier: int
    assignee: str | None
    title: str
    description: str
    created_at: float
    dispatched_at: float | None
    acknowledged_at: float | None
    on_site_at: float | None
    resolved_at: float | None
    closed_at: float | None
    sla: Sla
    escalations: int
    hazard_active: bool = Field(
        default=False, description="a camera still sees the hazard (an event of it is open)"
    )
    cleared_at: float | None = Field(
        default=None, description="when the camera last saw the hazard clear (or restart)"
    )
    version: int
    updated_at: float
    dispatch_due_at: float
    close_due_at: float
    allowed: list[str] = Field(description="states the caller may move this order to")


class WorkOrderDetail(WorkOrderOut):
    """A work order with its audit trail."""

    transitions: list[TransitionOut]
    clip_url: str | None = Field(
        default=None,
        description="URL of the evidence clip (H.264 MP4) of the order's camera event, "
        "if one was written",
    )


class OrdersClock(BaseModel):
    """The clock the orders' countdowns and figures were computed on."""

    now: float = Field(description="now on the orders' clock, epoch s")
    stream_time: bool = Field(
        default=False,
        description="the store was written on a stream's clock (a demo, a recording): "
        "'now' and 'today' are the run's last stream time, not the machine's",
    )
    timezone: str | None = Field(
        default=None, description="the township's time zone (IANA), in which 'today' is"
    )


class WorkOrderPage(OrdersClock):
    """A page of work orders, newest first."""

    items: list[WorkOrderOut]
    next_cursor: str | None


def _moves() -> str:
    from gridsight.orders.states import STATES, allowed_targets

    rows = [f"{s} -> {' | '.join(allowed_targets(s))}" for s in STATES if allowed_targets(s)]
    return "; ".join(rows)


class TransitionIn(Strict):
    """Move an order to another state."""

    to: State = Field(
        description="the state to move to. Business rules (409 otherwise, naming the states "
        "allowed): the moves are " + _moves() + ". A worker account may only make the field "
        "steps (acknowledged, on_site, resolved) of an order assigned to it (403 otherwise)."
    )
    note: str | None = Field(default=None, max_length=2000)
    photo: str | None = Field(
        default=None,
        max_length=200,
        description="a name returned by POST /work-orders/{id}/photos (report-back)",
    )
    expected_version: StrictInt | None = Field(
        default=None, ge=0, description="the version read; 409 if the order changed since"
    )


class ManualOrderIn(Strict):
    """An order filed by an operator (a phone call, a patrol)."""

    kind: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="a hazard id or request kind of the township's orders settings; 422 otherwise",
    )
    village: str = Field(
        min_length=1,
        max_length=64,
        description="a village id of the township config (GET /api/v1/township); 422 otherwise",
    )
    grid: str = Field(
        min_length=1,
        max_length=64,
        description="a grid id of that village (GET /api/v1/township); 422 otherwise",
    )
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=4000)
    x_km: StrictFloat | None = Field(default=None, ge=-1000, le=1000)
    y_km: StrictFloat | None = Field(default=None, ge=-1000, le=1000)


class NoteIn(Strict):
    """A note on the audit trail (no state change)."""

    note: str = Field(min_length=1, max_length=2000)


class PhotoOut(BaseModel):
    """A stored report-back photo."""

    photo: str = Field(description="pass as 'photo' in the resolving transition")
    url: str
    bytes: int
    content_type: str


class Share(BaseModel):
    """``met`` of ``total`` decided clocks; ``share`` None when none is decided yet."""

    met: int
    total: int
    share: float | None


class OrderStats(OrdersClock):
    """Today's figures (local day of the township, on the orders' clock)."""

    since: float = Field(description="start of the local day, epoch s")
    orders: int
    open: int
    closed: int
    dispatch_within_sla: Share
    close_within_sla: Share


class WorkerOut(BaseModel):
    """A roster member and their live state."""

    id: str
    role: str
    village: str
    grid: str
    mode: str
    shift: list[float]
    on_duty: bool
    busy: bool
    x_km: float
    y_km: float
    position_at: float | None
    load: int
    open_orders: int


class PositionIn(Strict):
    """A worker's reported position (km in the town frame)."""

    x_km: StrictFloat = Field(ge=-1000, le=1000)
    y_km: StrictFloat = Field(ge=-1000, le=1000)
