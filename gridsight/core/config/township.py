"""The township model: villages, comprehensive grids, micro-grids, staff, positions, travel
and the AI camera points (and the settings of the live work-order loop, ``orders:``).

Levels, as in the deployment this is modelled on (docs/deployment.md#people-and-grids)::

    township -> villages/communities -> comprehensive grids (one grid worker each)
             -> micro-grids (one micro-grid worker each)

Positions are kilometres in a local frame of the town (x east, y north, origin at the
south-west corner of ``extent_km``). Every cross-reference (grid -> village, camera ->
grid, team -> village) and every count the config declares is checked when the model is
built, with the path of the offending value so the loader can name the file line.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Collection
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from gridsight.core.config.base import (
    Id,
    InvariantViolation,
    Loc,
    PointKm,
    Problem,
    StrictModel,
    duplicates,
)
from gridsight.core.config.camera import CameraConfig
from gridsight.core.config.detector import DetectorConfig
from gridsight.core.config.evidence import ClipsConfig
from gridsight.core.config.notify import NotifyConfig
from gridsight.core.config.orders import OrdersConfig
from gridsight.core.config.travel import TravelModel


class Village(StrictModel):
    """A village (村) or residential community (社区)."""

    id: Id = Field(description="pinyin id, e.g. 'ruijia'")
    name: str = Field(min_length=1, description="name as written locally, e.g. 芮家社区")
    name_en: str | None = Field(default=None, description="romanised name, e.g. 'Ruijia community'")
    kind: Literal["village", "community"] = "village"
    placeholder: bool = Field(
        default=False, description="true where the public account does not name this place"
    )
    position: PointKm = Field(description="village centre, km (x east, y north)")
    natural_villages: int | None = Field(
        default=None, ge=1, description="natural villages (自然村) it covers, where known"
    )
    stationed_cadres: int = Field(
        default=1, ge=0, description="village-stationed cadres (驻村干部) assigned here"
    )
    note: str | None = None


def _micro_grid_schema(schema: dict[str, Any]) -> None:
    # Listed under its grid, a micro-grid may leave out `grid` (the loader fills it in).
    required = schema.get("required", [])
    if "grid" in required:
        required.remove("grid")


def _grid_schema(schema: dict[str, Any]) -> None:
    # `micro_grids` may also be a count; the model expands it before validation.
    listed = schema["properties"]["micro_grids"]
    schema["properties"]["micro_grids"] = {
        "anyOf": [
            {"type": "integer", "minimum": 0, "description": "number of micro-grids to generate"},
            {k: v for k, v in listed.items() if k not in ("default", "title")},
        ],
        "default": listed.get("default", []),
        "title": "Micro Grids",
    }


class MicroGrid(StrictModel):
    """A micro-grid (微网格) inside a comprehensive grid, with its micro-grid workers."""

    model_config = ConfigDict(json_schema_extra=_micro_grid_schema)

    id: Id
    grid: Id = Field(description="id of the comprehensive grid it belongs to")
    workers: int = Field(default=1, ge=0, description="micro-grid workers (微网格员)")
    position: PointKm | None = Field(default=None, description="centre, km (default: grid centre)")


class Grid(StrictModel):
    """A comprehensive grid (综合网格) of one village, with its grid worker(s).

    ``micro_grids`` may be written as a count (``micro_grids: 4``), which generates
    micro-grids with ids ``<grid id>-m01`` ... and default settings, or as a full list.
    Either way the loaded model holds the list.
    """

    model_config = ConfigDict(json_schema_extra=_grid_schema)

    id: Id
    village: Id = Field(description="id of the village/community the grid is in")
    name: str | None = None
    position: PointKm = Field(description="grid centre (where its grid worker is based), km")
    workers: int = Field(default=1, ge=0, description="grid workers (网格员) of this grid")
    micro_grids: tuple[MicroGrid, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _expand_micro_grids(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "micro_grids" not in data:
            return data
        spec = data["micro_grids"]
        grid_id = data.get("id")
        if isinstance(spec, bool) or not isinstance(spec, int | list | tuple):
            raise ValueError(
                f"micro_grids must be a count (e.g. 4) or a list of micro-grids, "
                f"got {type(spec).__name__}"
            )
        if isinstance(spec, int):
            if spec < 0:
                raise ValueError(f"micro_grids count must be >= 0, got {spec}")
            generated = [{"id": f"{grid_id}-m{k:02d}", "grid": grid_id} for k in range(1, spec + 1)]
            return {**data, "micro_grids": generated}
        # A listed micro-grid may leave out its grid: it is the one it is listed under.
        filled = [
            {"grid": grid_id, **item} if isinstance(item, dict) and "grid" not in item else item
            for item in spec
        ]
        return {**data, "micro_grids": filled}


class ResponseTeam(StrictModel):
    """A "1 + 3 + N" joint response team: 1 police officer, 3 of grid worker / auxiliary
    police / public-safety activist, and N other helpers."""

    id: Id
    village: Id = Field(description="village/community the team is based in")
    police: int = Field(default=1, ge=0)
    grid_or_auxiliary: int = Field(default=3, ge=0)
    helpers: int = Field(default=0, ge=0, description="the N: other helpers")

    @property
    def size(self) -> int:
        """Members in all."""
        return self.police + self.grid_or_auxiliary + self.helpers


class Staff(StrictModel):
    """Town-wide staff. Totals written here are checked against the grids and villages.

    Leave a total out (null) to have it derived; write it to have the loader check that
    the per-grid figures add up to the published number.
    """

    grid_workers: int | None = Field(default=None, ge=0, description="网格员; sum over grids")
    micro_grid_workers: int | None = Field(
        default=None, ge=0, description="微网格员; sum over micro-grids"
    )
    stationed_cadres: int | None = Field(
        default=None, ge=0, description="驻村干部; sum over villages"
    )
    safety_volunteers: int = Field(default=0, ge=0, description="平安志愿者")
    building_heads: int | None = Field(default=None, ge=0, description="楼栋长, where known")
    teams: tuple[ResponseTeam, ...] = Field(default=(), description='"1 + 3 + N" teams')


class CommandCentre(StrictModel):
    """The town's command platform (基层治理综合指挥平台), where alerts become work orders."""

    name: str = Field(min_length=1)
    position: PointKm
    verifiers: int = Field(
        default=2, ge=1, description="staff on duty who verify alerts and dispatch work orders"
    )


