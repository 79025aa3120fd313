"""The field queue as an M/G/c queue, checked against Ciw and a closed-form approximation.

The township model is cut down to one village whose ``c`` grid workers are always on
duty, alarms from one camera arriving as a Poisson stream, nothing else in the way
(instant verification, decision, acknowledgement and review; zero travel; hazards that
outlast any wait) and a lognormal handling time: the wait from alarm to dispatch is
then the wait of an M/G/c queue served first come, first served. The same queue is
simulated by Ciw (an independent discrete-event library, the test oracle) and compared
per replication: mean wait, P(wait > 0) and the 95th percentile of the wait, each as a
difference with its 95% interval (unpaired: the two simulators share no random
numbers). The Allen–Cunneen approximation ``Wq(M/G/c) ~ Wq(M/M/c) (1 + cs^2) / 2`` is
reported next to them with a loose tolerance (it is an approximation, good to a few
percent near these loads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gridsight.governance_sim.experiment import run_replications
from gridsight.governance_sim.params import DAY_S, SimConfig
from gridsight.governance_sim.queueing import mmc_mean_wait
from gridsight.governance_sim.scenario import Scenario, build_sim_config, scenario_with_many
from gridsight.governance_sim.stats import t_interval


@dataclass(frozen=True, slots=True)
class FieldQueue:
    """The M/G/c field-queue case: servers, utilisation, service mean (s) and cv."""

    servers: int = 3
    rho: float = 0.8
    service_mean_s: float = 1200.0
    service_cv: float = 0.8

    @property
    def arrival_rate(self) -> float:
        """Alarms per second."""
        return self.rho * self.servers / self.service_mean_s


def field_queue_config(
    sc: Scenario, town: Any, case: FieldQueue, *, days: float, warmup_days: float
) -> SimConfig:
    """The township model reduced to one village's M/G/c field queue (see the module)."""
    cam = town.cameras[0]
    hazards = sorted(cam.hazards)
    per_hazard_day = case.arrival_rate * DAY_S / len(hazards)
    flat = [1.0] * 24
    handling = {"dist": "lognormal", "mean": case.service_mean_s / 60.0, "cv": case.service_cv}
    hz = {
        h: {
            **sc.hazards[h].model_dump(),
            "rate_per_camera_day": per_hazard_day if h in hazards else 0.0,
            "hour_profile": flat,
            "season": [1.0] * 12,
            "detect_prob": 1.0,
            "detect_delay_s": 0.0,
            "duration_min": {"dist": "const", "mean": 1e7, "cv": 0.0},
            "handling_min": handling,
        }
        for h in sc.hazards
    }
    zero = {"dist": "const", "mean": 0.0, "cv": 0.0}
    always = {"shift_h": [0.0, 24.0], "mode": "car", "visits_per_day": 0.0}
    changes: dict[str, Any] = {
        "hazards": hz,
        "alerts.false_alarm_fraction": 0.0,
        "alerts.rate_scale": 1.0,
        "requests": {},
        "centre.verifiers": 50,
        "centre.verify_s": zero,
        "centre.review_min": zero,
        "dispatch.decision_s": 0.0,
        "dispatch.ack_s": zero,
        "dispatch.ack_visiting_s": zero,
        "dispatch.p_no_ack": 0.0,
        "field.report_min": zero,
        "staffing.grid_worker": always,
        "staffing.micro_grid_worker": always,
        "staffing.cadre": always,
        "staffing.volunteer": always,
        "horizon.days": days,
        "horizon.warmup_days": warmup_days,
    }
    cfg = build_sim_config(scenario_with_many(sc, changes), town)
    t = cfg.township
    sim_cam = next(c for c in t.cameras if c.id == cam.id)
    staff = [w for w in t.workers if w.village == sim_cam.village][: case.servers]
    if len(staff) < case.servers:
        raise ValueError(f"village {sim_cam.village!r} has fewer than {case.servers} workers")
    return replace(
        cfg,
        township=replace(
            t,
            cameras=(sim_cam,),
            workers=tuple(staff),
            travel=replace(
                t.travel,
                overhead_s=0.0,
                cv=0.0,
                speed_kmh=(("walk", 1e12), ("ebike", 1e12), ("car", 1e12)),
            ),
        ),
    )


@dataclass(frozen=True, slots=True)
class Waits:
    """Per-replication wait statistics of one simulator."""

    mean: list[float]
    p_wait: list[float]
    p95: list[float]


def _stats(waits: list[np.ndarray]) -> Waits:
    return Waits(
        mean=[float(w.mean()) for w in waits],
        p_wait=[float((w > 1e-9).mean()) for w in waits],
        p95=[float(np.quantile(w, 0.95)) for w in waits],
    )


def model_waits(cfg: SimConfig, *, replications: int, seed: int) -> Waits:
    """Alarm -> dispatch waits of the township model, per replication."""
    res = run_replications(cfg, seed, replications)
    return _stats([np.asarray(r.samples["dispatch_s"]) for r in res])


def ciw_waits(
    case: FieldQueue, *, days: float, warmup_days: float, replications: int, seed: int
) -> Waits:
    """The same M/G/c queue in Ciw (FIFO), per replication."""
    import ciw

    s2 = math.log1p(case.service_cv**2)
    mu = math.log(case.service_mean_s) - s2 / 2.0
    end, lo = days * DAY_S, warmup_days * DAY_S
    waits = []
    for k in range(replications):
        net = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(rate=case.arrival_rate)],
            service_distributions=[ciw.dists.Lognormal(mean=mu, sd=math.sqrt(s2))],
            number_of_servers=[case.servers],
        )
        ciw.seed(seed * 1000 + k)
        q = ciw.Simulation(net)
        q.simulate_until_max_time(end + 10 * DAY_S)
        recs = q.get_all_records()
        waits.append(np.array([r.waiting_time for r in recs if lo <= r.arrival_date < end]))
    return _stats(waits)


def allen_cunneen_wait(case: FieldQueue) -> float:
    """Allen–Cunneen: the M/M/c mean wait scaled by (1 + cs^2) / 2 (Poisson arrivals)."""
    mu = 1.0 / case.service_mean_s
    return mmc_mean_wait(case.arrival_rate, mu, case.servers) * (1.0 + case.service_cv**2) / 2.0


def difference(a: list[float], b: list[float]) -> tuple[float, tuple[float, float], float]:
    """Mean of ``a`` - mean of ``b``, its Welch 95% interval and standard error."""
    from scipy import stats

    x, y = np.asarray(a), np.asarray(b)
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1)) if se > 0 else 1.0
    d = float(x.mean() - y.mean())
    h = float(stats.t.ppf(0.975, dof)) * se
    return d, (d - h, d + h), se


def summary(values: list[float]) -> dict[str, Any]:
    """Mean and 95% interval of per-replication values."""
    return t_interval(values)
