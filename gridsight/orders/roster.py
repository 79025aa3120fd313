"""The live roster: who can be dispatched now, where they are, and how loaded.

The people come from the township config (grid workers per grid, micro-grid workers per
micro-grid, stationed cadres per village, safety volunteers town-wide), expanded and
placed exactly as the simulator places them, so that a trace replayed through both picks
the same people. Shifts and travel modes come from ``orders.staffing``.

What changes during the day lives in the store: the last known position of each worker
(``workers_live``, updated when they acknowledge or report from the site), the orders
they are committed to (assignee of an order in ``dispatched``/``acknowledged``/
``on_site``: busy) and the orders they took today (acknowledgements since local
midnight: the ``load`` the least-loaded rules compare).

The expansion, the night-shift spread and the shift rule are :mod:`gridsight.core.roster`,
which the simulator (``gridsight.governance_sim.scenario.township_view``) calls too; this
module only names the people (``gw-<grid>``, ...). ``tests/orders/test_roster.py`` checks
that both give the same people, places, modes and shifts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridsight.core.config import Township
from gridsight.core.dispatch import WorkerState
from gridsight.core.roster import ROLES, StaffSlot, on_duty_at, shift_of, staff_slots
from gridsight.orders.config import RoleShift, Staffing
from gridsight.orders.errors import UnknownWorker
from gridsight.orders.states import BUSY_STATES, OPEN_STATES
from gridsight.orders.tables import transitions, work_orders, workers_live

ROLE_ORDER: tuple[str, ...] = ROLES


@dataclass(frozen=True, slots=True)
class StaffMember:
    """One person who can be dispatched (from the config; never changes during a run).

    Attributes:
        id: worker id (``gw-<grid>``, ``mw-<micro-grid>``, ``cadre-<village>``,
            ``vol-<village>-<n>``; ``-2``, ``-3`` ... when a place has several).
        role: ``grid_worker``, ``micro_grid_worker``, ``cadre`` or ``volunteer``.
        village: village served.
        grid: grid of grid staff ("" for cadres and volunteers).
        x_km: base position (office, micro-grid), km east.
        y_km: base position, km north.
        mode: travel mode.
        shift: daily shift (start hour, end hour) in local time; end < start wraps
            midnight; (0, 24) is always on duty.
    """

    id: str
    role: str
    village: str
    grid: str
    x_km: float
    y_km: float
    mode: str
    shift: tuple[float, float]

    def on_duty_at(self, hour: float) -> bool:
        """Whether local hour-of-day ``hour`` (0 <= hour < 24) is within the shift."""
        return on_duty_at(self.shift, hour)


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A worker as the roster sees them now (what ``workers_on_duty`` returns).

    Attributes:
        member: who they are.
        on_duty: within their shift now.
        busy: committed to an order (dispatched, acknowledged or on site).
        x_km: last known position (base if never reported).
        y_km: last known position.
        position_at: when the position was reported (None: base position).
        load: orders taken (acknowledged) today.
        open_orders: open orders assigned to them.
    """

    member: StaffMember
    on_duty: bool
    busy: bool
    x_km: float
    y_km: float
    position_at: float | None
    load: int
    open_orders: int

    @property
    def id(self) -> str:
        """Worker id."""
        return self.member.id

    def state(self) -> WorkerState:
        """The dispatch policy's view of this worker."""
        m = self.member
        return WorkerState(
            m.id, m.role, m.village, m.grid, self.x_km, self.y_km, m.mode,
            self.on_duty, self.busy, self.load,
        )  # fmt: skip

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        m = self.member
        return {
            "id": m.id,
            "role": m.role,
            "village": m.village,
            "grid": m.grid,
            "mode": m.mode,
            "shift": list(m.shift),
            "on_duty": self.on_duty,
            "busy": self.busy,
            "x_km": self.x_km,
            "y_km": self.y_km,
            "position_at": self.position_at,
            "load": self.load,
            "open_orders": self.open_orders,
        }


def _numbered(base: str, k: int) -> str:
    return base if k == 0 else f"{base}-{k + 1}"


_PREFIX = {"grid_worker": "gw", "micro_grid_worker": "mw", "cadre": "cadre"}


def _member_id(slot: StaffSlot) -> str:
    if slot.role == "volunteer":
        return f"vol-{slot.place}-{slot.nth + 1:03d}"
    return _numbered(f"{_PREFIX[slot.role]}-{slot.place}", slot.nth)


def build_staff(town: Township, staffing: Staffing) -> tuple[StaffMember, ...]:
    """Everyone who can be dispatched, in the simulator's order and places.

    Ids sort within a village and role in the order they are built, and grid workers
    before micro-grid workers, so the policies' id tie-break picks as the simulator does.
    """
    out: list[StaffMember] = []
    for slot in staff_slots(town):
        spec: RoleShift = getattr(staffing, slot.role)
        out.append(
            StaffMember(
                _member_id(slot), slot.role, slot.village, slot.grid, slot.x_km, slot.y_km,
                spec.mode, shift_of(spec, slot.k),
            )
        )  # fmt: skip
    return tuple(out)


