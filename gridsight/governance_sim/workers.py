"""Workers during a run: where each one is, and the view a dispatch policy gets of them.

A dispatch decision needs every worker of the order's village as a
:class:`~gridsight.core.dispatch.WorkerState` (on duty? busy? where? orders today?) and
the travel times of the free ones. Building those afresh for each decision was the
model's hottest path, yet between two decisions almost nothing changes: a worker's state
moves only when the worker is notified, acknowledges or is released (the model calls
:meth:`WorkerRuntime.touch`), or when the clock passes one of a few known instants — a
shift boundary, the end of lingering at the last job, the start or end of a household
visit, midnight (today's load resets). Each worker therefore keeps its state together
with the time until which it holds (``valid_until``), and each run of workers with one
shift (:class:`ShiftGroup`) keeps its states and its available workers together with the
earliest of its members' times. A decision goes through a
:class:`~gridsight.core.dispatch.WorkerIndex` of the village (:class:`VillageIndex`):
asked for one tier's available workers, it brings only that tier's groups up to date,
recomputing only the workers whose time has come, with the same functions as before, so
the policy sees exactly the states it would have seen without the cache.

Instants computed from shift hours or from ``free_at + linger`` are trusted only up to
:data:`EDGE_S` before them: closer than that the state is recomputed at every decision,
so float rounding near a boundary can never hand out a stale state.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from gridsight.core.dispatch import WorkerIndex, WorkerState
from gridsight.governance_sim.params import DAY_S, HOUR_S, Travel, Worker

# How long before a computed boundary a cached state stops being trusted (seconds).
EDGE_S = 1e-3

# (x km, y km, speed km/h) of a free worker, as LazyTravel needs it.
Place = tuple[float, float, float]

_NO_VISITS: list[float] = []  # shared by workers without household visits; never mutated


class TimeAverage:
    """Time integral of a piecewise-constant level, clipped to an observation window.

    Changes are recorded as they come (the model makes thousands) and integrated, in
    the same order with the same arithmetic, when :meth:`mean` is asked for.
    """

    __slots__ = ("_d", "_t", "area", "hi", "last_t", "level", "lo")

    def __init__(self, lo: float, hi: float) -> None:
        self.lo = lo
        self.hi = hi
        self.level = 0.0
        self.last_t = 0.0
        self.area = 0.0
        self._t: list[float] = []
        self._d: list[float] = []

    def change(self, t: float, delta: float) -> None:
        """The level changes by ``delta`` at time ``t`` (non-decreasing times)."""
        self._t.append(t)
        self._d.append(delta)

    def _integrate(self) -> None:
        lo, hi = self.lo, self.hi
        area, level, last_t = self.area, self.level, self.last_t
        for t, delta in zip(self._t, self._d, strict=True):
            a = lo if lo > last_t else last_t  # max(last_t, lo) and min(t, hi), as before
            b = hi if hi < t else t
            if b > a:
                area += level * (b - a)
            level += delta
            last_t = t
        self.area, self.level, self.last_t = area, level, last_t
        self._t.clear()
        self._d.clear()

    def mean(self) -> float:
        """Time-average level over the window (call after the run, flushed to ``hi``)."""
        self._integrate()
        self.change(max(self.hi, self.last_t), 0.0)
        self._integrate()
        return self.area / (self.hi - self.lo) if self.hi > self.lo else math.nan


class LazyTravel(Mapping[str, float]):
    """Expected travel times to one place, computed only for the workers a policy asks about.

    A policy looks at the candidates of one tier; computing every free worker's travel
    time up front (volunteers included) cost more than the decision itself. The value
    is :meth:`Travel.expected_s` of the straight-line distance, with the same
    arithmetic in the same order. The keys are the village's free workers at the time
    of ``index`` (as :meth:`VillageIndex.place` gives them).
    """

    __slots__ = ("_detour", "_index", "_overhead", "_travel", "_x", "_y")

    def __init__(self, x_km: float, y_km: float, index: VillageIndex, travel: Travel) -> None:
        self._x = x_km
        self._y = y_km
        self._index = index
        self._overhead = travel.overhead_s
        self._detour = travel.detour
        self._travel = travel if travel.roads is not None else None

    def __getitem__(self, worker_id: str) -> float:
        # Not cached: a policy asks for each candidate once (core.dispatch.PoolTravel).
        place = self._index.place(worker_id)
        if place is None:
            raise KeyError(worker_id)
        x, y, speed = place
        if speed <= 0.0:
            return self._overhead
        if self._travel is not None:  # over the road graph
            return self._overhead + self._travel.route_km(x, y, self._x, self._y) / speed * HOUR_S
        dist = math.hypot(self._x - x, self._y - y)
        return self._overhead + dist * self._detour / speed * HOUR_S

    def __contains__(self, worker_id: object) -> bool:
        return isinstance(worker_id, str) and self._index.place(worker_id) is not None

    def __iter__(self) -> Iterator[str]:
        index = self._index
        return iter([w.id for w in index.view.workers if index.place(w.id) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def next_shift_edge(spec: Worker, t: float) -> float:
    """The first shift boundary of ``spec`` after ``t`` (inf for a 24-hour shift)."""
    a, b = spec.shift
    if b - a >= 24.0:
        return math.inf
    day = math.floor(t / DAY_S)
    best = math.inf
    for d in (day - 1, day, day + 1):
        for h in (a, b):
            edge = d * DAY_S + h * HOUR_S
            if t < edge < best:
                best = edge
    return best


def shift_edges(spec: Worker, days: int) -> list[float]:
    """Every shift boundary of ``spec`` from the day before the run to ``days`` after it."""
    a, b = spec.shift
    if b - a >= 24.0:
        return []
    return sorted({d * DAY_S + h * HOUR_S for d in range(-1, days + 1) for h in (a, b)})


class WorkerRuntime:
    """Mutable state of one worker during a run, and its cached dispatch view.

    Args:
        spec: the worker.
        speed: the worker's travel speed, km/h (``Travel.speed`` of its mode).
        edges: the worker's shift boundaries over the run (``shift_edges``; shared by
            workers with the same shift); past its end they are computed one by one.
    """

    __slots__ = (
        "busy",
        "busy_s",
        "edges",
        "free_at",
        "group",
        "id",
        "last_x",
        "last_y",
        "load_day",
        "loads",
        "place",
        "spec",
        "speed",
        "state",
        "state_key",
        "states",
        "v_end",
        "v_start",
        "v_x",
        "v_y",
        "valid_until",
    )

    def __init__(self, spec: Worker, speed: float, edges: list[float] | None = None) -> None:
        self.spec = spec
        self.id = spec.id
        self.speed = speed
        self.edges = edges if edges is not None else []
        self.busy = False
        self.busy_s = 0.0
        self.free_at = -math.inf
        self.last_x = spec.x_km
        self.last_y = spec.y_km
        self.load_day = -1
        self.loads = 0
        # Household visits (set once by the model; never changed in place).
        self.v_start: list[float] = _NO_VISITS
        self.v_end: list[float] = _NO_VISITS
        self.v_x: list[float] = _NO_VISITS
        self.v_y: list[float] = _NO_VISITS
        self.state: WorkerState | None = None
        self.state_key: tuple[bool, bool, float, float, int] | None = None
        self.states: dict[tuple[bool, bool, float, float, int], WorkerState] = {}
        self.place: Place | None = None
        self.valid_until = -math.inf
        self.group: ShiftGroup | None = None

    def visiting(self, t: float) -> int:
        """Index of the household visit in progress at ``t``, or -1."""
        i = bisect_right(self.v_start, t) - 1
        return i if i >= 0 and t < self.v_end[i] else -1

    def position(self, t: float, linger_s: float) -> tuple[float, float]:
        """Where the worker is at ``t`` (not busy): last job site, a visit, or the office."""
        if t - self.free_at < linger_s:
            return self.last_x, self.last_y
        i = self.visiting(t)
        if i >= 0:
            return self.v_x[i], self.v_y[i]
        return self.spec.x_km, self.spec.y_km

    def load(self, t: float) -> int:
        """Orders taken today."""
        day = int(t // DAY_S)
        if day != self.load_day:
            self.load_day = day
            self.loads = 0
        return self.loads

    def touch(self) -> None:
        """Something the dispatch view shows changed (busy, load, last job site)."""
        self.valid_until = -math.inf
        if self.group is not None:
            self.group.valid_until = -math.inf
            self.group.idle = None

    def state_for(self, key: tuple[bool, bool, float, float, int]) -> WorkerState:
        """The worker's state for ``(on duty, busy, x, y, load)`` (one object per key)."""
        state = self.states.get(key)
        if state is None:
            s = self.spec
            state = WorkerState(
                s.id, s.role, s.village, s.grid, key[2], key[3], s.mode, key[0], key[1], key[4]
            )
            self.states[key] = state
        return state

    def refresh(self, t: float, linger_s: float, on: bool, until: float) -> None:
        """Recompute the dispatch view at ``t`` and the time until which it holds.

        Args:
            t: now.
            linger_s: how long a worker stays at the last job site.
            on: ``self.spec.on_duty(t)`` (shared by every worker with the same shift).
            until: the next shift boundary after ``t``, less :data:`EDGE_S`.

        The same answers as :meth:`position`, :meth:`load` and ``Worker.on_duty``,
        written out inline (this runs for every change of every worker).
        """
        s = self.spec
        if self.busy or not on:
            st = self.state
            if (
                st is None
                or st.on_duty != on
                or st.busy != self.busy
                or st.load
                or (st.x_km != s.x_km or st.y_km != s.y_km)
            ):
                key: tuple[bool, bool, float, float, int] = (on, self.busy, s.x_km, s.y_km, 0)
                self.state, self.state_key = self.state_for(key), key
                self.place = None
            self.valid_until = until
            return
        else:
            if t - self.free_at < linger_s:  # still at the last job site
                x, y = self.last_x, self.last_y
                u = self.free_at + linger_s - EDGE_S
                if u < until:
                    until = u
            elif self.v_start:
                vs = self.v_start
                j = bisect_right(vs, t)
                u = vs[j] if j < len(vs) else math.inf
                if j and t < self.v_end[j - 1]:  # on a household visit
                    x, y = self.v_x[j - 1], self.v_y[j - 1]
                    if self.v_end[j - 1] < u:
                        u = self.v_end[j - 1]
                else:
                    x, y = s.x_km, s.y_km
                if u < until:
                    until = u
            else:
                x, y = s.x_km, s.y_km
            day = int(t // DAY_S)
            if day != self.load_day:
                self.load_day = day
                self.loads = 0
            elif self.loads:  # today's load resets at midnight
                u = (day + 1) * DAY_S - EDGE_S
                if u < until:
                    until = u
            st = self.state
            # Unchanged (most calls: a visit began and ended since the last decision):
            # compare, allocate nothing.
            if (
                st is None
                or not st.on_duty
                or st.busy
                or st.x_km != x
                or st.y_km != y
                or st.load != self.loads
            ):
                key = (True, False, x, y, self.loads)
                self.state, self.state_key = self.state_for(key), key
                self.place = (x, y, self.speed)
        self.valid_until = until


class ShiftGroup:
    """A run of consecutive workers of one village with the same shift.

    Besides recomputing its members one by one, a group knows two cases where its
    states follow from the shift alone: everybody off duty and nobody busy (each
    member's off-duty state, which never changes), and everybody on duty, idle at the
    office with no visits, no lingering and no order today (each member's idle state,
    until a member is touched). Volunteers and cadres spend most of the run in these.

    Attributes:
        states: every member's state (member order), as of the last :meth:`update`.
        free: the available ones among them (on duty, not busy), in the same order.
        roles: the roles of the members.
    """

    __slots__ = (
        "edges",
        "free",
        "idle",
        "members",
        "off",
        "roles",
        "spec",
        "states",
        "valid_until",
        "visits",
    )

    def __init__(self, members: list[WorkerRuntime]) -> None:
        self.members = members
        self.spec = members[0].spec
        self.edges = members[0].edges
        self.roles = frozenset(m.spec.role for m in members)
        self.states: list[WorkerState] = []
        self.free: list[WorkerState] = []
        self.valid_until = -math.inf
        self.off: list[WorkerState] | None = None
        self.idle: list[WorkerState] | None = None
        # Whether a member has household visits (set by the model after construction).
        self.visits: bool | None = None

    def shift_at(self, t: float) -> tuple[bool, float]:
        """On duty at ``t``, and until when that holds (the next shift edge less EDGE_S)."""
        j = bisect_right(self.edges, t)
        edge = self.edges[j] if j < len(self.edges) else next_shift_edge(self.spec, t)
        return self.spec.on_duty(t), edge - EDGE_S

    def update(self, t: float, linger_s: float) -> None:
        """Bring ``states``, ``free`` and ``valid_until`` to time ``t``."""
        on, until = self.shift_at(t)
        members = self.members
        if not on and not any(m.busy for m in members):
            if self.off is None:
                self.off = [
                    m.state_for((False, False, m.spec.x_km, m.spec.y_km, 0)) for m in members
                ]
            self.states, self.free, self.valid_until = self.off, [], until
            return
        if on and self.idle is not None:
            self.states = self.free = self.idle
            self.valid_until = until
            return
        states: list[WorkerState] = []
        quiet = on
        edge_until = until  # each member's own time is bounded by the shift edge only
        append = states.append
        for m in members:
            if t >= m.valid_until:
                m.refresh(t, linger_s, on, edge_until)
            append(m.state)  # type: ignore[arg-type]
            if m.valid_until < until:
                until = m.valid_until
            if quiet and (
                m.busy or m.v_start or m.loads or t - m.free_at < linger_s or m.place is None
            ):
                quiet = False
        if quiet:  # on duty and nobody busy: everybody is free
            self.idle = self.states = self.free = states
        else:
            self.states = states
            self.free = [st for st in states if st.on_duty and not st.busy] if on else []
        self.valid_until = until


class VillageView:
    """The workers of one village, in shift groups, as dispatch indexes them."""

    __slots__ = ("by_id", "groups", "tier_groups", "village", "workers")

    def __init__(self, workers: list[WorkerRuntime]) -> None:
        self.workers = workers
        self.village = workers[0].spec.village if workers else ""
        self.by_id = {w.id: w for w in workers}
        self.groups: list[ShiftGroup] = []
        # roles of a tier -> its groups, and whether all of a group's members are in it.
        self.tier_groups: dict[tuple[str, ...], list[tuple[ShiftGroup, bool]]] = {}
        run: list[WorkerRuntime] = []
        for w in workers:
            if run and w.edges is not run[0].edges:
                self.groups.append(ShiftGroup(run))
                run = []
            run.append(w)
        if run:
            self.groups.append(ShiftGroup(run))
        for g in self.groups:
            for w in g.members:
                w.group = g

    def groups_of(self, roles: tuple[str, ...]) -> list[tuple[ShiftGroup, bool]]:
        """The groups with a member of one of ``roles`` (and whether all members are)."""
        found = self.tier_groups.get(roles)
        if found is None:
            found = [(g, g.roles <= set(roles)) for g in self.groups if g.roles & set(roles)]
            self.tier_groups[roles] = found
        return found

    def at(self, t: float, linger_s: float) -> VillageIndex:
        """The village's :class:`~gridsight.core.dispatch.WorkerIndex` at time ``t``."""
        return VillageIndex(self, t, linger_s)


class LazyPool(Sequence[WorkerState]):
    """A tier's candidates at one instant, each state computed when it is first read.

    Whether a worker is a candidate (on duty, not busy, not tried) is known without its
    state; where it is (household visits, lingering) is what costs, and grid staff
    move all day. A policy that stops at the grid's owner reads no further.

    Args:
        members: the candidates, in worker order (None where the state is known).
        states: their states where already known (None: compute on first read).
        t: the instant.
        linger_s: the model's lingering time.
        until: a bound for the members' recomputed states (their groups' next shift
            edge, less EDGE_S; an earlier bound only recomputes sooner).
    """

    __slots__ = ("_linger", "_members", "_states", "_t", "_until")

    def __init__(
        self,
        members: list[WorkerRuntime | None],
        states: list[WorkerState | None],
        t: float,
        linger_s: float,
        until: float,
    ) -> None:
        self._members = members
        self._states = states
        self._t = t
        self._linger = linger_s
        self._until = until

    def _state(self, i: int) -> WorkerState:
        st = self._states[i]
        if st is None:
            m = self._members[i]  # given wherever the state is not
            if self._t >= m.valid_until:  # type: ignore[union-attr]
                m.refresh(self._t, self._linger, True, self._until)  # type: ignore[union-attr]
            st = self._states[i] = m.state  # type: ignore[union-attr]
        return st  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._members)

    def __getitem__(self, i: int | slice) -> Any:
        n = len(self._members)
        if isinstance(i, slice):
            return [self._state(k) for k in range(*i.indices(n))]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("pool index out of range")
        return self._state(i)

    def __iter__(self) -> Iterator[WorkerState]:
        # _state written out: this is the loop a policy runs over the pool.
        states, members, t = self._states, self._members, self._t
        for i, st in enumerate(states):
            if st is None:
                m = members[i]
                if t >= m.valid_until:  # type: ignore[union-attr]
                    m.refresh(t, self._linger, True, self._until)  # type: ignore[union-attr]
                st = states[i] = m.state  # type: ignore[union-attr]
            yield st  # type: ignore[misc]


