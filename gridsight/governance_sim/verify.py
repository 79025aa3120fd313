"""The verification suite: the model must reproduce queueing theory and closed forms.

Checks (each a :class:`Check` with the simulated estimate, its 95% CI and the theory):

1. bare M/M/c against Erlang C: P(wait), mean wait, P(wait > t);
2. M/M/1 and M/D/1, M/G/1 against M/M/1 and Pollaczek–Khinchine;
3. the full township model in M/M/c mode (every alarm false, flat rates, exponential
   verification, no requests): its command centre against Erlang C;
4. Little's law on the full model with the baseline scenario: L = λW for alarms;
5. extreme case: zero travel, instant verification and acknowledgement, ample staff on
   duty: dispatch is 0, response equals the detection delay, and the mean closure is
   handling + report + review;
6. the field queue as M/G/c (``field_check``): alarm -> dispatch waits against Ciw
   (mean, P(wait), P95; the band is 3 standard errors of the unpaired difference) and
   the mean against the Allen–Cunneen approximation (10%). Skipped, and said so, where
   Ciw (a dev dependency) is not installed.

A check passes when the simulated mean is within 3 standard errors of the theory (a
99.7% band: with fifteen checks, a correct model fails one by chance about 4% of the
time, where 95% intervals would fail one about half the time), or within a small
relative tolerance stated per check, so that a very tight CI does not fail on a
difference far below anything that matters. The 95% CI is printed for reading.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridsight.governance_sim.experiment import run_replications
from gridsight.governance_sim.params import Dist
from gridsight.governance_sim.queueing import (
    erlang_c,
    mm1_mean_wait,
    mmc_mean_wait,
    mmc_wait_exceeds,
    pk_mean_wait,
    simulate_queue,
)
from gridsight.governance_sim.scenario import Scenario, build_sim_config, scenario_with_many
from gridsight.governance_sim.stats import t_interval


@dataclass(frozen=True, slots=True)
class Check:
    """One verification check."""

    name: str
    estimate: float
    ci95: tuple[float, float]
    theory: float
    n: int
    rel_tol: float
    abs_tol: float = 0.0
    se: float = math.nan

    @property
    def passed(self) -> bool:
        """Within 3 standard errors of the theory, or within the tolerance."""
        if not math.isfinite(self.estimate):
            return False
        err = abs(self.estimate - self.theory)
        band = 3.0 * self.se if math.isfinite(self.se) else 0.0
        return err <= max(band, self.rel_tol * abs(self.theory), self.abs_tol)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "estimate": self.estimate,
            "ci95": list(self.ci95),
            "theory": self.theory,
            "n": self.n,
            "se": self.se,
            "rel_tol": self.rel_tol,
            "abs_tol": self.abs_tol,
            "passed": self.passed,
        }


def _check(
    name: str, values: list[float], theory: float, rel_tol: float, abs_tol: float = 0.0
) -> Check:
    ci = t_interval(values)
    lo, hi = ci["ci95"]
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    return Check(
        name=name,
        estimate=float(ci["mean"]) if ci["mean"] is not None else math.nan,
        ci95=(math.nan if lo is None else float(lo), math.nan if hi is None else float(hi)),
        theory=theory,
        n=int(ci["n"]),
        rel_tol=rel_tol,
        abs_tol=abs_tol,
        se=se,
    )


def mmc_checks(
    lam: float,
    mu: float,
    c: int,
    *,
    replications: int,
    horizon: float,
    seed: int,
    t: float | None = None,
    label: str = "M/M/c",
) -> list[Check]:
    """Bare M/M/c simulation against Erlang C (P(wait), mean wait, P(wait > t))."""
    t = 1.0 / mu if t is None else t
    warmup = horizon * 0.1
    runs = [
        simulate_queue(lam, Dist("exp", 1.0 / mu, 1.0), c, horizon, warmup, s)
        for s in np.random.SeedSequence(seed).spawn(replications)
    ]
    tag = f"{label} (lambda={lam:g}, mu={mu:g}, c={c})"
    return [
        _check(
            f"{tag} P(wait)",
            [float((r.waits > 0).mean()) for r in runs],
            erlang_c(lam, mu, c),
            0.02,
        ),
        _check(
            f"{tag} mean wait",
            [float(r.waits.mean()) for r in runs],
            mmc_mean_wait(lam, mu, c),
            0.03,
        ),
        _check(
            f"{tag} P(wait > {t:g})",
            [float((r.waits > t).mean()) for r in runs],
            mmc_wait_exceeds(lam, mu, c, t),
            0.03,
        ),
    ]


def mg1_checks(*, replications: int, horizon: float, seed: int) -> list[Check]:
    """M/M/1, M/D/1 and M/G/1 (gamma, cv 0.5) mean waits against the closed forms."""
    lam, mean = 0.7, 1.0
    out = []
    cases: list[tuple[str, Dist, Callable[[], float]]] = [
        (
            "M/M/1 mean wait (rho=0.7)",
            Dist("exp", mean, 1.0),
            lambda: mm1_mean_wait(lam, 1.0 / mean),
        ),
        (
            "M/D/1 mean wait, Pollaczek-Khinchine (rho=0.7)",
            Dist("const", mean),
            lambda: pk_mean_wait(lam, mean, mean * mean),
        ),
        (
            "M/G/1 gamma cv=0.5 mean wait, Pollaczek-Khinchine (rho=0.7)",
            Dist("gamma", mean, 0.5),
            lambda: pk_mean_wait(lam, mean, Dist("gamma", mean, 0.5).second_moment),
        ),
    ]
    for k, (name, dist, theory) in enumerate(cases):
        runs = [
            simulate_queue(lam, dist, 1, horizon, horizon * 0.1, s)
            for s in np.random.SeedSequence([seed, k]).spawn(replications)
        ]
        out.append(_check(name, [float(r.waits.mean()) for r in runs], theory(), 0.03))
    return out


def _cfg(sc: Scenario, town: Any, changes: dict[str, Any]) -> Any:
    return build_sim_config(scenario_with_many(sc, changes), town)


def full_model_mmc_checks(
    sc: Scenario, town: Any, *, replications: int, days: float, seed: int
) -> list[Check]:
    """The township model's command centre in M/M/c mode against Erlang C."""
    c = 2
    mean_verify = 25.0
    n_cam = len(town.cameras)
    # Offered load 1.4 Erlang on 2 verifiers (rho = 0.7), spread evenly over the cameras.
    per_camera_day = 1.4 / mean_verify * 86400.0 / max(n_cam, 1)
    flat = [1.0] * 24
    changes: dict[str, Any] = {
        "alerts.false_alarm_fraction": 1.0,
        "alerts.rate_scale": 1.0,
        "centre.verifiers": c,
        "centre.verify_s": {"dist": "exp", "mean": mean_verify, "cv": 1.0},
        "requests": {},
        "horizon.days": days,
        "horizon.warmup_days": days * 0.1,
        # Every alarm verified by an operator (none auto-verified and dispatched).
        "orders": {"hazards": {h: {"auto_verify": False} for h in sc.hazards}},
    }
    hazards = {}
    for cam_h in sorted({h for cam in town.cameras for h in cam.hazards}):
        base = sc.hazards[cam_h].model_dump()
        base.update(rate_per_camera_day=per_camera_day, hour_profile=flat, season=[1.0] * 12)
        hazards[cam_h] = base
    changes["hazards"] = hazards
    cfg = _cfg(sc, town, changes)
    res = run_replications(cfg, seed, replications)
    lam, mu = 1.4 / mean_verify, 1.0 / mean_verify
    tag = "township model centre in M/M/c mode (c=2, rho=0.7)"
    return [
        _check(
            f"{tag} P(wait)", [r.kpis["verify_wait_prob"] for r in res], erlang_c(lam, mu, c), 0.03
        ),
        _check(
            f"{tag} mean wait s",
            [r.kpis["verify_wait_mean_s"] for r in res],
            mmc_mean_wait(lam, mu, c),
            0.05,
        ),
    ]


