"""One replication: generate arrivals, run the SimPy model and the patrol baseline, compute KPIs.

:func:`run_replication` is a top-level function of plain picklable arguments so that a
process pool or a Dask cluster can run it. Its result holds the replication's KPIs
(one float each, NaN where undefined) and the raw samples the report plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridsight.core.dispatch import DispatchPolicy
from gridsight.governance_sim.arrivals import (
    Alarms,
    Occurrences,
    false_alarms,
    merge_alarms,
    residents_requests,
    synthetic_occurrences,
)
from gridsight.governance_sim.model import TownModel
from gridsight.governance_sim.params import DAY_S, HOUR_S, ROLES, SimConfig
from gridsight.governance_sim.patrol import run_patrol
from gridsight.governance_sim.streams import Streams, named_generators
from gridsight.governance_sim.trace import trace_rows

# Hazards counted as "short" for the coverage KPI (a person at the water leaves soon).
SHORT_HAZARDS: tuple[str, ...] = ("near_water",)


@dataclass(frozen=True, slots=True)
class ReplicationResult:
    """KPIs of one replication and the samples behind the report's plots."""

    index: int
    kpis: dict[str, float]
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    events: int = 0
    trace: list[tuple[Any, ...]] | None = None


def build_occurrences(cfg: SimConfig, gens: Streams) -> Occurrences:
    """Occurrences from the trace when one is replayed, else from the synthetic generator."""
    if cfg.trace is None:
        return synthetic_occurrences(cfg, gens)
    cams = {c.id: i for i, c in enumerate(cfg.township.cameras)}
    hazard_ids = [h for h, _ in cfg.hazards]
    rows = sorted(cfg.trace)
    onset = np.array([r[0] for r in rows], dtype=np.float64)
    return Occurrences(
        onset=onset,
        end=onset + np.array([r[3] for r in rows], dtype=np.float64),
        camera=np.array([cams[r[1]] for r in rows], dtype=np.int64),
        hazard=np.array([hazard_ids.index(r[2]) for r in rows], dtype=np.int64),
        alarm=onset.copy(),
    )


def run_replication(
    cfg: SimConfig,
    policy_cls: type[DispatchPolicy],
    seq: np.random.SeedSequence,
    index: int,
    *,
    trace: bool = False,
) -> ReplicationResult:
    """Run one replication.

    Args:
        cfg: the scenario.
        policy_cls: the dispatch policy class (``cfg.dispatch.policy`` resolved).
        seq: this replication's SeedSequence.
        index: replication number (kept in the result for ordering).
        trace: keep the trace rows (one per alarm and request; ``governance_sim.trace``).
    """
    gens = named_generators(seq)
    occ = build_occurrences(cfg, gens)
    fa = (
        false_alarms(cfg, gens)
        if cfg.trace is None
        else (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    )
    alarms = merge_alarms(occ, fa, cfg.horizon.end_s, real_alarms=cfg.false_alarm_fraction < 1.0)
    requests = residents_requests(cfg, gens)
    keep = requests.time < cfg.horizon.end_s
    if not keep.all():
        requests = type(requests)(*(getattr(requests, f)[keep] for f in requests.__slots__))
    model = TownModel(cfg, gens, policy_cls(), occ, alarms, requests)
    events = model.run()
    patrol = run_patrol(cfg, occ, gens["patrol"])
    kpis, samples = compute_kpis(cfg, model, occ, alarms, patrol.found, patrol.response)
    rows = trace_rows(index, cfg, model, alarms) if trace else None
    return ReplicationResult(index=index, kpis=kpis, samples=samples, events=events, trace=rows)


def _q(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q)) if x.size else math.nan


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan


def _open_at(model: TownModel, alarms: Alarms, t: float) -> float:
    """Work orders (and alarms awaiting verification) open at time ``t``."""
    with np.errstate(invalid="ignore"):
        a = (alarms.time < t) & ~(model.a_done <= t)
        rq = model.requests
        r = (rq.time < t) & ~(model.r_closed <= t)
    return float(a.sum() + r.sum())


