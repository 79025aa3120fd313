"""Experiments: replications in parallel (processes or Dask), summary and results JSON.

Replication ``i`` of a run with seed ``S`` always uses ``SeedSequence(S).spawn(R)[i]``,
whichever worker runs it and in whatever order it finishes; results are put back in
replication order before anything is summarised, so the JSON of a seed is byte-identical
for any ``--workers`` and with or without Dask.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from typing import Any

import numpy as np

from gridsight.core.dispatch import DispatchPolicy, PolicyRegistry, resolve_policy
from gridsight.core.errors import SimulationError
from gridsight.governance_sim.params import SimConfig
from gridsight.governance_sim.replication import ReplicationResult, run_replication
from gridsight.governance_sim.stats import summarise, verdict
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


def targets_block(summary: dict[str, dict[str, Any]], cfg: SimConfig) -> dict[str, Any]:
    """The three published targets: target, estimate (mean, CI, n) and verdict."""
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
        "targets": targets_block(summary, cfg),
        "meta": {"versions": software_versions(), "events": sum(r.events for r in results)},
    }