def littles_law_check(
    sc: Scenario, town: Any, *, replications: int, days: float, seed: int
) -> Check:
    """Little's law L = λW on alarms in the full model (relative difference, per replication)."""
    cfg = _cfg(sc, town, {"horizon.days": days})
    res = run_replications(cfg, seed, replications)
    rel = [
        (r.kpis["littles_L"] - r.kpis["littles_lambda_W"]) / r.kpis["littles_L"]
        for r in res
        if r.kpis["littles_L"] > 0
    ]
    return _check("Little's law on the full model: (L - lambda W) / L", rel, 0.0, 0.0, abs_tol=0.03)


def extreme_checks(
    sc: Scenario, town: Any, *, replications: int, days: float, seed: int
) -> list[Check]:
    """Zero travel, instant verification/acknowledgement, ample staff: closed forms."""
    handle_min, report_min, review_min = 10.0, 3.0, 2.0
    always = {"shift_h": [0.0, 24.0], "mode": "car", "visits_per_day": 0.0}
    hz = {
        h: {
            **sc.hazards[h].model_dump(),
            "handling_min": {"dist": "exp", "mean": handle_min, "cv": 1.0},
            "detect_delay_s": 30.0,
        }
        for h in sc.hazards
    }
    changes: dict[str, Any] = {
        "hazards": hz,
        "alerts.false_alarm_fraction": 0.0,
        "requests": {},
        "centre.verifiers": 50,
        "centre.verify_s": {"dist": "const", "mean": 0.0, "cv": 0.0},
        "centre.review_min": {"dist": "exp", "mean": review_min, "cv": 1.0},
        "dispatch.decision_s": 0.0,
        "dispatch.ack_s": {"dist": "const", "mean": 0.0, "cv": 0.0},
        "dispatch.ack_visiting_s": {"dist": "const", "mean": 0.0, "cv": 0.0},
        "dispatch.p_no_ack": 0.0,
        "field.report_min": {"dist": "exp", "mean": report_min, "cv": 1.0},
        "staffing.grid_worker": always,
        "staffing.micro_grid_worker": always,
        "staffing.cadre": always,
        "staffing.volunteer": always,
        "horizon.days": days,
    }
    cfg = _cfg(sc, town, changes)
    # Zero travel: no set-off time, no variability, (practically) infinite speed.
    from dataclasses import replace

    t = cfg.township
    cfg = replace(
        cfg,
        township=replace(
            t,
            travel=replace(
                t.travel,
                overhead_s=0.0,
                cv=0.0,
                speed_kmh=(("walk", 1e12), ("ebike", 1e12), ("car", 1e12)),
            ),
        ),
    )
    res = run_replications(cfg, seed, replications)
    delays = {h: p.detect_delay_s for h, p in cfg.hazards}
    # Response = onset -> arrival = the detection delay; mix of hazards by alarm share.
    resp_theory = (
        float(np.mean(list(delays.values()))) if len(set(delays.values())) == 1 else math.nan
    )
    tag = "extreme case (zero travel, instant verification, ample staff)"
    checks = [
        _check(
            f"{tag} mean dispatch s",
            [r.kpis["dispatch_mean_s"] for r in res],
            0.0,
            0.0,
            abs_tol=1e-6,
        ),
        _check(
            f"{tag} P(dispatch <= target)",
            [r.kpis["dispatch_within_target"] for r in res],
            1.0,
            0.0,
            abs_tol=1e-9,
        ),
        _check(
            f"{tag} mean closure s = handling + report + review",
            [r.kpis["closure_mean_s"] for r in res],
            (handle_min + report_min + review_min) * 60.0,
            0.02,
        ),
    ]
    if not math.isnan(resp_theory):
        checks.append(
            _check(
                f"{tag} mean response s = detection delay",
                [r.kpis["response_mean_s"] for r in res],
                resp_theory,
                0.0,
                abs_tol=1e-3,
            )
        )
    return checks