class Roster:
    """The township's staff with the live state read from the store.

    Args:
        town: the township config.
        staffing: shifts and modes per role.
        zone: the local time zone (shifts and "today").
    """

    def __init__(self, town: Township, staffing: Staffing, zone: ZoneInfo) -> None:
        self.town = town
        self.zone = zone
        self.members = build_staff(town, staffing)
        self.by_id: dict[str, StaffMember] = {m.id: m for m in self.members}
        self.by_village: dict[str, list[StaffMember]] = {}
        for m in self.members:
            self.by_village.setdefault(m.village, []).append(m)

    def get(self, worker_id: str) -> StaffMember:
        """The member with this id.

        Raises:
            UnknownWorker: nobody on the roster has it.
        """
        m = self.by_id.get(worker_id)
        if m is None:
            raise UnknownWorker(worker_id, list(self.by_id))
        return m

    def local_hour(self, now: float) -> float:
        """Local hour of day (fractional) at epoch time ``now``."""
        t = datetime.fromtimestamp(now, self.zone)
        return t.hour + t.minute / 60.0 + (t.second + t.microsecond / 1e6) / 3600.0

    def day_start(self, now: float) -> float:
        """Epoch time of the local midnight starting the day of ``now``."""
        t = datetime.fromtimestamp(now, self.zone)
        return t.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def entries(
        self, conn: Connection, now: float, members: Sequence[StaffMember] | None = None
    ) -> list[RosterEntry]:
        """The live state of ``members`` (default: everyone) at ``now``."""
        people = list(self.members if members is None else members)
        ids = [m.id for m in people]
        hour = self.local_hour(now)
        positions = _positions(conn, ids)
        busy, open_count = _commitments(conn, ids)
        loads = _loads_today(conn, set(ids), self.day_start(now))
        out: list[RosterEntry] = []
        for m in people:
            pos = positions.get(m.id)
            x, y, at = (m.x_km, m.y_km, None) if pos is None else pos
            out.append(
                RosterEntry(
                    m, m.on_duty_at(hour), m.id in busy, x, y, at,
                    loads.get(m.id, 0), open_count.get(m.id, 0),
                )
            )  # fmt: skip
        return out

    def village_entries(self, conn: Connection, village: str, now: float) -> list[RosterEntry]:
        """The live state of the people serving one village."""
        return self.entries(conn, now, self.by_village.get(village, []))

    def travel_s(
        self, x_km: float, y_km: float, entries: Iterable[RosterEntry]
    ) -> dict[str, float]:
        """Expected travel time (s) of each available entry to a place (core travel model)."""
        by_mode: dict[str, list[RosterEntry]] = {}
        for e in entries:
            if e.on_duty and not e.busy:
                by_mode.setdefault(e.member.mode, []).append(e)
        out: dict[str, float] = {}
        travel = self.town.travel
        for mode, group in by_mode.items():
            origins = np.asarray([(e.x_km, e.y_km) for e in group], dtype=np.float64)
            dests = np.broadcast_to(np.asarray([x_km, y_km], dtype=np.float64), origins.shape)
            minutes = travel.time_min(origins, dests, mode)  # type: ignore[arg-type]
            out.update({e.id: float(m) * 60.0 for e, m in zip(group, minutes, strict=True)})
        return out


def _positions(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(
            workers_live.c.worker_id,
            workers_live.c.x_km,
            workers_live.c.y_km,
            workers_live.c.updated_at,
        ).where(workers_live.c.worker_id.in_(ids))
    )
    return {r.worker_id: (r.x_km, r.y_km, r.updated_at) for r in rows}


def _commitments(conn: Connection, ids: Sequence[str]) -> tuple[set[str], Counter[str]]:
    if not ids:
        return set(), Counter()
    rows = conn.execute(
        sa.select(work_orders.c.assignee, work_orders.c.state).where(
            work_orders.c.assignee.in_(ids), work_orders.c.state.in_(sorted(OPEN_STATES))
        )
    )
    busy: set[str] = set()
    count: Counter[str] = Counter()
    for r in rows:
        count[r.assignee] += 1
        if r.state in BUSY_STATES:
            busy.add(r.assignee)
    return busy, count


def _loads_today(conn: Connection, ids: set[str], since: float) -> Mapping[str, int]:
    rows = conn.execute(
        sa.select(transitions.c.data).where(
            transitions.c.to_state == "acknowledged", transitions.c.at >= since
        )
    )
    loads: Counter[str] = Counter()
    for (data,) in rows:
        worker = json.loads(data).get("worker") if data else None
        if worker in ids:
            loads[worker] += 1
    return loads


def record_position(conn: Connection, worker_id: str, x_km: float, y_km: float, at: float) -> None:
    """Upsert a worker's last known position (an older report never overwrites a newer one)."""
    values = {"worker_id": worker_id, "x_km": x_km, "y_km": y_km, "updated_at": at}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(workers_live).values(**values)
        stmt: sa.Executable = pg.on_conflict_do_update(
            index_elements=[workers_live.c.worker_id],
            set_={"x_km": pg.excluded.x_km, "y_km": pg.excluded.y_km, "updated_at": at},
            where=workers_live.c.updated_at <= at,
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(workers_live).values(**values)
        stmt = lite.on_conflict_do_update(
            index_elements=[workers_live.c.worker_id],
            set_={"x_km": lite.excluded.x_km, "y_km": lite.excluded.y_km, "updated_at": at},
            where=workers_live.c.updated_at <= at,
        )
    conn.execute(stmt)