def _attainment_by(
    k: dict[str, float],
    cfg: SimConfig,
    alarms: Alarms,
    real: np.ndarray,
    met_dispatch: np.ndarray,
    owed: np.ndarray,
    met_closure: np.ndarray,
) -> None:
    """Attainment of both targets per village, per hazard and per hour of day of the
    alarm: ``dispatch_within_target/village/<id>``, ``.../hazard/<id>``, ``.../hour/07``."""
    cams = cfg.township.cameras
    villages = sorted({c.village for c in cams})
    v_of_cam = np.array([villages.index(c.village) for c in cams], dtype=np.int64)
    cam = alarms.camera[real]
    groups: list[tuple[str, np.ndarray, list[str]]] = [
        ("village", v_of_cam[cam] if cam.size else cam, villages),
        ("hazard", alarms.hazard[real], [h for h, _ in cfg.hazards]),
        ("hour", ((alarms.time[real] % DAY_S) // HOUR_S).astype(np.int64),
         [f"{h:02d}" for h in range(24)]),
    ]  # fmt: skip
    d = met_dispatch.astype(float)
    c = met_closure.astype(float)
    for by, code, names in groups:
        m = len(names)
        # Shares of 0/1 values: the sums are exact, so these equal the per-group means.
        n_d = np.bincount(code[owed], minlength=m)
        s_d = np.bincount(code[owed], weights=d[owed], minlength=m)
        n_c = np.bincount(code, minlength=m)
        s_c = np.bincount(code, weights=c, minlength=m)
        for i, name in enumerate(names):
            k[f"dispatch_within_target/{by}/{name}"] = (
                float(s_d[i] / n_d[i]) if n_d[i] else math.nan
            )
            k[f"closure_within_target/{by}/{name}"] = float(s_c[i] / n_c[i]) if n_c[i] else math.nan


def compute_kpis(
    cfg: SimConfig,
    model: TownModel,
    occ: Occurrences,
    alarms: Alarms,
    patrol_found: np.ndarray,
    patrol_response: np.ndarray,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """KPIs over the observation window ``[warm-up, days)`` (by alarm / onset time)."""
    h = cfg.horizon
    tg = cfg.targets
    lo, hi = h.start_s, h.end_s
    k: dict[str, float] = {}

    in_win = (alarms.time >= lo) & (alarms.time < hi)
    real = in_win & (alarms.occurrence >= 0)
    k["alerts"] = float(in_win.sum())
    k["false_alarms"] = float((in_win & (alarms.occurrence < 0)).sum())
    k["real_alerts"] = float(real.sum())

    t0 = alarms.time[real]
    dispatch_all = model.a_dispatch[real] - t0
    cancel_all = model.a_cancelled[real] - t0
    closure_all = model.a_closed[real] - t0
    closed = ~np.isnan(closure_all)
    cancelled = ~np.isnan(cancel_all)
    still_open = ~(closed | cancelled)
    # Orders still open at the end of the drain are misses of both targets (not dropped).
    k["open_at_end_of_drain"] = float(still_open.sum())
    k["cancelled_on_clear"] = float(cancelled.sum())
    with np.errstate(invalid="ignore"):
        met_dispatch = dispatch_all <= tg.dispatch_s  # NaN (never dispatched) -> False
        # An order cancelled before its dispatch target was never owed a dispatch: it
        # counts neither way; cancelled later, it was a miss.
        owed = ~(cancelled & np.isnan(dispatch_all) & (cancel_all <= tg.dispatch_s))
        ended = np.where(closed, closure_all, cancel_all)  # NaN where still open
        met_closure = ended <= tg.closure_s
        hz_real = alarms.hazard[real]
        due_d = np.array([model.dispatch_due[h] for h in range(len(cfg.hazards))])[hz_real]
        due_c = np.array([cfg.orders.close_due_s(h) for h, _ in cfg.hazards])[hz_real]
        met_sla_d = dispatch_all <= due_d
        owed_sla = ~(cancelled & np.isnan(dispatch_all) & (cancel_all <= due_d))
        met_sla_c = ended <= due_c
    k["dispatch_within_target"] = _mean(met_dispatch[owed].astype(float))
    k["closure_within_target"] = _mean(met_closure.astype(float))
    # The live service's own clocks (per-hazard SLAs of the orders: section).
    k["dispatch_within_sla"] = _mean(met_sla_d[owed_sla].astype(float))
    k["closure_within_sla"] = _mean(met_sla_c.astype(float))
    k["sla_tier_up_rate"] = _mean(model.a_sla_escalated[real].astype(float))
    _attainment_by(k, cfg, alarms, real, met_dispatch, owed, met_closure)
    dispatch = dispatch_all[closed]
    closure = closure_all[closed]
    onset_of = occ.onset[alarms.occurrence[real]]
    response = (model.a_arrive[real] - onset_of)[closed]
    for name, x in (("dispatch", dispatch), ("response", response), ("closure", closure)):
        k[f"{name}_mean_s"] = _mean(x)
        k[f"{name}_p90_s"] = _q(x, 0.90)
        k[f"{name}_p95_s"] = _q(x, 0.95)
    vwait = model.a_verify_start[in_win] - alarms.time[in_win]
    vwait = vwait[~np.isnan(vwait)]
    k["verify_wait_mean_s"] = _mean(vwait)
    k["verify_wait_prob"] = _mean((vwait > 0).astype(float))
    k["ack_mean_s"] = _mean((model.a_ack[real] - t0)[closed])
    k["auto_verified_share"] = _mean(
        np.array([model.auto_verify[h] for h in alarms.hazard[in_win].tolist()], dtype=float)
    )
    k["escalation_rate"] = _mean((model.a_escalations[real][closed] > 0).astype(float))
    k["present_on_arrival"] = _mean(model.a_present[real][closed].astype(float))

    rq = model.requests
    r_in = (rq.time >= lo) & (rq.time < hi) & ~np.isnan(model.r_closed)
    k["requests"] = float(((rq.time >= lo) & (rq.time < hi)).sum())
    k["request_dispatch_mean_s"] = _mean(model.r_dispatch[r_in] - rq.time[r_in])
    k["request_closure_mean_s"] = _mean(model.r_closed[r_in] - rq.time[r_in])

    # Utilisation: busy time / on-duty time of each role; verifiers: busy / capacity.
    window = hi - lo
    duty: dict[str, float] = {}
    for w in cfg.township.workers:
        duty[w.role] = duty.get(w.role, 0.0) + w.duty_hours_per_day * HOUR_S * window / DAY_S
    for role in ROLES:
        k[f"utilisation_{role}"] = (
            model.role_busy.get(role, 0.0) / duty[role] if duty.get(role, 0.0) > 0 else math.nan
        )
    k["utilisation_verifier"] = model.centre_busy.mean() / max(cfg.centre.verifiers, 1)
    k["backlog_mean"] = model.open_orders.mean()
    # Orders created before the end of the window and still open at its end.
    with np.errstate(invalid="ignore"):
        open_alarms = (alarms.time < hi) & (alarms.occurrence >= 0) & ~(model.a_closed <= hi)
        open_requests = (rq.time < hi) & ~(model.r_closed <= hi)
    k["backlog_at_end"] = float(open_alarms.sum() + open_requests.sum())
    # Growth of the backlog over the second half of the window: near 0 in a stable
    # system, growing with the window when the backlog grows without bound.
    k["backlog_growth"] = _open_at(model, alarms, hi) - _open_at(model, alarms, (lo + hi) / 2)

    # Little's law on alarms in the system (alarm -> dismissed or closed): L = lambda W.
    k["littles_L"] = model.in_system.mean()
    done = model.a_done[in_win] - alarms.time[in_win]
    done = done[~np.isnan(done)]
    k["littles_lambda_W"] = float(in_win.sum() / window * done.mean()) if done.size else math.nan

    # AI vs manual patrol on the same occurrences (onset in the window).
    o_win = (occ.onset >= lo) & (occ.onset < hi)
    ai_resp = np.full(len(occ), np.nan)
    idx = alarms.occurrence >= 0
    ai_resp[alarms.occurrence[idx]] = model.a_arrive[idx] - occ.onset[alarms.occurrence[idx]]
    ai_found = ~np.isnan(ai_resp)
    k["occurrences"] = float(o_win.sum())
    hazard_ids = [hz for hz, _ in cfg.hazards]
    for hi_, hz in enumerate(hazard_ids):
        sel = o_win & (occ.hazard == hi_)
        k[f"coverage_ai_{hz}"] = _mean(ai_found[sel].astype(float))
        k[f"coverage_patrol_{hz}"] = _mean(patrol_found[sel].astype(float))
    short = o_win & np.isin(
        occ.hazard, [hazard_ids.index(s) for s in SHORT_HAZARDS if s in hazard_ids]
    )
    k["coverage_ai_short"] = _mean(ai_found[short].astype(float))
    k["coverage_patrol_short"] = _mean(patrol_found[short].astype(float))
    k["coverage_ai_all"] = _mean(ai_found[o_win].astype(float))
    k["coverage_patrol_all"] = _mean(patrol_found[o_win].astype(float))
    paired = o_win & ai_found & patrol_found
    ai_m = _mean(ai_resp[paired])
    pa_m = _mean(patrol_response[paired])
    k["paired_occurrences"] = float(paired.sum())
    k["response_ai_paired_mean_s"] = ai_m
    k["response_patrol_paired_mean_s"] = pa_m
    ok = not (math.isnan(ai_m) or math.isnan(pa_m)) and pa_m > 0 and ai_m > 0
    k["response_reduction"] = 1.0 - ai_m / pa_m if ok else math.nan
    k["speed_ratio"] = pa_m / ai_m if ok else math.nan

    samples = {
        "dispatch_s": dispatch,
        "closure_s": closure,
        "response_s": response,
        "response_ai_paired_s": ai_resp[paired],
        "response_patrol_paired_s": patrol_response[paired],
    }
    return k, samples
