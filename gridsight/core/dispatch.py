"""Work-order dispatch policies: the same code serves the live service and the simulator.

A policy answers one question: *given this work order, these workers and the time now,
who should be notified?* It is a pure function of its inputs (no clock, no I/O, no
randomness), so the live command platform and the SimPy township model call exactly
the same code, and tests can check it without either.

Escalation works in tiers. Tier 0 is the grid staff (grid workers and micro-grid
workers) of the order's village, tier 1 the village cadres (stationed cadres, first
secretaries), tier 2 the safety volunteers. A policy looks at tiers from the order's
current ``tier`` upwards and picks from the first tier that has somebody available.
When the notified worker does not acknowledge in time the caller escalates the order
(:func:`escalate`): the worker is remembered in ``tried`` and the tier goes up by one,
so the next call reaches the cadre, then the volunteers — "when nobody acknowledges in
time" as the published loop describes it (docs/deployment.md#the-reservoir-case).

Example:
    >>> policy = GridOwnerFirst()
    >>> order = WorkOrder("wo-1", "near_water", "ruijia", "ruijia-g01", 1.0, 2.0, created=0.0)
    >>> staff = [WorkerState("w1", "grid_worker", "ruijia", "ruijia-g01", 1.2, 2.0)]
    >>> policy.choose(order, staff, now=5.0)
    'w1'
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from gridsight.core.errors import ConfigError, PluginError

if TYPE_CHECKING:
    import pluggy

log = logging.getLogger("gridsight.plugins")

# Escalation tiers: roles reachable at each tier, in order.
GRID_STAFF_ROLES: tuple[str, ...] = ("grid_worker", "micro_grid_worker")
CADRE_ROLES: tuple[str, ...] = ("cadre",)
VOLUNTEER_ROLES: tuple[str, ...] = ("volunteer",)
DEFAULT_TIERS: tuple[tuple[str, ...], ...] = (GRID_STAFF_ROLES, CADRE_ROLES, VOLUNTEER_ROLES)

# Straight-line speeds (km/h) used only when the caller gives no travel times; the
# simulator and the live service pass real travel-model times instead.
FALLBACK_SPEED_KMH: Mapping[str, float] = {"walk": 4.5, "ebike": 15.0, "car": 30.0}


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """A work order waiting for a worker.

    Attributes:
        id: order id (an alert id, or a resident request id).
        kind: hazard id (``near_water``, ...) or request kind (``qr_request``, ``hotline``).
        village: village id of the place.
        grid: comprehensive grid id of the place (its owner is that grid's grid worker).
        x_km: east coordinate of the place, km.
        y_km: north coordinate of the place, km.
        created: time the order was created (seconds; any consistent clock).
        priority: higher is more urgent (hazard alerts above resident requests).
        tier: first escalation tier to look at (0 = grid staff).
        tried: workers already notified who did not acknowledge.
    """

    id: str
    kind: str
    village: str
    grid: str
    x_km: float
    y_km: float
    created: float = 0.0
    priority: int = 0
    tier: int = 0
    tried: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class WorkerState:
    """What a policy may know about one worker at the time of the decision.

    Attributes:
        id: worker id.
        role: ``grid_worker``, ``micro_grid_worker``, ``cadre`` or ``volunteer``.
        village: village the worker serves.
        grid: comprehensive grid the worker belongs to ("" for village-wide roles).
        x_km: current east coordinate, km.
        y_km: current north coordinate, km.
        mode: travel mode (``walk``, ``ebike``, ``car``).
        on_duty: within the worker's shift.
        busy: handling another work order (not available).
        load: work orders taken so far today (the tie-breaker of least-loaded choice).
    """

    id: str
    role: str
    village: str
    grid: str
    x_km: float
    y_km: float
    mode: str = "ebike"
    on_duty: bool = True
    busy: bool = False
    load: int = 0

    @property
    def available(self) -> bool:
        """On duty and not busy with another order."""
        return self.on_duty and not self.busy


def straight_line_travel_s(order: WorkOrder, worker: WorkerState) -> float:
    """Straight-line travel time in seconds at the mode's fallback speed."""
    dist = math.hypot(order.x_km - worker.x_km, order.y_km - worker.y_km)
    speed = FALLBACK_SPEED_KMH.get(worker.mode, FALLBACK_SPEED_KMH["walk"])
    return dist / speed * 3600.0


def escalate(order: WorkOrder, worker_id: str, n_tiers: int = len(DEFAULT_TIERS)) -> WorkOrder:
    """The order after ``worker_id`` failed to acknowledge in time.

    The worker is added to ``tried`` (never notified again for this order) and the
    order moves up one tier, capped at the last tier so volunteers stay reachable.
    """
    return replace(
        order,
        tried=order.tried | {worker_id},
        tier=min(order.tier + 1, n_tiers - 1),
    )


def nearest(pool: Sequence[WorkerState], travel_s: Mapping[str, float]) -> str:
    """The id of the worker of ``pool`` with the shortest travel; ties go to the least loaded."""
    if len(pool) == 1:  # often the village's one cadre: no travel time to look up
        return pool[0].id
    # Round to whole seconds so that "equally near" workers really tie.
    best = min(pool, key=lambda w: (round(travel_s[w.id]), w.load, w.id))
    return best.id


class WorkerIndex(ABC):
    """Workers' states indexed for dispatch: a tier's candidates without a scan.

    :meth:`DispatchPolicy.choose` takes one in place of a sequence of states and asks
    it, tier by tier, for :meth:`available`; the simulator keeps one per village,
    updated as workers change. :class:`IndexedStates` indexes a plain list.
    """

    __slots__ = ()

    @abstractmethod
    def available(
        self, village: str, roles: tuple[str, ...], tried: frozenset[str]
    ) -> Sequence[WorkerState]:
        """Available workers (on duty, not busy) of ``village``, role in ``roles``, not tried.

        Exactly what the default :meth:`DispatchPolicy.candidates` keeps from
        :meth:`states`, in the same order: the pool handed to ``pick`` (a sequence of
        its own, which the index may compute item by item as it is read).
        """

    @abstractmethod
    def states(self) -> Sequence[WorkerState]:
        """Every indexed worker's state (a fresh sequence the caller may keep)."""


class IndexedStates(WorkerIndex):
    """A :class:`WorkerIndex` over a sequence of states (each tier scanned once)."""

    __slots__ = ("_pools", "_states")

    def __init__(self, states: Sequence[WorkerState]) -> None:
        self._states = list(states)
        self._pools: dict[tuple[str, tuple[str, ...]], list[WorkerState]] = {}

    def available(
        self, village: str, roles: tuple[str, ...], tried: frozenset[str]
    ) -> list[WorkerState]:
        key = (village, roles)
        pool = self._pools.get(key)
        if pool is None:
            pool = [
                w
                for w in self._states
                if w.role in roles and w.village == village and w.on_duty and not w.busy
            ]
            self._pools[key] = pool
        return [w for w in pool if w.id not in tried] if tried else list(pool)

    def states(self) -> list[WorkerState]:
        return list(self._states)


class PoolTravel(Mapping[str, float]):
    """Travel times of one pool's workers, computed when a policy first asks for one.

    The mapping :meth:`DispatchPolicy.pick` receives: one entry per pool member, the
    caller's time where it has one, else the straight-line time. Many picks never look
    (the grid owner is available), so nothing is computed before the first lookup.
    """

    __slots__ = ("_given", "_order", "_pool", "_times")

    def __init__(
        self,
        order: WorkOrder,
        pool: Sequence[WorkerState],
        travel_s: Mapping[str, float] | None,
    ) -> None:
        self._order = order
        self._pool = pool
        self._given = travel_s
        self._times: dict[str, float] | None = None

    def _all(self) -> dict[str, float]:
        times = self._times
        if times is None:
            order, given = self._order, self._given
            if given is None:
                times = {w.id: straight_line_travel_s(order, w) for w in self._pool}
            else:
                times = {
                    w.id: given[w.id] if w.id in given else straight_line_travel_s(order, w)
                    for w in self._pool
                }
            self._times = times
        return times

    def __getitem__(self, worker_id: str) -> float:
        return (self._times or self._all())[worker_id]

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in (self._times or self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._times or self._all())

    def __len__(self) -> int:
        return len(self._times or self._all())


class DispatchPolicy(ABC):
    """Chooses who is notified of a work order.

    Subclasses set ``name`` and implement :meth:`pick`; :meth:`choose` does the
    common part (tiers, availability, village scope, ``tried``).

    Attributes:
        name: unique policy name (the scenario's ``dispatch.policy``).
        tiers: roles reachable at each escalation tier.
    """

    name: ClassVar[str] = ""
    tiers: ClassVar[tuple[tuple[str, ...], ...]] = DEFAULT_TIERS

    def candidates(
        self, order: WorkOrder, workers: Sequence[WorkerState], tier: int
    ) -> list[WorkerState]:
        """Available workers of ``tier`` serving the order's village, not yet tried."""
        return IndexedStates(workers).available(order.village, self.tiers[tier], order.tried)

    def choose(
        self,
        order: WorkOrder,
        workers: Sequence[WorkerState] | WorkerIndex,
        now: float,
        travel_s: Mapping[str, float] | None = None,
    ) -> str | None:
        """The id of the worker to notify, or None when nobody is available.

        Args:
            order: the work order.
            workers: current state of the workers (any superset of the candidates), or
                a :class:`WorkerIndex` of them (the same choice, without a scan of
                everybody per tier; a policy that overrides :meth:`candidates` is given
                ``workers.states()``).
            now: the time of the decision, on the order's clock.
            travel_s: expected travel time (s) of each worker to the order's place;
                missing entries fall back to straight-line time at the mode's speed.

        Returns:
            A worker id from the first tier, at or above ``order.tier``, with an
            available candidate; failing that, from the lower tiers (escalation adds
            people, it does not take the grid staff away); None when no tier has one
            (the caller queues the order).
        """
        index: WorkerIndex | None = None
        if isinstance(workers, WorkerIndex):
            if type(self).candidates is DispatchPolicy.candidates:
                index = workers
            else:  # the subclass's own candidates() expects a sequence of states
                workers = workers.states()
        tiers = self.tiers
        start = min(order.tier, len(tiers) - 1)
        for tier in (*range(start, len(tiers)), *range(start)):
            if index is not None:  # what candidates() would return, from the index
                pool: Sequence[WorkerState] = index.available(
                    order.village, tiers[tier], order.tried
                )
            else:
                pool = self.candidates(order, workers, tier)  # type: ignore[arg-type]
            if pool:
                return self.pick(order, pool, PoolTravel(order, pool, travel_s), now)
        return None

    @abstractmethod
    def pick(
        self,
        order: WorkOrder,
        pool: Sequence[WorkerState],
        travel_s: Mapping[str, float],
        now: float,
    ) -> str:
        """Pick one worker id from a non-empty pool of available candidates of one tier."""


class NearestAvailable(DispatchPolicy):
    """The available worker with the shortest travel time; ties go to the least loaded."""

    name = "nearest_available"

    def pick(
        self,
        order: WorkOrder,
        pool: Sequence[WorkerState],
        travel_s: Mapping[str, float],
        now: float,
    ) -> str:
        return nearest(pool, travel_s)


class LeastLoaded(DispatchPolicy):
    """The available worker with the fewest orders today; ties go to the nearest."""

    name = "least_loaded"

    def pick(
        self,
        order: WorkOrder,
        pool: Sequence[WorkerState],
        travel_s: Mapping[str, float],
        now: float,
    ) -> str:
        if len(pool) == 1:
            return pool[0].id
        best = min(pool, key=lambda w: (w.load, round(travel_s[w.id]), w.id))
        return best.id


class GridOwnerFirst(DispatchPolicy):
    """The published rule: the grid's own grid worker first, else nearest, else least loaded.

    The order's grid owner (the ``grid_worker`` of ``order.grid``) is notified when
    available; otherwise the nearest available candidate by travel time, ties broken
    by the lighter load. This is the default policy.
    """

    name = "grid_owner_first"

    def pick(
        self,
        order: WorkOrder,
        pool: Sequence[WorkerState],
        travel_s: Mapping[str, float],
        now: float,
    ) -> str:
        for w in pool:
            if w.role == "grid_worker" and w.grid == order.grid:
                return w.id
        return nearest(pool, travel_s)


BUILTIN_POLICIES: tuple[type[DispatchPolicy], ...] = (GridOwnerFirst, NearestAvailable, LeastLoaded)


@dataclass(frozen=True, slots=True)
class PolicyRegistry:
    """Dispatch policies by name, and the plugins whose policies could not be loaded.

    The one lookup of dispatch policies: the live service (``orders``), the simulator
    and ``gridsight plugins`` all ask :func:`load_policies` and :func:`resolve_policy`.

    Attributes:
        policies: ``{name: DispatchPolicy subclass}``, built-ins first.
        failures: ``{plugin name: error}`` of plugins that failed to import or whose
            ``gridsight_register_dispatch_policies`` raised or returned something that
            is not a named ``DispatchPolicy`` subclass.
    """

    policies: dict[str, type[DispatchPolicy]]
    failures: dict[str, str] = field(default_factory=dict)


BUILTIN_REGISTRY = PolicyRegistry({p.name: p for p in BUILTIN_POLICIES})


def load_policies(pm: pluggy.PluginManager) -> PolicyRegistry:
    """The built-in policies plus those the plugins of ``pm`` register.

    Each plugin's registration hook is called on its own, so that one broken plugin
    neither hides the others nor the built-ins; it is logged and kept in ``failures``
    with its name and error, and an unknown policy name later lists it.

    Raises:
        PluginError: two plugins register different policies under one name.
    """
    from gridsight.core.plugins import load_errors  # the plugin manager sits above this

    policies: dict[str, type[DispatchPolicy]] = dict(BUILTIN_REGISTRY.policies)
    failures = load_errors(pm)
    for impl in pm.hook.gridsight_register_dispatch_policies.get_hookimpls():
        if impl.hookwrapper or impl.wrapper:  # wrappers register nothing themselves
            continue
        try:
            registered: Any = impl.function()
        except Exception as exc:
            failures[impl.plugin_name] = (
                f"gridsight_register_dispatch_policies raised {type(exc).__name__}: {exc}"
            )
            log.warning("plugin %r: %s", impl.plugin_name, failures[impl.plugin_name])
            continue
        for cls in registered or []:
            if not (isinstance(cls, type) and issubclass(cls, DispatchPolicy) and cls.name):
                failures[impl.plugin_name] = (
                    f"gridsight_register_dispatch_policies returned {cls!r}, not a "
                    "DispatchPolicy subclass with a name"
                )
                log.warning("plugin %r: %s", impl.plugin_name, failures[impl.plugin_name])
                continue
            if policies.get(cls.name, cls) is not cls:
                raise PluginError(
                    f"plugin {impl.plugin_name!r} registers the dispatch policy {cls.name!r}, "
                    "which another policy already has"
                )
            policies[cls.name] = cls
    return PolicyRegistry(policies, failures)


def resolve_policy(
    name: str, registry: PolicyRegistry | None = None, *, setting: str = "dispatch.policy"
) -> type[DispatchPolicy]:
    """The policy class called ``name``.

    Args:
        name: the policy's name (a scenario's ``dispatch.policy``, a township's
            ``orders.policy``).
        registry: policies to choose from (``load_policies(pm)``); None knows only the
            built-ins.
        setting: the setting that named it, for the error message.

    Raises:
        ConfigError: no policy has that name (the message lists the known ones and the
            plugins that failed to load, with their errors).
    """
    reg = BUILTIN_REGISTRY if registry is None else registry
    if name in reg.policies:
        return reg.policies[name]
    msg = f"{setting}: unknown policy {name!r}; known: {', '.join(sorted(reg.policies))}"
    if reg.failures:
        broken = "; ".join(f"{n}: {e}" for n, e in sorted(reg.failures.items()))
        msg += f". Plugins that failed to load: {broken}"
    elif registry is None:
        msg += " (built-ins only: pass the policies of the plugin manager for plugin policies)"
    raise ConfigError(msg)
