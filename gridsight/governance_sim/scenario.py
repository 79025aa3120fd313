"""Simulation scenarios: the YAML files in configs/sim/, validated at the edge with pydantic.

A scenario names its township config (``township: ../jingqiao.yaml``, relative to the
scenario file) and adds what only the simulation needs: alert and request rates,
verification, dispatch and handling times, staffing (shifts, modes, overrides), the
manual-patrol baseline, run length and targets. Every field has a default; the defaults
are the baseline assumptions, with sources given in docs/simulation.md and in
configs/sim/baseline.yaml. Units are in the field names (``_s``, ``_min``, ``_h``).

:func:`load_scenario` reads the YAML with the shared loader (errors name the file, line
and field); :func:`build_sim_config` turns it and the township into the frozen
:class:`~gridsight.governance_sim.params.SimConfig` the model runs on, and refuses
impossible scenarios (nobody on duty, unknown policy) with a :class:`SimulationError`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from gridsight.core.config.base import StrictModel
from gridsight.core.config.orders import Mode as _CoreMode
from gridsight.core.config.orders import OrdersConfig, RoleShift
from gridsight.core.config.validation import format_validation
from gridsight.core.errors import ConfigError, SimulationError
from gridsight.core.roster import grid_radius, ring, shift_of, staff_slots
from gridsight.governance_sim import params as P

FLAT24: tuple[float, ...] = (1.0,) * 24
FLAT12: tuple[float, ...] = (1.0,) * 12
# Daytime-weighted profile (06-22) used where nothing better is known: an assumption.
DAYTIME: tuple[float, ...] = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 1.2, 1.4, 1.4, 1.4, 1.3,
    1.2, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.7, 1.5, 1.0, 0.6, 0.3,
)  # fmt: skip


# The config models' strict base: a typo is an error, and a scenario loaded from YAML
# carries its source map (file:line in later checks' messages).
_Strict = StrictModel


class DistSpec(_Strict):
    """A random duration: ``{dist: lognormal, mean: 15, cv: 0.5}`` (mean in the field's unit)."""

    dist: P.DistKind = "lognormal"
    mean: float = Field(ge=0)
    cv: float = Field(default=0.5, ge=0, le=5)

    def to(self, scale: float) -> P.Dist:
        """The distribution in seconds (``scale`` seconds per unit of ``mean``)."""
        return P.Dist(self.dist, self.mean * scale, self.cv)


def _dist(mean: float, cv: float = 0.5, dist: P.DistKind = "lognormal") -> Any:
    return Field(default_factory=lambda: DistSpec(dist=dist, mean=mean, cv=cv))


def _profile(n: int) -> Any:
    def check(v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != n:
            raise ValueError(f"expected {n} values, got {len(v)}")
        if any(x < 0 for x in v) or sum(v) <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        return v

    return check


class HazardSpec(_Strict):
    """Occurrences and handling of one hazard type at the cameras that watch it."""

    rate_per_camera_day: float = Field(default=0.5, ge=0)
    hour_profile: tuple[float, ...] = DAYTIME
    season: tuple[float, ...] = FLAT12
    duration_min: DistSpec = _dist(60.0, 1.0)
    detect_prob: float = Field(default=0.9, ge=0, le=1)
    detect_delay_s: float = Field(default=30.0, ge=0)
    handling_min: DistSpec = _dist(12.0, 0.5)
    resident_report_prob: float = Field(default=0.2, ge=0, le=1)

    _hours = field_validator("hour_profile")(_profile(24))
    _months = field_validator("season")(_profile(12))


# Hour-of-day profiles of the baseline (all [assumed]; see configs/sim/baseline.yaml).
FIRE_LANE_HOURS: tuple[float, ...] = (
    1.4, 1.4, 1.2, 1.0, 0.8, 0.6, 0.6, 0.7, 0.8, 0.8, 0.8, 0.9,
    0.9, 0.8, 0.8, 0.9, 1.0, 1.1, 1.3, 1.4, 1.5, 1.5, 1.5, 1.5,
)  # fmt: skip
EBIKE_HOURS: tuple[float, ...] = (
    0.6, 0.4, 0.3, 0.2, 0.2, 0.3, 0.6, 0.8, 0.7, 0.6, 0.6, 0.8,
    1.0, 0.9, 0.7, 0.7, 0.9, 1.4, 2.0, 2.4, 2.4, 2.0, 1.5, 0.9,
)  # fmt: skip
VENDING_HOURS: tuple[float, ...] = (
    0.0, 0.0, 0.0, 0.0, 0.1, 0.3, 0.6, 0.8, 1.6, 1.8, 1.6, 1.6,
    1.4, 1.2, 1.2, 1.4, 1.8, 2.2, 2.2, 1.8, 1.2, 0.6, 0.2, 0.1,
)  # fmt: skip
NEAR_WATER_HOURS: tuple[float, ...] = (
    0.1, 0.0, 0.0, 0.0, 0.1, 0.4, 0.8, 1.0, 1.0, 1.0, 1.1, 1.2,
    1.3, 1.5, 1.7, 1.9, 2.1, 2.2, 2.1, 1.6, 1.0, 0.5, 0.3, 0.2,
)  # fmt: skip
NEAR_WATER_SEASON: tuple[float, ...] = (0.3, 0.3, 0.5, 0.8, 1.2, 1.6, 2.0, 2.0, 1.3, 0.8, 0.4, 0.3)


def _default_hazards() -> dict[str, HazardSpec]:
    # The baseline's values (configs/sim/baseline.yaml cites each); a test keeps the two equal.
    def d(mean: float, cv: float) -> DistSpec:
        return DistSpec(dist="lognormal", mean=mean, cv=cv)

    return {
        "fire_lane": HazardSpec(
            rate_per_camera_day=0.28, hour_profile=FIRE_LANE_HOURS, duration_min=d(180, 1.0),
            detect_prob=0.9, detect_delay_s=60, handling_min=d(20, 0.5), resident_report_prob=0.3,
        ),
        "ebike": HazardSpec(
            rate_per_camera_day=1.0, hour_profile=EBIKE_HOURS, duration_min=d(240, 1.2),
            detect_prob=0.9, detect_delay_s=20, handling_min=d(15, 0.5), resident_report_prob=0.1,
        ),
        "vending": HazardSpec(
            rate_per_camera_day=1.5, hour_profile=VENDING_HOURS, duration_min=d(90, 0.8),
            detect_prob=0.9, detect_delay_s=60, handling_min=d(15, 0.5), resident_report_prob=0.15,
        ),
        "near_water": HazardSpec(
            rate_per_camera_day=0.4, hour_profile=NEAR_WATER_HOURS, season=NEAR_WATER_SEASON,
            duration_min=d(15, 1.0), detect_prob=0.9, detect_delay_s=10, handling_min=d(5, 0.5),
            resident_report_prob=0.05,
        ),
    }  # fmt: skip


class AlertSpec(_Strict):
    """Alert-level settings common to all hazards."""

    rate_scale: float = Field(default=1.0, ge=0, description="multiplies every hazard rate")
    request_weights: dict[str, float] = Field(
        default_factory=dict,
        description="residents' requests per grid in proportion to these (households, "
        "population); grids not named keep their micro-grid count",
    )
    false_alarm_fraction: float = Field(default=0.2, ge=0, le=1)
    camera_count: int | None = Field(
        default=None, ge=1, description="AI cameras to simulate (default: the township's)"
    )


class RequestSpec(_Strict):
    """A stream of residents' requests (QR code or 12345 hotline)."""

    rate_per_day: float = Field(default=10.0, ge=0)
    hour_profile: tuple[float, ...] = DAYTIME
    handling_min: DistSpec = _dist(25.0, 0.6)
    triage_min: DistSpec = _dist(0.0, 0.0, "const")
    priority: int = 1

    _hours = field_validator("hour_profile")(_profile(24))


def _default_requests() -> dict[str, RequestSpec]:
    return {
        "qr_request": RequestSpec(rate_per_day=20.0),
        "hotline": RequestSpec(
            rate_per_day=6.0,
            handling_min=DistSpec(dist="lognormal", mean=40.0, cv=0.6),
            triage_min=DistSpec(dist="lognormal", mean=3.0, cv=0.5),
        ),
    }


class CentreSpec(_Strict):
    """Command centre staffing and times."""

    verifiers: int | None = Field(
        default=None, ge=1, description="default: the township's command_centre.verifiers"
    )
    verify_s: DistSpec = _dist(25.0, 0.6)
    review_min: DistSpec = _dist(2.0, 0.5)


class DispatchSpec(_Strict):
    """Dispatch policy, acknowledgement and escalation."""

    policy: str | None = Field(
        default=None, description="default: the township's orders.policy (the live one)"
    )
    decision_s: float = Field(default=2.0, ge=0)
    ack_s: DistSpec = _dist(20.0, 1.0, "exp")
    ack_visiting_s: DistSpec = _dist(60.0, 1.0, "exp")
    p_no_ack: float = Field(default=0.05, ge=0, le=1)
    ack_timeout_s: float | None = Field(
        default=None, gt=0, description="default: the township's orders.ack_timeout_s"
    )
    retry_s: float = Field(default=60.0, gt=0)


class FieldSpec(_Strict):
    """Field work besides handling."""

    report_min: DistSpec = _dist(3.0, 0.5)
    check_gone_min: DistSpec = _dist(4.0, 0.5)
    visit_min: DistSpec = _dist(30.0, 0.5)
    linger_min: float = Field(default=20.0, ge=0)


Mode = _CoreMode  # walk | ebike | car, as the live roster


class RoleSpec(RoleShift):
    """Shift, travel mode (the live roster's :class:`RoleShift`) and other duties of one
    role."""

    visits_per_day: float = Field(default=0.0, ge=0)


class StaffingSpec(_Strict):
    """Who can be dispatched, with overrides of the township's staff numbers."""

    grid_worker: RoleSpec = Field(default_factory=lambda: RoleSpec(visits_per_day=3.0))
    micro_grid_worker: RoleSpec = Field(
        default_factory=lambda: RoleSpec(mode="walk", visits_per_day=2.0)
    )
    cadre: RoleSpec = Field(default_factory=lambda: RoleSpec(shift_h=(0.0, 24.0), mode="car"))
    volunteer: RoleSpec = Field(default_factory=lambda: RoleSpec(shift_h=(7.0, 21.0), mode="walk"))
    workers_per_grid: int | None = Field(
        default=None, ge=0, description="grid staff per grid: 1 grid worker + N-1 micro-grid"
    )
    cadres_per_village: int | None = Field(default=None, ge=0)
    volunteers: int | None = Field(default=None, ge=0, description="town-wide total")
    villages: dict[str, VillageStaffing] = Field(
        default_factory=dict, description="per-village overrides: {village id: {...}}"
    )


class VillageStaffing(_Strict):
    """Staff of one village, overriding the town-wide numbers there."""

    workers_per_grid: int | None = Field(
        default=None, ge=0, description="grid staff per grid of this village"
    )
    cadres: int | None = Field(default=None, ge=0, description="cadres of this village")


class RoadEdge(_Strict):
    """A road between two nodes (length: straight line between them unless given)."""

    id: str = Field(min_length=1)
    a: str = Field(min_length=1)
    b: str = Field(min_length=1)
    length_km: float | None = Field(default=None, gt=0)


class RoadsSpec(_Strict):
    """The township's road graph (nodes in km, roads between them)."""

    nodes: dict[str, tuple[float, float]] = Field(min_length=2)
    edges: list[RoadEdge] = Field(min_length=1)


class TravelSpec(_Strict):
    """Travel beyond the township's speeds and detour factor (which stay there)."""

    cv: float = Field(
        default=0.25, ge=0, description="lognormal variability of travel times (0: none)"
    )
    on_site_s: float = Field(
        default=60.0, ge=0, description="time to find the spot on arrival, added to set-up"
    )
    roads: RoadsSpec | None = Field(
        default=None, description="road graph: trips follow its shortest open paths"
    )
    closed_roads: list[str] = Field(default_factory=list, description="roads closed (what-if)")


class PatrolSpec(_Strict):
    """The traditional manual-patrol baseline."""

    rounds_per_day: float = Field(default=2.0, ge=0)
    window_h: tuple[float, float] = (8.0, 18.0)
    round_min: float = Field(default=90.0, ge=0)
    report_delay_min: DistSpec = _dist(30.0, 1.0)
    hotline_delay_min: DistSpec = _dist(120.0, 0.8)


class HorizonSpec(_Strict):
    """Run length."""

    days: float = Field(default=30.0, gt=0)
    warmup_days: float = Field(default=1.0, ge=0)
    drain_days: float = Field(default=2.0, ge=0)
    start_month: int = Field(default=7, ge=1, le=12)


class TargetSpec(_Strict):
    """The published targets (docs/deployment.md#the-reservoir-case) and the attainment
    level they are judged at."""

    dispatch_s: float = Field(default=60.0, gt=0)
    closure_min: float = Field(default=55.0, gt=0)
    response_reduction: float = Field(default=0.80, ge=0, le=1)
    attainment: float = Field(default=0.90, gt=0, le=1)


class Scenario(_Strict):
    """A simulation scenario (one YAML file in configs/sim/)."""

    name: str = Field(min_length=1)
    description: str = ""
    township: str = Field(description="township config, relative to this file")
    seed: int = Field(default=20240501, ge=0)
    replications: int = Field(default=30, ge=1)
    horizon: HorizonSpec = Field(default_factory=HorizonSpec)
    targets: TargetSpec = Field(default_factory=TargetSpec)
    alerts: AlertSpec = Field(default_factory=AlertSpec)
    hazards: dict[str, HazardSpec] = Field(default_factory=_default_hazards)
    requests: dict[str, RequestSpec] = Field(default_factory=_default_requests)
    centre: CentreSpec = Field(default_factory=CentreSpec)
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec)
    field: FieldSpec = Field(default_factory=FieldSpec)
    staffing: StaffingSpec = Field(default_factory=StaffingSpec)
    patrol: PatrolSpec = Field(default_factory=PatrolSpec)
    travel: TravelSpec = Field(default_factory=TravelSpec)
    orders: OrdersConfig | None = Field(
        default=None,
        description="the live work-order settings; default: the township's orders: section",
    )

    @field_validator("horizon")
    @classmethod
    def _warmup_inside(cls, v: HorizonSpec) -> HorizonSpec:
        if v.warmup_days >= v.days:
            raise ValueError(
                f"warmup_days ({v.warmup_days:g}) must be shorter than days ({v.days:g})"
            )
        return v


def load_scenario(path: str | Path) -> tuple[Scenario, Path]:
    """Load a scenario YAML; returns it and the resolved township path.

    Raises:
        ConfigError: the file does not fit the model (file:line: field: message).
    """
    from gridsight.core.config import load_yaml_model

    p = Path(path)
    scenario = load_yaml_model(p, Scenario)
    town = (p.parent / scenario.township).resolve()
    if not town.exists():
        raise ConfigError(
            f"{p}: township: {scenario.township!r} does not exist (looked for {town}); "
            "the path is relative to the scenario file"
        )
    return scenario, town


def scenario_with(scenario: Scenario, dotted: str, value: Any) -> Scenario:
    """A copy of ``scenario`` with one field (``centre.verifiers``) set, re-validated.

    Raises:
        ConfigError: the path names no field or the value does not fit it.
    """
    return scenario_with_many(scenario, {dotted: value})


def _fields(node: Any, wanted: str | None = None) -> str:
    """``; did you mean 'x'? (fields here: ...)`` for a dotted-path error message."""
    if not isinstance(node, dict) or not node:
        return ""
    names = sorted(str(k) for k in node)
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6) if wanted else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (fields here: {', '.join(names)})"


