"""The simulation's parameters: one frozen value object, in seconds and kilometres.

The scenario YAML (``gridsight.governance_sim.scenario``) is validated with pydantic at
the edge and turned into a :class:`SimConfig`; everything inside the model reads only
these frozen dataclasses, which pickle cheaply to worker processes and Dask workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from gridsight.core.config.orders import OrdersConfig
from gridsight.core.roster import on_duty_at
from gridsight.governance_sim.roads import RoadNetwork

DistKind = Literal["const", "exp", "lognormal", "gamma", "uniform"]

HAZARDS: tuple[str, ...] = ("fire_lane", "ebike", "vending", "near_water")
ROLES: tuple[str, ...] = ("grid_worker", "micro_grid_worker", "cadre", "volunteer")
DAY_S = 86400.0
HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Dist:
    """A non-negative random duration (or quantity) given by its mean and coefficient of variation.

    Attributes:
        kind: ``const``, ``exp`` (cv is 1), ``lognormal``, ``gamma`` or ``uniform``
            (symmetric around the mean, ``cv`` sets the half-width).
        mean: mean value (seconds for durations).
        cv: coefficient of variation (standard deviation / mean).
    """

    kind: DistKind
    mean: float
    cv: float = 0.0

    @property
    def second_moment(self) -> float:
        """E[X^2] = mean^2 (1 + cv^2) (exp has cv 1)."""
        cv = 1.0 if self.kind == "exp" else (0.0 if self.kind == "const" else self.cv)
        return self.mean * self.mean * (1.0 + cv * cv)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws as a float64 array (always drawn, even for ``const``, so that
        switching a distribution never shifts another source's stream)."""
        m = self.mean
        if m <= 0.0:
            return np.zeros(n)
        if self.kind == "const" or (self.cv <= 0.0 and self.kind != "exp"):
            return np.full(n, m)
        if self.kind == "exp":
            return rng.exponential(m, n)
        if self.kind == "lognormal":
            s2 = math.log1p(self.cv * self.cv)
            return rng.lognormal(math.log(m) - s2 / 2.0, math.sqrt(s2), n)
        if self.kind == "gamma":
            shape = 1.0 / (self.cv * self.cv)
            return rng.gamma(shape, m / shape, n)
        half = min(self.cv * math.sqrt(3.0), 1.0) * m
        return rng.uniform(m - half, m + half, n)


class DrawBuffer:
    """Draws from a :class:`Dist` in blocks, handing them out one at a time.

    Per-event ``rng`` calls cost microseconds each; a block of 256 draws costs about
    the same as one, and the hot loop of the model calls this thousands of times. The
    values come in the order ``rng`` would have given them one by one, but a buffer
    draws ahead: two buffers (or a buffer and direct calls) on one generator therefore
    interleave by blocks, which is part of what a seed's results are.
    """

    __slots__ = ("_buf", "_dist", "_rng", "next")

    def __init__(self, dist: Dist, rng: np.random.Generator, block: int = 256) -> None:
        self._dist = dist
        self._rng = rng
        self._buf: list[float] = self._draw(block)  # the first block now, the next when due
        # The next draw: a generator's __next__, which costs a fraction of a method call.
        self.next: Callable[[], float] = self._values(block).__next__

    def _draw(self, n: int) -> list[float]:
        return self._dist.sample(self._rng, n).tolist()

    def _values(self, block: int) -> Iterator[float]:
        yield from self._buf
        while True:
            self._buf = self._draw(block)
            yield from self._buf


class NormalBuffer(DrawBuffer):
    """Normal(loc, scale) draws in blocks: the same values, in the same order, as
    ``rng.normal(loc, scale)`` called once per draw (for a generator nothing else uses)."""

    __slots__ = ("_loc", "_scale")

    def __init__(
        self, loc: float, scale: float, rng: np.random.Generator, block: int = 256
    ) -> None:
        self._loc = loc
        self._scale = scale
        super().__init__(Dist("const", 0.0), rng, block)

    def _draw(self, n: int) -> list[float]:
        return self._rng.normal(self._loc, self._scale, n).tolist()


@dataclass(frozen=True, slots=True)
class Grid:
    """A comprehensive grid: id, village, centre (km), a radius within which work lies,
    and what places residents' requests here (``weight``)."""

    id: str
    village: str
    x_km: float
    y_km: float
    radius_km: float = 0.6
    micro_grids: int = 4
    households: float | None = None

    @property
    def weight(self) -> float:
        """Share of residents' requests placed here (relative): the households where
        the scenario gives them, else the micro-grid count (a stand-in for population)."""
        return float(self.households) if self.households is not None else float(self.micro_grids)


