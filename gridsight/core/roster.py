"""The staff of a township config: who there is, where each is based, and when on duty.

One expansion shared by the governance simulator
(``gridsight.governance_sim.scenario.township_view``) and the live roster
(``gridsight.orders.roster``), so that a trace replayed through both picks the same
people in the same places with the same shifts::

    grid workers       per grid (``grids[].workers``), at the grid centre
    micro-grid workers per micro-grid (``micro_grids[].workers``), at the micro-grid's
                       position, else on a ring of radius r/2 around the grid centre
    stationed cadres   per village (``villages[].stationed_cadres``), at the village centre
    safety volunteers  town-wide (``staff.safety_volunteers``), dealt round the villages
                       and placed on a ring of radius r/2 around each village centre

where r is the radius of a round grid of the town's mean grid area. Each caller names
the people its own way (``grid_worker-0007``, ``gw-<grid>``); :class:`StaffSlot` carries
what both need: the role, the place the person comes from and their index in it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gridsight.core.config.township import Township

#: The roles, in the order the expansion lists them.
ROLES: tuple[str, ...] = ("grid_worker", "micro_grid_worker", "cadre", "volunteer")
DAY_H = 24.0


class ShiftSpec(Protocol):
    """Shift settings of one role (the simulator's ``RoleSpec``, the orders' ``RoleShift``)."""

    @property
    def shift_h(self) -> tuple[float, float]:
        """Day shift (start hour, end hour)."""
        ...

    @property
    def night_shift_h(self) -> tuple[float, float]:
        """Night shift (start hour, end hour)."""
        ...

    @property
    def night_share(self) -> float:
        """Share of the role on the night shift."""
        ...


@dataclass(frozen=True, slots=True)
class StaffSlot:
    """One person of the expansion, before a caller names them.

    Attributes:
        role: ``grid_worker``, ``micro_grid_worker``, ``cadre`` or ``volunteer``.
        village: village served.
        grid: grid of grid staff ("" for cadres and volunteers).
        x_km: base position, km east.
        y_km: base position, km north.
        k: index among the people of this role (town-wide, in expansion order).
        place: the grid (grid workers), micro-grid (micro-grid workers; the grid when
            their count is overridden) or village (cadres, volunteers) they come from.
        nth: index among the people of this role from the same place.
    """

    role: str
    village: str
    grid: str
    x_km: float
    y_km: float
    k: int
    place: str
    nth: int


def ring(cx: float, cy: float, k: int, n: int, r: float) -> tuple[float, float]:
    """The k-th of n points on a circle of radius r around (cx, cy) (the centre if n <= 1)."""
    if n <= 1 or r <= 0:
        return cx, cy
    a = 2.0 * math.pi * k / n
    return cx + r * math.cos(a), cy + r * math.sin(a)


def grid_radius(town: Township) -> float:
    """Radius (km) of a round grid with the town's mean grid area."""
    w, h = town.extent_km
    return math.sqrt(w * h / max(len(town.grids), 1) / math.pi)


def shift_of(spec: ShiftSpec, k: int) -> tuple[float, float]:
    """The shift of the k-th person of a role: the night shift spread evenly over the role.

    Person k is on nights when ``floor(k * night_share)`` steps up at k + 1.
    """
    share = spec.night_share
    if share > 0 and math.floor((k + 1) * share + 1e-9) > math.floor(k * share + 1e-9):
        return spec.night_shift_h
    return spec.shift_h


def on_duty_at(shift: tuple[float, float], hour: float) -> bool:
    """Whether local hour-of-day ``hour`` (0 <= hour < 24) is within ``shift``.

    ``shift`` is (start hour, end hour); an end before the start wraps midnight, and a
    shift of 24 hours or more is always on duty.
    """
    a, b = shift
    if b - a >= DAY_H:
        return True
    if a <= b:
        return a <= hour < b
    return hour >= a or hour < b


def staff_slots(
    town: Township,
    *,
    workers_per_grid: int | None = None,
    cadres_per_village: int | None = None,
    volunteers: int | None = None,
) -> list[StaffSlot]:
    """Everyone in the township config, in expansion order (see the module docstring).

    Args:
        town: the township config.
        workers_per_grid: instead of the config's grid and micro-grid workers, this many
            per grid: one grid worker at the centre and the rest as micro-grid workers
            on the ring (the simulator's staffing override).
        cadres_per_village: instead of each village's ``stationed_cadres``.
        volunteers: instead of ``staff.safety_volunteers``.
    """
    radius = grid_radius(town)
    out: list[StaffSlot] = []
    counters = dict.fromkeys(ROLES, 0)

    def add(role: str, village: str, grid: str, x: float, y: float, place: str, nth: int) -> None:
        out.append(StaffSlot(role, village, grid, x, y, counters[role], place, nth))
        counters[role] += 1

    for g in town.grids:
        gx, gy = g.position
        if workers_per_grid is None:
            for j in range(g.workers):
                add("grid_worker", g.village, g.id, gx, gy, g.id, j)
            mg = [(m, j) for m in g.micro_grids for j in range(m.workers)]
            for i, (m, j) in enumerate(mg):
                x, y = (
                    m.position if m.position is not None else ring(gx, gy, i, len(mg), radius / 2)
                )
                add("micro_grid_worker", g.village, g.id, x, y, m.id, j)
        elif workers_per_grid > 0:
            add("grid_worker", g.village, g.id, gx, gy, g.id, 0)
            n = workers_per_grid - 1
            for i in range(n):
                x, y = ring(gx, gy, i, n, radius / 2)
                add("micro_grid_worker", g.village, g.id, x, y, g.id, i)
    for v in town.villages:
        vx, vy = v.position
        n = v.stationed_cadres if cadres_per_village is None else cadres_per_village
        for j in range(n):
            add("cadre", v.id, "", vx, vy, v.id, j)
    total = town.staff.safety_volunteers if volunteers is None else volunteers
    n_v = len(town.villages)
    per_village: Counter[str] = Counter()
    for i in range(total):
        v = town.villages[i % n_v]
        x, y = ring(v.position[0], v.position[1], i // n_v, max(total // n_v, 1), radius / 2)
        add("volunteer", v.id, "", x, y, v.id, per_village[v.id])
        per_village[v.id] += 1
    return out


__all__ = [
    "DAY_H",
    "ROLES",
    "ShiftSpec",
    "StaffSlot",
    "grid_radius",
    "on_duty_at",
    "ring",
    "shift_of",
    "staff_slots",
]
