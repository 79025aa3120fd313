"""Experiments: replications in parallel (processes or Dask), summary and results JSON.

Replication ``i`` of a run with seed ``S`` always uses ``SeedSequence(S).spawn(R)[i]``,
whichever worker runs it and in whatever order it finishes; results are put back in
replication order before anything is summarised, so the JSON of a seed is byte-identical
for any ``--workers`` and with or without Dask.
"""

from __future__ import annotations

import hashlib
import logging
import math
import platform
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from typing import Any

import numpy as np

from gridsight.core.dispatch import DispatchPolicy, PolicyRegistry, resolve_policy
from gridsight.core.errors import SimulationError
from gridsight.governance_sim.params import ROLES, SimConfig
from gridsight.governance_sim.replication import ReplicationResult, run_replication
from gridsight.governance_sim.stats import paired_difference, share_meeting, summarise, verdict
from gridsight.governance_sim.streams import replication_seeds

SCHEMA = "gridsight.sim.results/1"

log = logging.getLogger("gridsight.sim")


# Per worker process: the run's scenario, policy and seeds, set once by the initializer
# so that a job is only a list of replication numbers (no scenario pickled per job).
_RUN: tuple[SimConfig, type[DispatchPolicy], list[np.random.SeedSequence], bool] | None = None


def _init_worker(
    cfg: SimConfig,
    policy: type[DispatchPolicy],
    seqs: list[np.random.SeedSequence],
    trace: bool = False,
) -> None:
    global _RUN
    _RUN = (cfg, policy, seqs, trace)


def _chunk(indices: Sequence[int]) -> list[ReplicationResult]:
    assert _RUN is not None, "worker process not initialised"
    cfg, policy, seqs, trace = _RUN
    return [run_replication(cfg, policy, seqs[i], i, trace=trace) for i in indices]


def _one(
    args: tuple[SimConfig, type[DispatchPolicy], np.random.SeedSequence, int, bool],
) -> ReplicationResult:
    cfg, policy, seq, index, trace = args
    return run_replication(cfg, policy, seq, index, trace=trace)