class VillageIndex(WorkerIndex):
    """One village's workers at one instant, as :meth:`DispatchPolicy.choose` asks for them.

    A tier's groups are brought up to date only when the tier is asked for; a group of
    grid staff with household visits is not recomputed as a whole but handed out as a
    :class:`LazyPool`.
    """

    __slots__ = ("linger_s", "t", "view")

    def __init__(self, view: VillageView, t: float, linger_s: float) -> None:
        self.view = view
        self.t = t
        self.linger_s = linger_s

    def available(
        self, village: str, roles: tuple[str, ...], tried: frozenset[str]
    ) -> Sequence[WorkerState]:
        view = self.view
        if village != view.village:
            return []
        t = self.t
        # Per group: its candidates' states (a list), or its candidates to read lazily.
        parts: list[list[WorkerState] | list[WorkerRuntime]] = []
        lazy: list[bool] = []
        until = math.inf
        for g, whole in view.tier_groups.get(roles) or view.groups_of(roles):
            if t >= g.valid_until:
                if g.visits is None:
                    g.visits = any(m.v_start for m in g.members)
                if g.visits:
                    on, edge_until = g.shift_at(t)
                    if on:
                        if whole and not tried:
                            parts.append([m for m in g.members if not m.busy])
                        else:
                            parts.append(
                                [
                                    m
                                    for m in g.members
                                    if not m.busy
                                    and m.id not in tried
                                    and (whole or m.spec.role in roles)
                                ]
                            )
                        lazy.append(True)
                        until = min(until, edge_until)
                    continue
                g.update(t, self.linger_s)
            if whole and not tried:
                parts.append(list(g.free))
            else:
                parts.append(
                    [st for st in g.free if st.id not in tried and (whole or st.role in roles)]
                )
            lazy.append(False)
        if len(parts) == 1:
            if not lazy[0]:
                return parts[0]  # type: ignore[return-value]
            return LazyPool(parts[0], [None] * len(parts[0]), t, self.linger_s, until)  # type: ignore[arg-type]
        members: list[WorkerRuntime | None] = []
        states: list[WorkerState | None] = []
        for part, is_lazy in zip(parts, lazy, strict=True):
            if is_lazy:
                members += part  # type: ignore[arg-type]
                states += [None] * len(part)
            else:
                members += [None] * len(part)
                states += part  # type: ignore[arg-type]
        if not any(lazy):
            return states  # type: ignore[return-value]
        return LazyPool(members, states, t, self.linger_s, until)

    def states(self) -> list[WorkerState]:
        t = self.t
        out: list[WorkerState] = []
        for g in self.view.groups:
            if t >= g.valid_until:
                g.update(t, self.linger_s)
            out += g.states
        return out

    def place(self, worker_id: str) -> Place | None:
        """Where a free worker of the village is (x, y, speed) at ``t``; None if not free."""
        w = self.view.by_id.get(worker_id)
        if w is None:
            return None
        t = self.t
        if t < w.valid_until:  # the worker's own state holds (whatever its group's shortcut)
            st = w.state
            return w.place if st.on_duty and not st.busy else None  # type: ignore[union-attr]
        if w.busy or w.group is None:
            return None
        on, until = w.group.shift_at(t)
        if not on:
            return None
        w.refresh(t, self.linger_s, True, until)
        return w.place