def scenario_with_many(scenario: Scenario, changes: dict[str, Any]) -> Scenario:
    """A copy of ``scenario`` with several dotted fields set, validated once at the end
    (so that changes which are only consistent together, like days and warm-up, apply).

    Raises:
        ConfigError: a path names no field or the values do not fit.
    """
    data = scenario.model_dump()
    for dotted, value in changes.items():
        node: Any = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(
                    f"{dotted}: no field {part!r} in the scenario{_fields(node, part)}"
                )
            if node[part] is None:
                node[part] = {}
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ConfigError(
                f"{dotted}: no field {parts[-1]!r} in the scenario{_fields(node, parts[-1])}"
            )
        node[parts[-1]] = value
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problem = format_validation(exc, Scenario)
        raise ConfigError(f"{problem} (after setting {changes})") from None


# -- from config models to the simulation's frozen view ------------------------------------


def township_view(town: Any, sc: Scenario) -> P.Township:
    """The simulation's view of a loaded township config, with the scenario's staffing.

    Args:
        town: a ``gridsight.core.config.Township``.
        sc: the scenario (staffing overrides, camera count).
    """
    st = sc.staffing
    tm = town.travel
    radius = grid_radius(town)
    grid_ids = {g.id for g in town.grids}
    for gid in sc.alerts.request_weights:
        if gid not in grid_ids:
            raise SimulationError(
                f"{_where(sc, ('alerts', 'request_weights'))}unknown grid {gid!r}; grids: "
                f"{', '.join(sorted(grid_ids))}"
            )
    grids = [
        P.Grid(
            g.id, g.village, g.position[0], g.position[1], radius, max(len(g.micro_grids), 1),
            sc.alerts.request_weights.get(g.id),
        )
        for g in town.grids
    ]  # fmt: skip
    workers: list[P.Worker] = []
    for role, village, grid, x, y, k in _staff(town, st, sc):
        spec: RoleSpec = getattr(st, role)
        workers.append(
            P.Worker(
                id=f"{role}-{k:04d}", role=role, village=village, grid=grid, x_km=x, y_km=y,
                mode=spec.mode, shift=shift_of(spec, k), visits_per_day=spec.visits_per_day,
            )
        )  # fmt: skip

    cams: list[P.Camera] = []
    for c in town.cameras:
        x, y = town.camera_position(c)
        cams.append(P.Camera(c.id, c.village, c.grid, x, y, tuple(sorted(c.hazards))))
    cams = _scale_cameras(cams, grids, sc.alerts.camera_count, radius)

    speeds = tm.speeds_kmh
    tr = sc.travel
    roads = None
    if tr.roads is not None:
        from gridsight.governance_sim.roads import build_network

        roads = build_network(tr.roads, tr.closed_roads)
    elif tr.closed_roads:
        raise SimulationError(
            f"{_where(sc, ('travel', 'closed_roads'))}roads closed but no travel.roads given"
        )
    travel = P.Travel(
        speed_kmh=(("walk", speeds.walk), ("ebike", speeds.ebike), ("car", speeds.car)),
        detour=tm.detour_factor,
        overhead_s=tm.setup_min * 60.0 + tr.on_site_s,
        cv=tr.cv,
        roads=roads,
    )
    return P.Township(
        name=town.id,
        villages=tuple(v.id for v in town.villages),
        grids=tuple(grids),
        workers=tuple(workers),
        cameras=tuple(cams),
        travel=travel,
    )


