"""The SimPy township model: command centre, dispatch, field work, review and closure.

One :class:`TownModel` is one replication. Alarms and residents' requests are generated
up front (``arrivals``); the model walks through them, and each becomes a SimPy process:

    alarm -> verification (centre, a PriorityResource; skipped where the live settings
             auto-verify the hazard) -> false: dismissed
          -> work order (the live priority) -> dispatch policy, or the village's queue
             (first come, first served within priority) -> notify -> acknowledge (or
             time out and escalate) -> travel -> handle on site -> report back -> centre
             review -> closed
          an order not yet dispatched when the hazard clears is cancelled (the live
          ``cancel_on_clear``); one still queued at its dispatch SLA moves up a tier.

Times recorded per alarm: verified, first notification (dispatch), acknowledgement,
arrival on site (response, from hazard onset), closure or cancellation; the worker.
Workers' positions come from their last job, their household visits (generated up
front) or their office.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Generator
from dataclasses import replace
from heapq import heappop, heappush
from typing import Any

import numpy as np
import simpy

from gridsight.core.dispatch import DispatchPolicy, WorkerIndex, WorkOrder, escalate
from gridsight.core.roster import on_duty_at
from gridsight.governance_sim.arrivals import Alarms, Occurrences, Requests
from gridsight.governance_sim.centre import Centre
from gridsight.governance_sim.params import DAY_S, HOUR_S, DrawBuffer, NormalBuffer, SimConfig
from gridsight.governance_sim.workers import (
    LazyTravel,
    TimeAverage,
    VillageView,
    WorkerRuntime,
    shift_edges,
)

# Centre queue priorities (lower is served first): a new alarm before a closure review.
VERIFY_FIRST = 0
REVIEW_LATER = 1


class TownModel:
    """One replication of the township.

    Args:
        cfg: the scenario.
        gens: named generators (``streams.named_generators``).
        policy: the dispatch policy instance.
        occ: hazard occurrences (used for onsets, ends and hazard ids).
        alarms: alarms the centre receives.
        requests: residents' requests.
    """

    def __init__(
        self,
        cfg: SimConfig,
        gens: dict[str, np.random.Generator],
        policy: DispatchPolicy,
        occ: Occurrences,
        alarms: Alarms,
        requests: Requests,
    ) -> None:
        self.cfg = cfg
        self.policy = policy
        self.occ = occ
        self.alarms = alarms
        self.requests = requests
        self.env = simpy.Environment()
        self.centre = Centre(self.env, capacity=cfg.centre.verifiers)
        # Work orders nobody could take, one queue per village (a village's orders go
        # only to its own people): (-priority, arrival number, order, event, cancel at,
        # dispatch due). Served first come, first served within priority, at the head.
        self.waiting: dict[str, list[tuple[int, int, WorkOrder, simpy.Event, float, float]]] = {}
        self._arrivals = 0
        self._polling: dict[str, float] = {}  # village -> when its queue is looked at
        t = cfg.township
        run_days = math.ceil(cfg.horizon.days + cfg.horizon.drain_days) + 1
        edges: dict[tuple[float, float], list[float]] = {}
        for spec in t.workers:
            if spec.shift not in edges:
                edges[spec.shift] = shift_edges(spec, run_days)
        speeds = {m: t.travel.speed(m) for m in {s.mode for s in t.workers}}
        self.workers = [WorkerRuntime(s, speeds[s.mode], edges[s.shift]) for s in t.workers]
        self.by_id = {w.spec.id: w for w in self.workers}
        self.by_village: dict[str, list[WorkerRuntime]] = {}
        for w in self.workers:
            self.by_village.setdefault(w.spec.village, []).append(w)
        self.villages = {v: VillageView(ws) for v, ws in self.by_village.items()}
        # When a waiting village's people may come on duty: its workers' shift starts.
        # (Computed once per distinct shift: every worker of a shift shares its edges.)
        starts = {
            shift: [e for e in es if on_duty_at(shift, ((e + 1.0) % DAY_S) / HOUR_S)]
            for shift, es in edges.items()
        }
        self.village_starts: dict[str, list[float]] = {
            v: sorted({e for shift in {w.spec.shift for w in ws} for e in starts[shift]})
            for v, ws in self.by_village.items()
        }
        self.cam_xy = [(c.x_km, c.y_km) for c in t.cameras]
        self.hazard_ids = [h for h, _ in cfg.hazards]
        # The live service's settings per hazard, asked through the same methods the live
        # workflow calls (``OrdersConfig.for_kind``, ``dispatch_due_s``).
        orders = cfg.orders
        live = [orders.for_kind(h) for h in self.hazard_ids]
        self.auto_verify = [h.auto_verify for h in live]
        self.priority = [h.priority for h in live]
        self.cancel_on_clear = [h.cancel_on_clear for h in live]
        self.dispatch_due = [orders.dispatch_due_s(h) for h in self.hazard_ids]
        self.req_priority = [
            orders.requests[rp.kind].priority if rp.kind in orders.requests else rp.priority
            for rp in cfg.requests
        ]
        self.req_due = [orders.dispatch_due_s(rp.kind, request=True) for rp in cfg.requests]

        d = cfg.dispatch
        self.d_verify = DrawBuffer(cfg.centre.verify, gens["verify"])
        self.d_review = DrawBuffer(cfg.centre.review, gens["verify"])
        self.d_ack = DrawBuffer(d.ack, gens["ack"])
        self.d_ack_visit = DrawBuffer(d.ack_visiting, gens["ack"])
        self.rng_ack = gens["ack"]
        self.d_handle = [DrawBuffer(hp.handling, gens["handling"]) for _, hp in cfg.hazards]
        self.d_report = DrawBuffer(cfg.fieldwork.report, gens["handling"])
        self.d_gone = DrawBuffer(cfg.fieldwork.check_gone, gens["handling"])
        self.d_req_handle = [DrawBuffer(rp.handling, gens["requests"]) for rp in cfg.requests]
        self.d_triage = [DrawBuffer(rp.triage, gens["requests"]) for rp in cfg.requests]
        tcv = cfg.township.travel.cv
        self._travel_sigma = math.sqrt(math.log1p(tcv * tcv)) if tcv > 0 else 0.0
        # Lognormal travel-time variability: the travel stream feeds nothing else, so a
        # buffer of its normals gives exactly the values one call per trip gave.
        sig = self._travel_sigma
        self.d_travel = NormalBuffer(-sig * sig / 2.0, sig, gens["travel"]) if sig > 0 else None
        self._make_visits(gens["visits"])

        # Python lists of the arrivals the processes read one item at a time.
        self._a_occ: list[int] = alarms.occurrence.tolist()
        self._a_cam: list[int] = alarms.camera.tolist()
        self._a_hz: list[int] = alarms.hazard.tolist()
        self._r_stream: list[int] = requests.stream.tolist()
        self._r_grid: list[int] = requests.grid.tolist()
        self._r_x: list[float] = requests.x_km.tolist()
        self._r_y: list[float] = requests.y_km.tolist()

        n = len(alarms)
        nan = np.full(n, np.nan)
        # Per-alarm records (indexed like ``alarms``).
        self.a_dispatch = nan.copy()
        self.a_ack = nan.copy()
        self.a_arrive = nan.copy()
        self.a_closed = nan.copy()
        self.a_done = nan.copy()
        self.a_verify_start = nan.copy()
        self.a_verified = nan.copy()
        self.a_cancelled = nan.copy()
        self.a_worker = np.full(n, -1, dtype=np.int64)
        self.a_sla_escalated = np.zeros(n, dtype=bool)
        self.a_present = np.zeros(n, dtype=bool)
        self.a_escalations = np.zeros(n, dtype=np.int64)
        m = len(requests)
        self.r_dispatch = np.full(m, np.nan)
        self.r_arrive = np.full(m, np.nan)
        self.r_verified = np.full(m, np.nan)
        self.r_closed = np.full(m, np.nan)
        self.r_worker = np.full(m, -1, dtype=np.int64)
        self.worker_index = {w.spec.id: i for i, w in enumerate(self.workers)}
        # Occurrences resolved by a worker end at the worker's arrival.
        self.occ_end = occ.end.copy()

        h = cfg.horizon
        self.open_orders = TimeAverage(h.start_s, h.end_s)
        self.in_system = TimeAverage(h.start_s, h.end_s)
        self.centre_busy = TimeAverage(h.start_s, h.end_s)
        self.role_busy: dict[str, float] = {}
        self.events = 0

    # -- set-up -------------------------------------------------------------------------

    def _make_visits(self, rng: np.random.Generator) -> None:
        """Household visits of grid staff, drawn for the whole run at once.

        The draws are made worker by worker, in the same order and sizes as ever
        (counts, start times, durations, then places); the arithmetic on them is done
        once for all workers, element by element as before.
        """
        cfg = self.cfg
        days = math.ceil(cfg.horizon.days + cfg.horizon.drain_days)
        grid_of = {g.id: g for g in cfg.township.grids}
        who: list[WorkerRuntime] = []
        counts_l: list[np.ndarray] = []
        u_start: list[np.ndarray] = []
        dur_l: list[np.ndarray] = []
        u_place: list[np.ndarray] = []
        consts: list[tuple[int, float, float, float, float, float]] = []
        for w in self.workers:
            s = w.spec
            g = grid_of.get(s.grid)
            if s.visits_per_day <= 0 or g is None:
                continue
            counts = rng.poisson(s.visits_per_day, days)
            total = int(counts.sum())
            if total == 0:
                continue
            who.append(w)
            counts_l.append(counts)
            u_start.append(rng.random(total))
            dur_l.append(cfg.fieldwork.visit.sample(rng, total))
            u_place.append(rng.random(2 * total))  # radius draws, then angle draws
            duty_h = max(s.duty_hours_per_day, 0.5)
            consts.append((total, s.shift[0], duty_h, g.radius_km, g.x_km, g.y_km))
        if not who:
            return
        n = np.array([c[0] for c in consts])

        def per_visit(k: int) -> np.ndarray:
            return np.repeat(np.array([c[k] for c in consts], dtype=np.float64), n)

        shift0, duty, radius, gx, gy = (per_visit(k) for k in range(1, 6))
        day = np.repeat(np.tile(np.arange(days), len(who)), np.concatenate(counts_l))
        start = day * DAY_S + (shift0 + np.concatenate(u_start) * duty) * HOUR_S
        dur = np.concatenate(dur_l)
        halves = [(u[: c[0]], u[c[0] :]) for u, c in zip(u_place, consts, strict=True)]
        r = radius * np.sqrt(np.concatenate([h[0] for h in halves]))
        a = np.concatenate([h[1] for h in halves]) * 2.0 * np.pi
        # By worker, then start, stable: np.lexsort((start, worker)) as before, done one
        # worker's block at a time (the blocks are already in worker order).
        ends = np.cumsum(n).tolist()
        order = np.concatenate(
            [
                lo + np.argsort(start[lo:hi], kind="stable")
                for lo, hi in zip([0, *ends[:-1]], ends, strict=True)
            ]
        )
        v_start = start[order].tolist()
        v_end = (start + dur)[order].tolist()
        v_x = (gx + r * np.cos(a))[order].tolist()
        v_y = (gy + r * np.sin(a))[order].tolist()
        lo = 0
        for w, c in zip(who, consts, strict=True):
            hi = lo + c[0]
            w.v_start, w.v_end, w.v_x, w.v_y = v_start[lo:hi], v_end[lo:hi], v_x[lo:hi], v_y[lo:hi]
            lo = hi

    # -- processes ----------------------------------------------------------------------

    def _feeder(self) -> Generator[simpy.Event, Any, None]:
        """Starts one process per alarm / request at its time (merged in time order)."""
        env = self.env
        at = self.alarms.time.tolist()
        rt = self.requests.time.tolist()
        i = j = 0
        while i < len(at) or j < len(rt):
            if j >= len(rt) or (i < len(at) and at[i] <= rt[j]):
                t, kind, k = at[i], 0, i
                i += 1
            else:
                t, kind, k = rt[j], 1, j
                j += 1
            if t > env.now:
                yield env.timeout(t - env.now)
            env.process(self._alarm(k) if kind == 0 else self._request(k))

    def _alarm(self, k: int) -> Generator[simpy.Event, Any, None]:
        env = self.env
        alarm_t = env.now
        self.in_system.change(alarm_t, 1.0)
        oi = self._a_occ[k]
        hz = self._a_hz[k]
        # cancel_on_clear: a not-yet-dispatched order ends when the camera stops seeing
        # the hazard (a false alarm's "hazard" is never cleared by the camera here).
        cancel_at = self.occ_end[oi] if oi >= 0 and self.cancel_on_clear[hz] else math.inf
        if self.auto_verify[hz]:
            # Verified at once by the live service: false alarms are dispatched too.
            self.a_verified[k] = alarm_t
        else:
            with self.centre.request(priority=VERIFY_FIRST) as req:
                yield req
                self.a_verify_start[k] = env.now
                if env.now >= cancel_at:  # cleared while it waited for an operator
                    self._end_alarm(k, cancelled=cancel_at)
                    return
                dt = self.d_verify.next()
                self.centre_busy.change(env.now, 1.0)
                yield env.timeout(dt)
                self.centre_busy.change(env.now, -1.0)
            self.a_verified[k] = env.now
            if oi < 0:  # dismissed as a false alarm
                self._end_alarm(k)
                return
        cam = self._a_cam[k]
        c = self.cfg.township.cameras[cam]
        x, y = self.cam_xy[cam]
        order = WorkOrder(
            f"a{k}", self.hazard_ids[hz], c.village, c.grid, x, y, alarm_t, self.priority[hz]
        )
        self.open_orders.change(env.now, 1.0)
        res = yield env.process(
            self._field(order, hz, oi, cancel_at, alarm_t + self.dispatch_due[hz])
        )
        if res is None:  # cancelled on clear before anyone was sent
            self.open_orders.change(env.now, -1.0)
            self._end_alarm(k, cancelled=cancel_at)
            return
        notified, acked, arrived, present, escalations, worker, sla_up = res
        self.a_dispatch[k] = notified
        self.a_ack[k] = acked
        self.a_arrive[k] = arrived
        self.a_present[k] = present
        self.a_escalations[k] = escalations
        self.a_worker[k] = worker
        self.a_sla_escalated[k] = sla_up
        yield from self._review()
        self.a_closed[k] = env.now
        self.open_orders.change(env.now, -1.0)
        self._end_alarm(k)

    def _end_alarm(self, k: int, cancelled: float = math.nan) -> None:
        now = self.env.now
        self.a_done[k] = now
        self.a_cancelled[k] = cancelled
        self.in_system.change(now, -1.0)

    def _request(self, k: int) -> Generator[simpy.Event, Any, None]:
        env = self.env
        s = self._r_stream[k]
        rp = self.cfg.requests[s]
        g = self.cfg.township.grids[self._r_grid[k]]
        self.open_orders.change(env.now, 1.0)
        created = env.now
        if rp.triage.mean > 0:
            with self.centre.request(priority=VERIFY_FIRST) as req:
                yield req
                dt = self.d_triage[s].next()
                self.centre_busy.change(env.now, 1.0)
                yield env.timeout(dt)
                self.centre_busy.change(env.now, -1.0)
            self.r_verified[k] = env.now
        order = WorkOrder(
            f"r{k}", rp.kind, g.village, g.id, self._r_x[k], self._r_y[k],
            created, self.req_priority[s],
        )  # fmt: skip
        res = yield env.process(self._field(order, -1 - s, -1, math.inf, created + self.req_due[s]))
        if res is None:  # pragma: no cover - requests have no camera to clear them
            return
        self.r_dispatch[k] = res[0]
        self.r_arrive[k] = res[2]
        self.r_worker[k] = res[5]
        yield from self._review()
        self.r_closed[k] = env.now
        self.open_orders.change(env.now, -1.0)

    def _review(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        with self.centre.request(priority=REVIEW_LATER) as req:
            yield req
            dt = self.d_review.next()
            self.centre_busy.change(env.now, 1.0)
            yield env.timeout(dt)
            self.centre_busy.change(env.now, -1.0)

    def _states(self, order: WorkOrder, now: float) -> tuple[WorkerIndex, LazyTravel]:
        """The order's village as a dispatch index, and (lazy) expected travel times.

        The index (``workers.VillageIndex``) recomputes only the workers of the tiers the
        policy asks for, and of those only the ones whose state can have changed since
        the last decision.
        """
        view = self.villages.get(order.village)
        if view is None:
            view = self.villages[order.village] = VillageView([])
        index = view.at(now, self.cfg.fieldwork.linger_s)
        return index, LazyTravel(order.x_km, order.y_km, index, self.cfg.township.travel)

    def _field(
        self, order: WorkOrder, hz: int, oi: int, cancel_at: float, due_at: float
    ) -> Generator[simpy.Event, Any, tuple[float, float, float, bool, int, int, bool] | None]:
        """Dispatch, acknowledge, travel, handle, report.

        Returns the recorded times (notified, acknowledged, arrived), whether the hazard
        was there, escalations, the worker's index and whether the dispatch SLA's
        breach moved the order up a tier; None when the order was cancelled on clear
        (at ``cancel_at``) before anyone was sent. ``due_at`` is the dispatch deadline.
        """
        env = self.env
        cfg = self.cfg
        d = cfg.dispatch
        if d.decision_s > 0:
            yield env.timeout(d.decision_s)
        notified = math.nan
        escalations = 0
        sla_up = False
        while True:
            got = self._take(order)
            if got is None:
                # Nobody available: join the village's queue; the order is handed a
                # worker when it reaches the head and someone is free (``_serve``).
                got = yield self._wait(order, cancel_at, due_at)
                if got is None:
                    return None
                if got[1].tier > order.tier:
                    sla_up = True
            wid, order = got
            if math.isnan(notified):
                notified = env.now
            w = self.by_id[wid]
            visiting = w.visiting(env.now) >= 0
            x0, y0 = w.position(env.now, cfg.fieldwork.linger_s)
            no_ack = self.rng_ack.random() < d.p_no_ack
            ack = math.inf if no_ack else (self.d_ack_visit if visiting else self.d_ack).next()
            if ack > d.ack_timeout_s:
                yield env.timeout(d.ack_timeout_s)
                self._release(w)
                order = escalate(order, wid, len(self.policy.tiers))
                escalations += 1
                continue
            yield env.timeout(ack)
            break
        acked = env.now
        w.loads = w.load(acked) + 1
        w.touch()
        mean_travel = cfg.township.travel.trip_s(x0, y0, order.x_km, order.y_km, w.spec.mode)
        if self.d_travel is not None:
            mean_travel *= math.exp(self.d_travel.next())
        yield env.timeout(mean_travel)
        arrived = env.now
        if hz >= 0:
            present = oi >= 0 and arrived < self.occ_end[oi]
            if present:
                self.occ_end[oi] = arrived
            handle = self.d_handle[hz].next() if present else self.d_gone.next()
        else:
            present = True
            handle = self.d_req_handle[-1 - hz].next()
        yield env.timeout(handle + self.d_report.next())
        w.last_x, w.last_y = order.x_km, order.y_km
        self._account_busy(w, acked, env.now)
        self._release(w)
        return notified, acked, arrived, present, escalations, self.worker_index[wid], sla_up

    def _account_busy(self, w: WorkerRuntime, a: float, b: float) -> None:
        h = self.cfg.horizon
        lo, hi = max(a, h.start_s), min(b, h.end_s)
        if hi > lo:
            self.role_busy[w.spec.role] = self.role_busy.get(w.spec.role, 0.0) + hi - lo

    def _release(self, w: WorkerRuntime) -> None:
        w.busy = False
        w.free_at = self.env.now
        w.touch()
        if self.waiting.get(w.spec.village):
            self._serve(w.spec.village)

    # -- the field queue ----------------------------------------------------------------

    def _choose(self, order: WorkOrder) -> tuple[str | None, WorkOrder]:
        """The policy's choice; as the live workflow, when nobody untried is available
        those who did not acknowledge before are asked again at once."""
        now = self.env.now
        states, times = self._states(order, now)
        wid = self.policy.choose(order, states, now, times)
        if wid is None and order.tried:
            order = replace(order, tried=frozenset())
            wid = self.policy.choose(order, states, now, times)
        return wid, order

    def _reserve(self, wid: str) -> None:
        w = self.by_id[wid]
        w.busy = True  # reserved while being notified
        w.touch()

    def _take(self, order: WorkOrder) -> tuple[str, WorkOrder] | None:
        """The worker the policy chooses now, reserved; None when the order must queue
        (nobody available, or earlier orders of its village already wait)."""
        if self.waiting.get(order.village):
            return None
        wid, order = self._choose(order)
        if wid is None:
            return None
        self._reserve(wid)
        return wid, order

    def _wait(self, order: WorkOrder, cancel_at: float, due_at: float) -> simpy.Event:
        """Queue ``order`` behind its village's waiting orders of equal or higher
        priority. The event's value is ``(worker id, order)`` once it is served, or None
        when it is cancelled on clear (at ``cancel_at``) first; past ``due_at`` (its
        dispatch SLA) it moves up one tier once, as the live workflow does on a breach."""
        ev = self.env.event()
        queue = self.waiting.setdefault(order.village, [])
        self._arrivals += 1
        heappush(queue, (-order.priority, self._arrivals, order, ev, cancel_at, due_at))
        self._serve(order.village)
        return ev

    def _serve(self, village: str) -> None:
        """Hand free workers to the head of the village's queue, in order, until the
        head finds nobody; then wait for a release, a shift start or the head's clocks."""
        queue = self.waiting[village]
        now = self.env.now
        while queue:
            entry = queue[0]
            neg_prio, seq, order, ev, cancel_at, due_at = entry
            if now >= cancel_at:
                heappop(queue)
                ev.succeed(None)
                continue
            if now >= due_at:
                order = replace(order, tier=min(order.tier + 1, len(self.policy.tiers) - 1))
                queue[0] = entry = (neg_prio, seq, order, ev, cancel_at, math.inf)
            wid, order = self._choose(order)
            if wid is None:
                self._poll(village, min(cancel_at, entry[5]))
                return
            heappop(queue)
            self._reserve(wid)
            ev.succeed((wid, order))

    def _poll(self, village: str, head_at: float) -> None:
        """Look at the village's queue again at the next shift start there or when the
        head's clocks run out (``head_at``), else after ``dispatch.retry_s``; a release
        looks at once. One timer per village, whatever the backlog: a run costs time
        linear in its events."""
        now = self.env.now
        starts = self.village_starts.get(village, [])
        i = bisect_right(starts, now)
        at = starts[i] + 1.0 if i < len(starts) else now + self.cfg.dispatch.retry_s
        at = min(at, head_at)
        if self._polling.get(village, math.inf) <= at:
            return  # already looked at by then
        self._polling[village] = at
        wake = self.env.timeout(at - now)

        def look(_: simpy.Event) -> None:
            if self._polling.get(village) == at:
                del self._polling[village]
            if self.waiting.get(village):
                self._serve(village)

        wake.callbacks.append(look)

    # -- running ------------------------------------------------------------------------

    def run(self) -> int:
        """Run to the end of the drain period; returns the number of SimPy events processed."""
        env = self.env
        env.process(self._feeder())
        until = (self.cfg.horizon.days + self.cfg.horizon.drain_days) * DAY_S
        # ``Environment.step`` written out (SimPy 4.1): the same events in the same order,
        # without two method calls per event; a failed event that no process handled is
        # raised as ``step`` raises it.
        queue = env._queue
        n = 0
        while queue and queue[0][0] < until:
            env._now, _, _, event = heappop(queue)
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
            n += 1
        self.events = n
        return n