class Township(StrictModel):
    """A township: its places, people, travel model and AI camera points."""

    id: Id
    name: str = Field(min_length=1)
    name_en: str | None = None
    population: int | None = Field(default=None, ge=0)
    extent_km: tuple[float, float] = Field(
        default=(10.0, 8.0), description="width (east) and height (north) of the local frame, km"
    )
    command_centre: CommandCentre
    geo_origin: tuple[float, float] | None = Field(
        default=None,
        description="latitude, longitude of the km frame's origin (0, 0); with it the "
        "worker's page links each order's place to the phone's map app",
    )
    villages: tuple[Village, ...] = Field(min_length=1)
    grids: tuple[Grid, ...] = Field(min_length=1)
    staff: Staff = Field(default_factory=Staff)
    travel: TravelModel = Field(default_factory=TravelModel)
    cameras: tuple[CameraConfig, ...] = ()
    detector: DetectorConfig | None = Field(
        default=None,
        description="the run's default model: path or name, class names, thresholds "
        "(a camera's own detector: overrides it)",
    )
    clips: ClipsConfig | None = Field(
        default=None,
        description="evidence clips around event starts (folder, pre/post roll, retention)",
    )
    roles: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="roles to declare besides the built-in ones (role -> the model class "
        "names that map to it), e.g. {dog: [dog]}; rules and class_to_role may name them",
    )
    notify: NotifyConfig | None = Field(
        default=None, description="where work-order notifications go (webhook, MQTT, Apprise)"
    )
    orders: OrdersConfig = Field(
        default_factory=OrdersConfig,
        description="the live work-order loop: SLA clocks, verification, shifts (gridsight.orders)",
    )

    @field_validator("geo_origin")
    @classmethod
    def _latlon(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not (-90 <= v[0] <= 90 and -180 <= v[1] <= 180):
            raise ValueError(f"geo_origin: [latitude, longitude] in degrees, got {list(v)}")
        return v

    @field_validator("extent_km")
    @classmethod
    def _positive_extent(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] <= 0 or value[1] <= 0:
            raise ValueError(f"extent_km must be positive [width, height], got {list(value)}")
        return value

    @model_validator(mode="after")
    def _invariants(self) -> Township:
        problems = township_problems(self)
        if problems:
            raise InvariantViolation(problems)
        return self

    # -- lookups -------------------------------------------------------------------------

    @property
    def micro_grids(self) -> tuple[MicroGrid, ...]:
        """All micro-grids of all grids, in config order."""
        return tuple(m for g in self.grids for m in g.micro_grids)

    def village(self, village_id: str) -> Village:
        """The village with this id (KeyError if there is none)."""
        for v in self.villages:
            if v.id == village_id:
                return v
        raise KeyError(village_id)

    def grid(self, grid_id: str) -> Grid:
        """The grid with this id (KeyError if there is none)."""
        for g in self.grids:
            if g.id == grid_id:
                return g
        raise KeyError(grid_id)

    def camera(self, camera_id: str) -> CameraConfig:
        """The camera with this id (KeyError if there is none)."""
        for c in self.cameras:
            if c.id == camera_id:
                return c
        raise KeyError(camera_id)

    def grids_of(self, village_id: str) -> tuple[Grid, ...]:
        """The grids of one village."""
        return tuple(g for g in self.grids if g.village == village_id)

    def camera_position(self, camera: CameraConfig) -> PointKm:
        """Where a camera looks, km: its own position, else its grid's centre."""
        return camera.position if camera.position is not None else self.grid(camera.grid).position

    def cameras_per_hazard(self) -> dict[str, int]:
        """``{hazard id: number of cameras watching it}``, sorted by hazard id."""
        counts = Counter(h for c in self.cameras for h in c.hazards)
        return dict(sorted(counts.items()))

    def staff_counts(self) -> dict[str, int]:
        """Staff by role, derived from the grids, villages and teams."""
        teams = self.staff.teams
        out = {
            "grid_workers": sum(g.workers for g in self.grids),
            "micro_grid_workers": sum(m.workers for m in self.micro_grids),
            "safety_volunteers": self.staff.safety_volunteers,
            "stationed_cadres": sum(v.stationed_cadres for v in self.villages),
            "response_teams": len(teams),
            "response_team_members": sum(t.size for t in teams),
        }
        if self.staff.building_heads is not None:
            out["building_heads"] = self.staff.building_heads
        return out


def _unique(problems: list[Problem], what: str, field: str, ids: list[str], loc_of: Any) -> None:
    for value, idx in duplicates(ids).items():
        problems.append(
            Problem(
                (*loc_of(idx[1]), field),
                f"{what} id {value!r} is used more than once (first at index {idx[0]}); "
                "ids must be unique",
            )
        )


def _unknown(what: str, value: str, known: Collection[str]) -> str:
    """``'x', which is not defined; did you mean 'y'?`` (or the known ids if none is close)."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    if close:
        return f"{what} {value!r}, which is not defined; did you mean {close[0]!r}?"
    listed = sorted(known)
    more = f", ... ({len(listed)} in all)" if len(listed) > 12 else ""
    return f"{what} {value!r}, which is not defined; known: {', '.join(listed[:12])}{more}"


def _inside(problems: list[Problem], loc: Loc, point: PointKm, extent: tuple[float, float]) -> None:
    x, y = point
    if not (0.0 <= x <= extent[0] and 0.0 <= y <= extent[1]):
        problems.append(
            Problem(
                loc,
                f"position ({x:g}, {y:g}) km is outside the town's extent "
                f"[0, {extent[0]:g}] x [0, {extent[1]:g}] km (extent_km)",
            )
        )


def township_problems(t: Township) -> list[Problem]:
    """Every broken invariant of a township, each with the path of the offending value."""
    problems: list[Problem] = []
    _unique(problems, "village", "id", [v.id for v in t.villages], lambda k: ("villages", k))
    _unique(problems, "grid", "id", [g.id for g in t.grids], lambda k: ("grids", k))
    micro_locs = [
        ("grids", gi, "micro_grids", mi)
        for gi, g in enumerate(t.grids)
        for mi in range(len(g.micro_grids))
    ]
    _unique(problems, "micro-grid", "id", [m.id for m in t.micro_grids], lambda k: micro_locs[k])
    _unique(problems, "camera", "id", [c.id for c in t.cameras], lambda k: ("cameras", k))
    _unique(problems, "team", "id", [m.id for m in t.staff.teams], lambda k: ("staff", "teams", k))

    village_ids = {v.id for v in t.villages}
    grid_village = {g.id: g.village for g in t.grids}

    _inside(problems, ("command_centre", "position"), t.command_centre.position, t.extent_km)
    for k, v in enumerate(t.villages):
        _inside(problems, ("villages", k, "position"), v.position, t.extent_km)
    for k, g in enumerate(t.grids):
        if g.village not in village_ids:
            problems.append(
                Problem(
                    ("grids", k, "village"),
                    f"grid {g.id!r} is in " + _unknown("village", g.village, village_ids),
                )
            )
        _inside(problems, ("grids", k, "position"), g.position, t.extent_km)
        for m_idx, m in enumerate(g.micro_grids):
            if m.grid != g.id:
                problems.append(
                    Problem(
                        ("grids", k, "micro_grids", m_idx, "grid"),
                        f"micro-grid {m.id!r} says it is in grid {m.grid!r} but is listed "
                        f"under grid {g.id!r}",
                    )
                )
            if m.position is not None:
                _inside(
                    problems,
                    ("grids", k, "micro_grids", m_idx, "position"),
                    m.position,
                    t.extent_km,
                )
    for k, v in enumerate(t.villages):
        if not any(g.village == v.id for g in t.grids):
            problems.append(
                Problem(("villages", k, "id"), f"village {v.id!r} has no comprehensive grid")
            )
    for k, team in enumerate(t.staff.teams):
        if team.village not in village_ids:
            problems.append(
                Problem(
                    ("staff", "teams", k, "village"),
                    f"team {team.id!r} is based in "
                    + _unknown("village", team.village, village_ids),
                )
            )
    for k, cam in enumerate(t.cameras):
        if cam.village not in village_ids:
            problems.append(
                Problem(
                    ("cameras", k, "village"),
                    f"camera {cam.id!r} is in " + _unknown("village", cam.village, village_ids),
                )
            )
        if cam.grid not in grid_village:
            problems.append(
                Problem(
                    ("cameras", k, "grid"),
                    f"camera {cam.id!r} is in " + _unknown("grid", cam.grid, grid_village),
                )
            )
        elif grid_village[cam.grid] != cam.village and cam.village in village_ids:
            mine = ", ".join(g.id for g in t.grids if g.village == cam.village) or "none"
            problems.append(
                Problem(
                    ("cameras", k, "grid"),
                    f"camera {cam.id!r} is in village {cam.village!r} but grid {cam.grid!r} "
                    f"belongs to village {grid_village[cam.grid]!r}; grids of "
                    f"{cam.village!r}: {mine}",
                )
            )
        if cam.position is not None:
            _inside(problems, ("cameras", k, "position"), cam.position, t.extent_km)

    counts = t.staff_counts()
    declared = (
        ("grid_workers", "grid workers", "the grids' `workers`"),
        ("micro_grid_workers", "micro-grid workers", "the micro-grids' `workers`"),
        ("stationed_cadres", "village-stationed cadres", "the villages' `stationed_cadres`"),
    )
    for field, what, source in declared:
        value = getattr(t.staff, field)
        if value is not None and value != counts[field]:
            problems.append(
                Problem(
                    ("staff", field),
                    f"staff.{field} says {value} {what}, but {source} add up to "
                    f"{counts[field]}; fix one or leave staff.{field} out to derive it",
                )
            )
    return problems
