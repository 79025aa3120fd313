"""The ``orders:`` section of a township YAML: settings of the live work-order loop (SLA
clocks, verification, reopening, roster shifts), used by :mod:`gridsight.orders`.

::

    orders:
      timezone: Asia/Shanghai        # shifts and "today" are local time
      policy: grid_owner_first       # a gridsight.core.dispatch policy name
      sla: {dispatch_s: 60, close_min: 55}   # docs/deployment.md#the-reservoir-case
      ack_timeout_s: 120             # no acknowledgement -> escalate a tier
      reopen_min: 30                 # the hazard back within 30 min reopens the order
      supervisor: {id: duty-chief, name: 值班长, channel: ops-webhook}
      hazards:
        near_water: {auto_verify: true}          # life-critical: dispatch at once
        vending: {close_min: 90, auto_verify: false}
      staffing:                      # shifts and travel modes per role
        grid_worker: {shift_h: [8, 18], mode: ebike}
        cadre: {shift_h: [0, 24], mode: car}

Every field has a default, so a township file without the section works as is. The
staffing defaults are the simulator's (``gridsight.governance_sim.scenario.StaffingSpec``):
a test keeps the two equal. The models are pure config (no service code), so the core
:class:`~gridsight.core.config.Township` carries them as its ``orders`` field.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from gridsight.core.config.base import Id, StrictModel

Mode = Literal["walk", "ebike", "car"]


class SlaSettings(StrictModel):
    """The two clocks every order runs, counted from the alarm (order creation)."""

    dispatch_s: float = Field(default=60.0, gt=0, description="alarm -> first worker notified")
    close_min: float = Field(default=55.0, gt=0, description="alarm -> case closed, minutes")


class HazardOrders(StrictModel):
    """How orders of one hazard (or resident request kind) are handled."""

    auto_verify: bool = Field(
        default=False, description="verified (and dispatched) at once, without an operator"
    )
    priority: int = Field(default=10, description="higher is more urgent")
    dispatch_s: float | None = Field(default=None, gt=0, description="overrides sla.dispatch_s")
    close_min: float | None = Field(default=None, gt=0, description="overrides sla.close_min")
    reopen_min: float | None = Field(default=None, ge=0, description="overrides reopen_min")
    cancel_on_clear: bool = Field(
        default=True,
        description="cancel a not-yet-dispatched order when the camera stops seeing the hazard",
    )


class Supervisor(StrictModel):
    """Who is told when an SLA clock is breached."""

    id: Id
    name: str = Field(min_length=1)
    channel: str | None = Field(
        default=None, description="notify channel to reach them (default: every channel)"
    )
    phone: str | None = Field(
        default=None,
        pattern=r"^\+?[0-9][0-9 -]{2,30}$",
        description="a phone number grid workers may call for help (shown on their page)",
    )


class RoleShift(StrictModel):
    """Shift and travel mode of one role (as the simulator's ``staffing.<role>``)."""

    shift_h: tuple[float, float] = (8.0, 18.0)
    mode: Mode = "ebike"
    night_share: float = Field(default=0.0, ge=0, le=1, description="share on the night shift")
    night_shift_h: tuple[float, float] = (18.0, 8.0)

    @field_validator("shift_h", "night_shift_h")
    @classmethod
    def _hours(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not (0 <= v[0] <= 24 and 0 <= v[1] <= 24):
            raise ValueError(f"shift hours must be within [0, 24], got {list(v)}")
        return v


class Staffing(StrictModel):
    """Shifts and modes per role; defaults equal the simulator's."""

    grid_worker: RoleShift = Field(default_factory=RoleShift)
    micro_grid_worker: RoleShift = Field(default_factory=lambda: RoleShift(mode="walk"))
    cadre: RoleShift = Field(default_factory=lambda: RoleShift(shift_h=(0.0, 24.0), mode="car"))
    volunteer: RoleShift = Field(
        default_factory=lambda: RoleShift(shift_h=(7.0, 21.0), mode="walk")
    )


def _default_hazards() -> dict[str, HazardOrders]:
    # A person near the water is life-critical: notified within a minute (the reservoir
    # case, docs/deployment.md#the-reservoir-case).
    return {"near_water": HazardOrders(auto_verify=True, priority=20)}


def _default_requests() -> dict[str, HazardOrders]:
    # Residents' requests (the grid QR code 2.0 "ask / anti-fraud / service by code" and the
    # 12345 hotline) are triaged by an operator and rank below camera alerts.
    return {
        "qr_ask": HazardOrders(priority=1, close_min=24 * 60.0),
        "qr_fraud": HazardOrders(priority=5, close_min=120.0),
        "qr_service": HazardOrders(priority=1, close_min=3 * 24 * 60.0),
        "hotline_12345": HazardOrders(priority=2, close_min=3 * 24 * 60.0),
    }


class OrdersConfig(StrictModel):
    """The ``orders:`` section (see the module docstring)."""

    timezone: str = Field(default="Asia/Shanghai", description="IANA zone of shifts and days")
    policy: str = Field(default="grid_owner_first", description="dispatch policy name")
    sla: SlaSettings = Field(default_factory=SlaSettings)
    ack_timeout_s: float = Field(
        default=120.0, gt=0, description="no acknowledgement within this -> escalate a tier"
    )
    reopen_min: float = Field(
        default=30.0, ge=0, description="the hazard back within this after closure reopens"
    )
    supervisor: Supervisor | None = None
    hazards: dict[Id, HazardOrders] = Field(default_factory=_default_hazards)
    requests: dict[Id, HazardOrders] = Field(default_factory=_default_requests)
    staffing: Staffing = Field(default_factory=Staffing)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name such as 'Asia/Shanghai'"
            ) from exc
        return v

    @property
    def zone(self) -> ZoneInfo:
        """The time zone object."""
        return ZoneInfo(self.timezone)

    def for_kind(self, kind: str, *, request: bool = False) -> HazardOrders:
        """Settings of a hazard id (or, with ``request``, a request kind); defaults if unset."""
        table = self.requests if request else self.hazards
        found = table.get(kind)
        if found is not None:
            return found
        return HazardOrders(priority=1) if request else HazardOrders()

    def dispatch_due_s(self, kind: str, *, request: bool = False) -> float:
        """Seconds from creation to the dispatch deadline."""
        s = self.for_kind(kind, request=request).dispatch_s
        return self.sla.dispatch_s if s is None else s

    def close_due_s(self, kind: str, *, request: bool = False) -> float:
        """Seconds from creation to the closure deadline."""
        m = self.for_kind(kind, request=request).close_min
        return (self.sla.close_min if m is None else m) * 60.0

    def reopen_s(self, kind: str) -> float:
        """Seconds after closure within which the hazard coming back reopens the order."""
        m = self.for_kind(kind).reopen_min
        return (self.reopen_min if m is None else m) * 60.0


__all__ = [
    "HazardOrders",
    "Mode",
    "OrdersConfig",
    "RoleShift",
    "SlaSettings",
    "Staffing",
    "Supervisor",
]