def _staff(
    town: Any, st: StaffingSpec, sc: Scenario
) -> list[tuple[str, str, str, float, float, int]]:
    """``(role, village, grid, x, y, k)`` of everyone: the town-wide numbers, with the
    villages of ``staffing.villages`` built from their own numbers (then renumbered per
    role in township order, so ids stay unique)."""
    slots = staff_slots(
        town,
        workers_per_grid=st.workers_per_grid,
        cadres_per_village=st.cadres_per_village,
        volunteers=st.volunteers,
    )
    if not st.villages:
        return [(s.role, s.village, s.grid, s.x_km, s.y_km, s.k) for s in slots]
    known = {v.id for v in town.villages}
    for vid in st.villages:
        if vid not in known:
            raise SimulationError(
                f"{_where(sc, ('staffing', 'villages'))}unknown village {vid!r}; villages: "
                f"{', '.join(sorted(known))}"
            )
    own: dict[str, list[Any]] = {}
    for vid, vs in st.villages.items():
        wpg = vs.workers_per_grid if vs.workers_per_grid is not None else st.workers_per_grid
        cad = vs.cadres if vs.cadres is not None else st.cadres_per_village
        alt = staff_slots(town, workers_per_grid=wpg, cadres_per_village=cad, volunteers=0)
        own[vid] = [s for s in alt if s.village == vid and s.role != "volunteer"]
    kept = [
        s for s in slots if s.village not in own or s.role == "volunteer"
    ]  # volunteers stay town-wide
    rorder = {r: i for i, r in enumerate(P.ROLES)}
    vorder = {v.id: i for i, v in enumerate(town.villages)}
    merged = sorted(
        kept + [s for v in own.values() for s in v],
        key=lambda s: (rorder[s.role], vorder[s.village], s.k),
    )
    counters: dict[str, int] = {}
    out = []
    for s in merged:
        k = counters.get(s.role, 0)
        counters[s.role] = k + 1
        out.append((s.role, s.village, s.grid, s.x_km, s.y_km, k))
    return out