@dataclass(frozen=True, slots=True)
class Worker:
    """A person who can be dispatched.

    Attributes:
        id: worker id.
        role: one of :data:`ROLES`.
        village: village served.
        grid: grid id ("" for village-wide roles: cadres, volunteers).
        x_km: home/office east coordinate.
        y_km: home/office north coordinate.
        mode: ``walk``, ``ebike`` or ``car``.
        shift: (start hour, end hour) of the daily shift; end < start wraps midnight;
            (0, 24) is always on duty.
        visits_per_day: household visits per day (other duties; the worker is away
            from the office at a random place of the grid for ``visit`` time each).
    """

    id: str
    role: str
    village: str
    grid: str
    x_km: float
    y_km: float
    mode: str = "ebike"
    shift: tuple[float, float] = (8.0, 18.0)
    visits_per_day: float = 0.0

    def on_duty(self, t: float) -> bool:
        """Whether time ``t`` (seconds from midnight of day 0) is within the shift."""
        return on_duty_at(self.shift, (t % DAY_S) / HOUR_S)

    @property
    def duty_hours_per_day(self) -> float:
        """Length of the daily shift in hours."""
        a, b = self.shift
        return 24.0 if b - a >= 24.0 else (b - a) % 24.0


@dataclass(frozen=True, slots=True)
class Camera:
    """An AI camera: where it is and which hazards it watches."""

    id: str
    village: str
    grid: str
    x_km: float
    y_km: float
    hazards: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Travel:
    """Travel model: straight-line distance x detour at the mode's speed, plus overhead.

    Attributes:
        speed_kmh: speed per mode.
        detour: road distance / straight-line distance.
        overhead_s: fixed time to set off and find the spot.
        cv: lognormal variability of the travel time (0 = deterministic).
        roads: the road graph's shortest paths (None: straight line x detour).
    """

    speed_kmh: tuple[tuple[str, float], ...] = (("walk", 4.5), ("ebike", 15.0), ("car", 30.0))
    detour: float = 1.3
    overhead_s: float = 120.0
    cv: float = 0.25
    roads: RoadNetwork | None = None

    def speed(self, mode: str) -> float:
        """Speed in km/h of a mode (walk speed if unknown)."""
        for name, v in self.speed_kmh:
            if name == mode:
                return v
        return self.speed_kmh[0][1]

    def expected_s(self, dist_km: float, mode: str) -> float:
        """Mean travel time in seconds over ``dist_km`` straight-line kilometres."""
        if self.speed(mode) <= 0.0:
            return self.overhead_s
        return self.overhead_s + dist_km * self.detour / self.speed(mode) * HOUR_S

    def route_km(self, x0: float, y0: float, x1: float, y1: float) -> float:
        """Road kilometres of a trip: over the road graph where there is one, else the
        straight line x detour."""
        if self.roads is None:
            return math.hypot(x1 - x0, y1 - y0) * self.detour
        return self.roads.route_km(x0, y0, x1, y1, self.detour)

    def trip_s(self, x0: float, y0: float, x1: float, y1: float, mode: str) -> float:
        """Mean travel time in seconds of a trip from ``(x0, y0)`` to ``(x1, y1)``."""
        if self.roads is None:
            return self.expected_s(math.hypot(x1 - x0, y1 - y0), mode)
        v = self.speed(mode)
        if v <= 0.0:
            return self.overhead_s
        return self.overhead_s + self.roads.route_km(x0, y0, x1, y1, self.detour) / v * HOUR_S


@dataclass(frozen=True, slots=True)
class Township:
    """The simulation's view of the township (built from the township config)."""

    name: str
    villages: tuple[str, ...]
    grids: tuple[Grid, ...]
    workers: tuple[Worker, ...]
    cameras: tuple[Camera, ...]
    travel: Travel = field(default_factory=Travel)

    def grid(self, grid_id: str) -> Grid:
        """The grid with this id (KeyError if unknown)."""
        for g in self.grids:
            if g.id == grid_id:
                return g
        raise KeyError(grid_id)


