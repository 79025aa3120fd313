"""The policy a planner simulates is the policy the town runs.

One alert trace goes through the SimPy township model (``gridsight.governance_sim``) and
through the live service (an injected clock, the SQLite store). The simulator's workers
acknowledge, time out, travel and finish at random; the live side is told the same
acknowledgements, arrivals and finishes at the same instants, and runs its own
time-outs, escalations, roster (shifts, positions, busy, load) and dispatch. Every
notification — the first one and each escalation — must go to the same person.

Both sides find the policy by its name through one plugin manager (the one lookup of
``gridsight.core.dispatch``), so a throwaway plugin's policy is checked like the
built-ins. Both run the same ``orders:`` settings: two hazards are verified
automatically, two wait for an operator (the simulator's centre; the live side is told
the operator's verification at the simulated instant), priorities differ by hazard.
Verification (who verified, when), priority and the acknowledgement escalations must
agree too, not only the worker notified.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pytest

from gridsight import hookimpl
from gridsight.core.dispatch import (
    DispatchPolicy,
    WorkerState,
    WorkOrder,
    load_policies,
    resolve_policy,
)
from gridsight.core.plugins import build_plugin_manager
from gridsight.governance_sim.arrivals import Requests, merge_alarms
from gridsight.governance_sim.model import TownModel
from gridsight.governance_sim.replication import build_occurrences
from gridsight.governance_sim.scenario import Scenario, build_sim_config
from gridsight.governance_sim.streams import named_generators
from gridsight.orders.config import HazardOrders, OrdersConfig
from gridsight.orders.roster import build_staff
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore

from .helpers import ZONE, event, jingqiao

DAY = 86400.0
ACK_TIMEOUT = 120.0


class LeastLoadedFarthest(DispatchPolicy):
    """A throwaway plugin policy unlike the built-ins: the least loaded, ties to the
    farthest (so a wrong lookup that fell back to a built-in would pick someone else)."""

    name = "test_least_loaded_farthest"

    def pick(
        self,
        order: WorkOrder,
        pool: Sequence[WorkerState],
        travel_s: Mapping[str, float],
        now: float,
    ) -> str:
        return min(pool, key=lambda w: (w.load, -round(travel_s[w.id]), w.id)).id


class ThrowawayPlugin:
    @hookimpl
    def gridsight_register_dispatch_policies(self) -> list[type[DispatchPolicy]]:
        return [LeastLoadedFarthest]


VERIFY_S = 20.0
SETTINGS = OrdersConfig(
    ack_timeout_s=ACK_TIMEOUT,
    reopen_min=0,
    hazards={
        "near_water": HazardOrders(auto_verify=True, priority=20, cancel_on_clear=False),
        "fire_lane": HazardOrders(auto_verify=True, priority=12, cancel_on_clear=False),
        "ebike": HazardOrders(auto_verify=False, priority=10, cancel_on_clear=False),
        "vending": HazardOrders(auto_verify=False, priority=8, cancel_on_clear=False),
    },
)


def _scenario(policy: str) -> Scenario:
    const0 = {"dist": "const", "mean": 0.0, "cv": 0.0}
    no_visits = {"visits_per_day": 0.0}
    return Scenario.model_validate(
        {
            "name": "live-vs-sim",
            "township": "unused.yaml",
            "horizon": {"days": 2, "warmup_days": 0, "drain_days": 1},
            "requests": {},
            "centre": {
                "verifiers": 50,
                "verify_s": {"dist": "const", "mean": VERIFY_S, "cv": 0.0},
                "review_min": const0,
            },
            "dispatch": {
                "policy": policy,
                "decision_s": 0.0,
                "ack_s": {"dist": "const", "mean": 30.0, "cv": 0.0},
                "ack_visiting_s": {"dist": "const", "mean": 30.0, "cv": 0.0},
                "p_no_ack": 0.35,
                "ack_timeout_s": ACK_TIMEOUT,
            },
            # Workers stay where their last job was (the live roster keeps the last
            # reported position; the simulator's "linger" would send them home).
            "field": {"linger_min": 1e7},
            "staffing": {
                "grid_worker": no_visits,
                "micro_grid_worker": {**no_visits, "mode": "walk"},
            },
            "orders": SETTINGS.model_dump(),
        }
    )


def _trace(seed: int, n: int) -> list[tuple[float, str, str, float]]:
    """Alarms from 07:00 to 21:00 on the 12 cameras (shift changes at 8 and 18 included;
    at night only one cadre per village is on duty, and a time-out there would queue)."""
    rng = np.random.default_rng(seed)
    cams = [(c.id, h) for c in jingqiao().cameras for h in sorted(c.hazards)]
    times = np.sort(rng.uniform(7 * 3600.0, 21 * 3600.0, n))
    return [
        (float(t), *cams[int(rng.integers(len(cams)))], float(rng.uniform(300, 3000)))
        for t in times
    ]


class Recorder:
    """Wraps a policy class to record every decision the simulator makes."""

    def __init__(self, base: type) -> None:
        self.calls: list[tuple[str, float, int, frozenset[str], str | None]] = []
        calls = self.calls

        class Recording(base):  # type: ignore[misc, valid-type]
            def choose(
                self,
                order: WorkOrder,
                workers: list[WorkerState],
                now: float,
                travel_s: object = None,
            ) -> str | None:
                got = super().choose(order, workers, now, travel_s)  # type: ignore[arg-type]
                calls.append((order.id, now, order.tier, order.tried, got))
                return got

        self.cls = Recording


def _simulate(policy: type, trace: list[tuple[float, str, str, float]], seed: int):
    sc = _scenario(policy.name)
    cfg = build_sim_config(sc, jingqiao(), trace=tuple(trace))
    gens = named_generators(np.random.SeedSequence(seed))
    occ = build_occurrences(cfg, gens)
    none = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    alarms = merge_alarms(occ, none, cfg.horizon.end_s)
    z = np.zeros(0)
    requests = Requests(z, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), z, z)
    rec = Recorder(policy)
    model = TownModel(cfg, gens, rec.cls(), occ, alarms, requests)
    model.run()
    return cfg, alarms, model, rec.calls


def _overlapping(cfg, alarms, model) -> list[int]:
    """Alarms raised while an earlier one on the same camera + hazard is still open."""
    bad = []
    last_closed: dict[tuple[int, int], float] = {}
    for k in range(len(alarms)):
        key = (int(alarms.camera[k]), int(alarms.hazard[k]))
        if last_closed.get(key, -math.inf) >= alarms.time[k]:
            bad.append(k)
        last_closed[key] = max(last_closed.get(key, -math.inf), float(model.a_closed[k]))
    return bad


@pytest.mark.parametrize(
    "name", ["grid_owner_first", "nearest_available", "test_least_loaded_farthest"]
)
def test_live_dispatch_picks_whom_the_simulator_picks(name: str, tmp_path) -> None:
    pm = build_plugin_manager(load_entrypoints=False, plugins=[ThrowawayPlugin()])
    policy = resolve_policy(name, load_policies(pm))
    town = jingqiao()
    trace = _trace(seed=7, n=120)
    # Drop alarms that the live service would rightly attach to an open order (one order
    # per camera + hazard), until none is left: the simulator has no such rule.
    for _ in range(20):
        cfg, alarms, model, calls = _simulate(policy, trace, seed=12)
        bad = set(_overlapping(cfg, alarms, model))
        if not bad:
            break
        order = np.argsort([r[0] for r in trace], kind="stable")
        drop = {int(order[k]) for k in bad}
        trace = [r for i, r in enumerate(trace) if i not in drop]
    assert not bad and len(trace) >= 70
    assert all(c[4] is not None for c in calls), "someone must always be free (no queueing)"
    escalations = sum(1 for c in calls if c[2] > 0)
    assert escalations >= 10, "the trace should exercise acknowledgement time-outs"
    hazard_ids = [h for h, _ in cfg.hazards]
    cams = cfg.township.cameras

    # Map the simulator's worker ids to the live roster's (same build order).
    live_ids = [m.id for m in build_staff(town, OrdersConfig().staffing)]
    to_live = {w.id: live_ids[i] for i, w in enumerate(cfg.township.workers)}

    # Live side: an epoch base at local midnight, so shifts and "today" line up.
    base = datetime(2026, 7, 1, tzinfo=ZONE).timestamp()
    clock = [base]
    settings = SETTINGS.model_copy(update={"policy": name})
    svc = OrderService(
        OrderStore.open(tmp_path / "live.sqlite"),
        town,
        clock=lambda: clock[0],
        settings=settings,
        plugins=pm,
    )
    assert type(svc.policy) is policy
    by_alarm: dict[str, list[tuple[float, str | None]]] = {}
    for oid, t, _tier, _tried, got in calls:
        by_alarm.setdefault(oid, []).append((t, got))
    actions: list[tuple[float, int, int]] = []  # (time, kind, alarm)
    START, VERIFY, TICK, ACK, ARRIVE, DONE = range(6)
    auto = [model.auto_verify[int(h)] for h in alarms.hazard]
    assert 0 < sum(auto) < len(auto), "the trace needs auto- and operator-verified alarms"
    for k in range(len(alarms)):
        actions.append((float(alarms.time[k]), START, k))
        if not auto[k]:
            actions.append((float(model.a_verified[k]), VERIFY, k))
        for t, _ in by_alarm[f"a{k}"][1:]:
            actions.append((t + 1e-6, TICK, k))
        actions.append((float(model.a_ack[k]), ACK, k))
        actions.append((float(model.a_arrive[k]), ARRIVE, k))
        actions.append((float(model.a_closed[k]), DONE, k))
    actions.sort()
    order_of: dict[int, str] = {}
    for t, kind, k in actions:
        clock[0] = base + t
        svc.tick()
        if kind == START:
            cam = cams[int(alarms.camera[k])]
            view = svc.ingest_event(
                event(camera=cam.id, hazard=hazard_ids[int(alarms.hazard[k])], eid=f"ev-{k}")
            )
            assert view is not None
            assert view.state == ("dispatched" if auto[k] else "new"), k
            order_of[k] = view.id
        elif kind == VERIFY:
            view = svc.transition(order_of[k], "verified", actor="operator:desk", role="operator")
            assert view.state == "dispatched"
        elif kind in (ACK, ARRIVE, DONE):
            oid = order_of[k]
            who = svc.get(oid).assignee
            to = {ACK: "acknowledged", ARRIVE: "on_site", DONE: "resolved"}[kind]
            svc.transition(oid, to, actor=f"worker:{who}", role="worker")
            if kind == DONE:
                svc.transition(oid, "closed", actor="operator:desk", role="operator")

    compared = 0
    escalated = 0
    for k in range(len(alarms)):
        live = svc.get(order_of[k])
        hz = hazard_ids[int(alarms.hazard[k])]
        # Verification: automatic (the service itself, at the alarm) or by an operator
        # at the simulated instant; the same priority and dispatch deadline.
        (ver,) = [r for r in live.transitions if r.to_state == "verified"]
        assert ver.actor == ("system" if auto[k] else "operator:desk"), k
        assert ver.at == pytest.approx(base + float(model.a_verified[k]))
        assert (
            live.priority == model.priority[int(alarms.hazard[k])] == settings.for_kind(hz).priority
        )
        assert live.dispatched_at == pytest.approx(base + float(model.a_dispatch[k]))
        # Escalation: each acknowledgement time-out, on both sides.
        esc = sum(1 for r in live.transitions if r.to_state == "escalated")
        assert esc == int(model.a_escalations[k]), k
        escalated += esc
        sim_seq = [to_live[w] for _, w in by_alarm[f"a{k}"] if w is not None]
        live_seq = [
            r.data["worker"] for r in svc.get(order_of[k]).transitions if r.to_state == "dispatched"
        ]
        assert live_seq == sim_seq, f"alarm {k} at t={alarms.time[k]:.0f} s"
        compared += len(sim_seq)
    assert compared == len(calls)
    assert escalated >= 10