def _scale_cameras(
    cams: list[P.Camera], grids: list[P.Grid], count: int | None, radius: float
) -> list[P.Camera]:
    """Keep the first ``count`` cameras, or add cameras (same hazard mix, spread over grids)."""
    if count is None or count == len(cams):
        return cams
    if count < len(cams):
        return cams[:count]
    if not cams:
        raise SimulationError(
            "alerts.camera_count: the township has no cameras to take the hazard mix from"
        )
    out = list(cams)
    for k in range(count - len(cams)):
        proto = cams[k % len(cams)]
        g = grids[k % len(grids)]
        x, y = ring(g.x_km, g.y_km, k // len(grids), 7, radius * 0.7)
        out.append(P.Camera(f"sim-cam-{k + 1:04d}", g.village, g.id, x, y, proto.hazards))
    return out


def effective_horizon(sc: Scenario, days: float | None = None) -> P.Horizon:
    """The run length a scenario runs with, ``days`` overriding ``horizon.days``.

    The warm-up is shortened to at most half the run, so that a short ``--days`` still
    observes something; a replayed trace is placed at the start of this window.
    """
    hs = sc.horizon
    run_days = hs.days if days is None else days
    return P.Horizon(
        days=run_days,
        warmup_days=min(hs.warmup_days, run_days / 2),
        drain_days=hs.drain_days,
        start_month=hs.start_month,
    )


def with_live_orders(sc: Scenario, town: Any) -> Scenario:
    """The scenario with the township's ``orders:`` section filled in where it has none,
    so that ``--set orders.…`` / ``--vary orders.…`` change the live settings."""
    if sc.orders is not None:
        return sc
    return sc.model_copy(update={"orders": town.orders})


def build_sim_config(
    sc: Scenario,
    town: Any,
    *,
    policies: dict[str, Any] | None = None,
    days: float | None = None,
    trace: tuple[tuple[float, str, str, float], ...] | None = None,
) -> P.SimConfig:
    """The frozen simulation config of a scenario and its loaded township.

    Args:
        sc: the scenario.
        town: the ``gridsight.core.config.Township`` it names.
        policies: known dispatch policies ``{name: class}`` (to check the name).
        days: override of ``horizon.days``.
        trace: replayed alerts ``(time_s, camera, hazard, duration_s)``.

    Raises:
        SimulationError: the scenario cannot run (unknown policy, nobody on duty in a
            village at some hour, a camera hazard without parameters).
    """
    orders: OrdersConfig = sc.orders if sc.orders is not None else town.orders
    policy = sc.dispatch.policy or orders.policy
    if policies is not None and policy not in policies:
        path = ("dispatch", "policy") if sc.dispatch.policy else ("orders", "policy")
        raise SimulationError(
            f"{_where(sc, path)}unknown policy {policy!r}; known: {', '.join(sorted(policies))}"
        )
    view = township_view(town, sc)
    hz = sc.hazards
    for c in view.cameras:
        for h in c.hazards:
            if h not in hz:
                raise SimulationError(
                    f"{_where(sc, ('hazards',))}camera {c.id!r} watches {h!r} but the "
                    f"scenario has no parameters for it; add hazards.{h} "
                    f"(known: {', '.join(sorted(hz))})"
                )
    horizon = effective_horizon(sc, days)
    cfg = P.SimConfig(
        name=sc.name,
        township=view,
        hazards=tuple(
            (
                name,
                P.HazardParams(
                    rate_per_camera_day=h.rate_per_camera_day,
                    hour_profile=h.hour_profile,
                    season=h.season,
                    duration=h.duration_min.to(60.0),
                    detect_prob=h.detect_prob,
                    detect_delay_s=h.detect_delay_s,
                    handling=h.handling_min.to(60.0),
                    patrol_report_prob=h.resident_report_prob,
                ),
            )
            for name, h in sorted(hz.items())
        ),
        false_alarm_fraction=sc.alerts.false_alarm_fraction,
        rate_scale=sc.alerts.rate_scale,
        requests=tuple(
            P.RequestParams(
                kind=name,
                rate_per_day=r.rate_per_day,
                hour_profile=r.hour_profile,
                handling=r.handling_min.to(60.0),
                triage=r.triage_min.to(60.0),
                priority=r.priority,
            )
            for name, r in sorted(sc.requests.items())
        ),
        centre=P.CentreParams(
            verifiers=sc.centre.verifiers or town.command_centre.verifiers,
            verify=sc.centre.verify_s.to(1.0),
            review=sc.centre.review_min.to(60.0),
        ),
        dispatch=P.DispatchParams(
            policy=policy,
            decision_s=sc.dispatch.decision_s,
            ack=sc.dispatch.ack_s.to(1.0),
            ack_visiting=sc.dispatch.ack_visiting_s.to(1.0),
            p_no_ack=sc.dispatch.p_no_ack,
            ack_timeout_s=sc.dispatch.ack_timeout_s or orders.ack_timeout_s,
            retry_s=sc.dispatch.retry_s,
        ),
        fieldwork=P.FieldParams(
            report=sc.field.report_min.to(60.0),
            check_gone=sc.field.check_gone_min.to(60.0),
            visit=sc.field.visit_min.to(60.0),
            linger_s=sc.field.linger_min * 60.0,
        ),
        patrol=P.PatrolParams(
            rounds_per_day=sc.patrol.rounds_per_day,
            window=sc.patrol.window_h,
            round_s=sc.patrol.round_min * 60.0,
            report_delay=sc.patrol.report_delay_min.to(60.0),
            hotline_delay=sc.patrol.hotline_delay_min.to(60.0),
        ),
        horizon=horizon,
        targets=P.Targets(
            dispatch_s=sc.targets.dispatch_s,
            closure_s=sc.targets.closure_min * 60.0,
            reduction=sc.targets.response_reduction,
            attainment=sc.targets.attainment,
        ),
        trace=trace,
        orders=orders,
    )
    try:
        check_staffing(cfg)
    except SimulationError as exc:
        where = _where(sc, ("staffing",))
        text = str(exc).removeprefix("staffing: ")
        raise SimulationError(f"{where}{text}") from None
    return cfg


def _where(sc: Scenario, loc: tuple[str | int, ...]) -> str:
    """``file:line:col: path: `` of a scenario field when it was loaded from YAML, else
    the dotted path (scenarios built in code have no file)."""
    from gridsight.core.config import source_map

    smap = source_map(sc)
    if smap is None:
        return f"{'.'.join(str(p) for p in loc)}: "
    return f"{smap.where(loc)}: "


def check_staffing(cfg: P.SimConfig) -> None:
    """Refuse a scenario where some village with work has nobody on duty at some hour.

    Raises:
        SimulationError: naming the village, the hour and the fields to change.
    """
    if not cfg.township.workers:
        raise SimulationError(
            "staffing: no workers at all (the township has no staff, or staffing overrides "
            "set them to 0); set staffing.workers_per_grid or the township's grid workers"
        )
    villages = {c.village for c in cfg.township.cameras}
    if any(r.rate_per_day > 0 for r in cfg.requests):
        villages |= {g.village for g in cfg.township.grids}
    for v in sorted(villages):
        staff = [w for w in cfg.township.workers if w.village == v]
        for hour in range(24):
            t = hour * P.HOUR_S + 1.0
            if not any(w.on_duty(t) for w in staff):
                raise SimulationError(
                    f"staffing: nobody of village {v!r} is on duty at {hour:02d}:00 "
                    f"({len(staff)} staff there), so its work orders would wait forever; "
                    "give a role a shift covering that hour (staffing.<role>.shift_h, "
                    "staffing.<role>.night_share) or add cadres (staffing.cadres_per_village)"
                )