@dataclass(frozen=True, slots=True)
class HazardParams:
    """Alert generation and handling of one hazard type.

    Attributes:
        rate_per_camera_day: mean real occurrences per watching camera per day.
        hour_profile: 24 relative weights by hour of day (mean 1).
        season: 12 monthly multipliers (January first).
        duration: how long an occurrence lasts if nobody intervenes.
        detect_prob: probability the AI raises an alert for an occurrence.
        detect_delay_s: onset -> alarm (the rule's confirmation time).
        handling: on-site handling time when the hazard is still there.
        patrol_report_prob: probability a resident reports it (manual baseline).
    """

    rate_per_camera_day: float
    hour_profile: tuple[float, ...]
    season: tuple[float, ...]
    duration: Dist
    detect_prob: float
    detect_delay_s: float
    handling: Dist
    patrol_report_prob: float


@dataclass(frozen=True, slots=True)
class RequestParams:
    """A stream of residents' requests competing for the same workers.

    Attributes:
        kind: ``qr_request`` or ``hotline``.
        rate_per_day: town-wide mean requests per day (spread over micro-grids).
        hour_profile: 24 relative weights by hour of day (mean 1).
        handling: on-site time.
        triage_s: command-centre triage before dispatch (0 = goes straight to dispatch).
        priority: dispatch priority (alerts use 10).
    """

    kind: str
    rate_per_day: float
    hour_profile: tuple[float, ...]
    handling: Dist
    triage: Dist
    priority: int = 1


@dataclass(frozen=True, slots=True)
class CentreParams:
    """The command centre: verifiers (operators) who verify alerts and review closures."""

    verifiers: int
    verify: Dist
    review: Dist


@dataclass(frozen=True, slots=True)
class DispatchParams:
    """Notification, acknowledgement and escalation."""

    policy: str
    decision_s: float
    ack: Dist
    ack_visiting: Dist
    p_no_ack: float
    ack_timeout_s: float
    retry_s: float


@dataclass(frozen=True, slots=True)
class FieldParams:
    """Work in the field besides handling."""

    report: Dist
    check_gone: Dist
    visit: Dist
    linger_s: float


@dataclass(frozen=True, slots=True)
class PatrolParams:
    """The traditional manual patrol baseline.

    Attributes:
        rounds_per_day: patrol rounds per grid per day.
        window: (start hour, end hour) within which rounds happen.
        round_s: length of one round (a point is passed at a uniform time within it).
        report_delay: onset -> resident's call, when a resident reports.
        hotline_delay: call -> worker notified through 12345/linkage forwarding.
    """

    rounds_per_day: float
    window: tuple[float, float]
    round_s: float
    report_delay: Dist
    hotline_delay: Dist


@dataclass(frozen=True, slots=True)
class Horizon:
    """Run length: warm-up is discarded, alerts stop at ``days``, then orders drain."""

    days: float
    warmup_days: float
    drain_days: float
    start_month: int

    @property
    def start_s(self) -> float:
        """Start of the observation window."""
        return self.warmup_days * DAY_S

    @property
    def end_s(self) -> float:
        """End of alert arrivals and of the observation window."""
        return self.days * DAY_S


@dataclass(frozen=True, slots=True)
class Targets:
    """The three published targets (docs/deployment.md#the-reservoir-case, #reported-outcomes)."""

    dispatch_s: float = 60.0
    closure_s: float = 55.0 * 60.0
    reduction: float = 0.80
    attainment: float = 0.90


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything one replication needs. Plain, frozen, picklable.

    ``trace`` holds replayed alerts (``(time_s, camera, hazard, duration_s)`` rows) in
    place of the synthetic generator when set. ``orders`` is the live service's
    ``orders:`` section (the township's, with the scenario's overrides): the model asks
    it, through the same methods the live workflow calls, whether a hazard is verified
    automatically, its priority, its SLA clocks and whether a clear cancels it.
    """

    name: str
    township: Township
    hazards: tuple[tuple[str, HazardParams], ...]
    false_alarm_fraction: float
    rate_scale: float
    requests: tuple[RequestParams, ...]
    centre: CentreParams
    dispatch: DispatchParams
    fieldwork: FieldParams
    patrol: PatrolParams
    horizon: Horizon
    targets: Targets = field(default_factory=Targets)
    trace: tuple[tuple[float, str, str, float], ...] | None = None
    orders: OrdersConfig = field(default_factory=OrdersConfig)

    def hazard(self, hazard_id: str) -> HazardParams:
        """Parameters of one hazard (KeyError if unknown)."""
        for name, p in self.hazards:
            if name == hazard_id:
                return p
        raise KeyError(hazard_id)