def _chunks(n: int, workers: int) -> list[list[int]]:
    """Replication numbers cut into jobs: about eight per worker, at most 16 each, so
    that the pool stays balanced near the end and progress moves."""
    size = max(1, min(16, n // (8 * workers)))
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


def run_replications(
    cfg: SimConfig,
    seed: int,
    replications: int,
    *,
    registry: PolicyRegistry | None = None,
    workers: int = 1,
    dask_address: str | None = None,
    progress: bool = False,
    on_done: Callable[[int], None] | None = None,
    trace: bool = False,
) -> list[ReplicationResult]:
    """Run ``replications`` independent replications of ``cfg``.

    Args:
        cfg: the scenario.
        seed: the run's seed (replication i uses the i-th spawned SeedSequence).
        replications: how many.
        registry: the dispatch policies (``load_policies(pm)``); None knows only the
            built-ins.
        workers: processes to use (1 runs in this process). Each process gets the
            scenario once, then jobs of several replication numbers.
        dask_address: a dask.distributed scheduler address; when given, replications
            run on that cluster instead of local processes.
        progress: show a tqdm progress bar on stderr.
        on_done: called with the number finished so far (for other progress displays).
        trace: keep each replication's trace rows (``ReplicationResult.trace``).

    Returns:
        The results in replication order.
    """
    if replications < 1:
        raise SimulationError(f"--replications must be >= 1, got {replications}")
    policy = resolve_policy(cfg.dispatch.policy, registry)
    seqs = replication_seeds(seed, replications)
    from tqdm import tqdm

    bar = tqdm(
        total=replications, desc=f"{cfg.name}", unit="rep", disable=not progress, leave=False
    )
    results: list[ReplicationResult] = []

    def done(rs: Sequence[ReplicationResult]) -> None:
        results.extend(rs)
        bar.update(len(rs))
        if on_done is not None:
            on_done(len(results))

    try:
        if dask_address is not None:
            jobs = [(cfg, policy, seqs[i], i, trace) for i in range(replications)]
            _run_dask(jobs, dask_address, lambda r: done([r]))
        elif workers <= 1 or replications == 1:
            for i in range(replications):
                done([run_replication(cfg, policy, seqs[i], i, trace=trace)])
        else:
            n = min(workers, replications)
            with ProcessPoolExecutor(
                max_workers=n, initializer=_init_worker, initargs=(cfg, policy, seqs, trace)
            ) as pool:
                futures = [pool.submit(_chunk, c) for c in _chunks(replications, n)]
                for fut in as_completed(futures):
                    done(fut.result())
    finally:
        bar.close()
    results.sort(key=lambda r: r.index)
    return results


def _run_dask(jobs: Sequence[Any], address: str, done: Callable[[ReplicationResult], None]) -> None:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SimulationError(
            "--dask needs dask.distributed: pip install 'gridsight[dask]'"
        ) from exc
    try:
        client = Client(address, timeout=10)
    except OSError as exc:
        raise SimulationError(f"--dask {address}: cannot reach the scheduler: {exc}") from exc
    try:
        futures = client.map(_one, list(jobs), pure=False)
        for fut in dask_completed(futures):
            done(fut.result())
    finally:
        client.close()


def config_digest(cfg: SimConfig) -> str:
    """A short hash of the whole simulation config (what the results depend on)."""
    text = repr(asdict(cfg)).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def software_versions() -> dict[str, str]:
    """Versions of what the results depend on (deterministic for a given install)."""
    import scipy
    import simpy

    from gridsight import __version__

    return {
        "gridsight": __version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "scipy": scipy.__version__,
        "simpy": simpy.__version__,
        "platform": sys.platform,
    }


def targets_block(
    summary: dict[str, dict[str, Any]],
    cfg: SimConfig,
    results: Sequence[ReplicationResult] = (),
) -> dict[str, Any]:
    """The three published targets: target, estimate (mean, CI, n) and verdict, and the
    probability that one replication's period (``horizon.days``, a month by default)
    meets the target (share of replications, Wilson 95% interval): "met with 95%
    confidence" is about the *mean* attainment, not about every month."""
    t = cfg.targets
    rows = {
        "dispatch": (
            "dispatch_within_target",
            t.attainment,
            f"share of alarms dispatched (worker notified) within {t.dispatch_s:g} s "
            f">= {t.attainment:g}",
        ),
        "closure": (
            "closure_within_target",
            t.attainment,
            f"share of alarms closed within {t.closure_s / 60:g} min >= {t.attainment:g}",
        ),
        "response_reduction": (
            "response_reduction",
            t.reduction,
            f"response time reduction vs manual patrol, 1 - AI/patrol, >= {t.reduction:g} "
            "(judged on the reduction; the speed ratio patrol/AI is reported too)",
        ),
    }
    out: dict[str, Any] = {}
    for name, (kpi, threshold, text) in rows.items():
        est = summary.get(kpi, {"mean": None, "ci95": [None, None], "n": 0})
        out[name] = {"target": text, "threshold": threshold, "kpi": kpi, "estimate": est,
                     **verdict(est, threshold)}  # fmt: skip
        if results:
            out[name]["p_period_meets"] = {
                **share_meeting([r.kpis.get(kpi, math.nan) for r in results], threshold),
                "period_days": cfg.horizon.days - cfg.horizon.warmup_days,
            }
    out["response_reduction"]["speed_ratio"] = summary.get("speed_ratio")
    return out


def results_document(
    cfg: SimConfig, seed: int, results: Sequence[ReplicationResult], *, source: str = ""
) -> dict[str, Any]:
    """The results JSON: KPIs (mean, ci95, n), targets, run description, and ``meta``."""
    summary = summarise(r.kpis for r in results)
    h = cfg.horizon
    return {
        "schema": SCHEMA,
        "scenario": cfg.name,
        "source": source,
        "config_digest": config_digest(cfg),
        "run": {
            "seed": seed,
            "replications": len(results),
            "days": h.days,
            "warmup_days": h.warmup_days,
            "drain_days": h.drain_days,
            "policy": cfg.dispatch.policy,
            "verifiers": cfg.centre.verifiers,
            "cameras": len(cfg.township.cameras),
            "workers": len(cfg.township.workers),
            "alerts": "replay" if cfg.trace is not None else "synthetic",
            "ci_method": "Student t over replications, 95%",
            "rng": "numpy SeedSequence(seed).spawn(replications); one PCG64 per stream",
        },
        "kpis": summary,
        "targets": targets_block(summary, cfg, results),
        "warnings": run_warnings(summary),
        "parameters": parameters(cfg),
        "meta": {"versions": software_versions(), "events": sum(r.events for r in results)},
    }


def run_warnings(summary: dict[str, dict[str, Any]]) -> list[str]:
    """What a planner must know before trusting the numbers."""
    out: list[str] = []
    g = summary.get("backlog_growth", {})
    lo = (g.get("ci95") or [None])[0]
    if lo is not None and lo > 0:
        out.append(
            f"the backlog grows without bound: {g['mean']:.1f} more open orders at the end of "
            "the window than at its middle (95% CI above 0); the system is overloaded and "
            "every time KPI depends on the run length"
        )
    o = summary.get("open_at_end_of_drain", {})
    if (o.get("mean") or 0) > 0:
        out.append(
            f"{o['mean']:.1f} real alarms per replication were still open at the end of the "
            "drain; they count as misses of both targets"
        )
    for name in ("dispatch_within_target", "closure_within_target", "response_reduction"):
        w = summary.get(name, {}).get("warning")
        if w:
            out.append(f"{name}: {w}")
    return out


def parameters(cfg: SimConfig) -> dict[str, Any]:
    """The scenario's parameters as run (the township as counts; the orders settings)."""
    d = {k: v for k, v in asdict(cfg).items() if k != "township"}
    t = cfg.township
    d["township"] = {
        "name": t.name,
        "villages": len(t.villages),
        "grids": len(t.grids),
        "cameras": len(t.cameras),
        "workers": {r: sum(1 for w in t.workers if w.role == r) for r in ROLES},
        "travel": {
            **{k: v for k, v in asdict(t.travel).items() if k != "roads"},
            "roads": None
            if t.travel.roads is None
            else {"nodes": len(t.travel.roads.ids), "closed": list(t.travel.roads.closed)},
        },
    }
    d["orders"] = cfg.orders.model_dump(mode="json")
    d["trace"] = None if cfg.trace is None else len(cfg.trace)
    return d


def compare_document(
    names: Sequence[str],
    docs: Sequence[dict[str, Any]],
    results: Sequence[Sequence[ReplicationResult]],
) -> dict[str, Any]:
    """Paired differences of every KPI, each alternative against the first (the baseline).

    The intervals are Bonferroni-corrected over the alternatives (each at level
    1 - 0.05 / m), so that all of one KPI's intervals hold together with 95% confidence;
    the unpaired (Welch) half-width is given next to the paired one.
    """
    m = max(len(names) - 1, 1)
    level = 1.0 - 0.05 / m
    base = results[0]
    kpis = sorted({k for r in base for k in r.kpis})
    alts: dict[str, Any] = {}
    for name, doc, res in zip(names[1:], docs[1:], results[1:], strict=True):
        diffs = {}
        for k in kpis:
            d = paired_difference(
                [r.kpis.get(k, math.nan) for r in res], [r.kpis.get(k, math.nan) for r in base],
                level,
            )  # fmt: skip
            if d["n"]:
                diffs[k] = d
        alts[name] = {"targets": doc["targets"], "differences": diffs}
    return {
        "schema": "gridsight.sim.compare/1",
        "baseline": names[0],
        "baseline_targets": docs[0]["targets"],
        "ci_method": (
            f"paired t over replications (common random numbers), Bonferroni over {m} "
            f"alternative(s): each interval at {level:.4g}"
        ),
        "alternatives": alts,
    }