def field_queue_checks(
    sc: Scenario, town: Any, *, replications: int, days: float, seed: int
) -> list[Check]:
    """The model's field queue (one village, c workers) against Ciw's M/G/c, FIFO."""
    from gridsight.governance_sim import field_check as fc

    case = fc.FieldQueue()
    warm = days * 0.1
    cfg = fc.field_queue_config(sc, town, case, days=days, warmup_days=warm)
    model = fc.model_waits(cfg, replications=replications, seed=seed)
    tag = (
        f"field queue M/G/{case.servers} (rho={case.rho:g}, lognormal service "
        f"{case.service_mean_s:g} s cv {case.service_cv:g}, FIFO)"
    )
    checks = [
        _check(
            f"{tag} mean wait s vs Allen-Cunneen",
            model.mean,
            fc.allen_cunneen_wait(case),
            0.10,
        )
    ]
    try:
        import ciw  # noqa: F401
    except ImportError:
        return checks  # the caller prints that the Ciw comparison did not run
    oracle = fc.ciw_waits(case, days=days, warmup_days=warm, replications=replications, seed=seed)
    for label, ours, theirs in (
        ("mean wait s", model.mean, oracle.mean),
        ("P(wait)", model.p_wait, oracle.p_wait),
        ("P95 wait s", model.p95, oracle.p95),
    ):
        est = _check(label, ours, 0.0, 0.0)
        _, _, se = fc.difference(ours, theirs)
        checks.append(
            Check(
                name=f"{tag} {label} vs Ciw {_ciw_version()}",
                estimate=est.estimate,
                ci95=est.ci95,
                theory=float(np.mean(theirs)),
                n=est.n,
                rel_tol=0.0,
                se=se,
            )
        )
    return checks


def _ciw_version() -> str:
    from importlib.metadata import version

    return version("ciw")


def run_verification(
    sc: Scenario, town: Any, *, quick: bool = False, seed: int = 12345
) -> list[Check]:
    """The whole suite. ``quick`` shrinks run lengths (for tests); the default is the full suite."""
    k = 0.25 if quick else 1.0
    checks: list[Check] = []
    checks += mmc_checks(2.4, 1.0, 3, replications=20, horizon=3000.0 * k, seed=seed, t=0.5)
    checks += mg1_checks(replications=20, horizon=20000.0 * k, seed=seed + 1)
    checks += full_model_mmc_checks(sc, town, replications=8, days=4.0 * k, seed=seed + 2)
    checks.append(littles_law_check(sc, town, replications=8, days=30.0 * k, seed=seed + 3))
    checks += extreme_checks(sc, town, replications=16, days=20.0 * k, seed=seed + 4)
    checks += field_queue_checks(sc, town, replications=10, days=20.0 * k, seed=seed + 5)
    return checks
