"""Experiments: replications in parallel (processes or Dask), summary and results JSON.

Replication ``i`` of a run with seed ``S`` always uses ``SeedSequence(S).spawn(R)[i]``,
whichever worker runs it and in whatever order it finishes; results are put back in
replication order before anything is summarised, so the JSON of a seed is byte-identical
for any ``--workers`` and with or without Dask.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from typing import Any

import numpy as np

from gridsight.core.dispatch import BUILTIN_POLICIES, DispatchPolicy
from gridsight.core.errors import SimulationError
from gridsight.governance_sim.params import SimConfig
from gridsight.governance_sim.replication import ReplicationResult, run_replication
from gridsight.governance_sim.stats import summarise, verdict
from gridsight.governance_sim.streams import replication_seeds

SCHEMA = "gridsight.sim.results/1"


def known_policies() -> dict[str, type[DispatchPolicy]]:
    """Dispatch policies by name: the built-ins plus any registered by plugins."""
    out: dict[str, type[DispatchPolicy]] = {p.name: p for p in BUILTIN_POLICIES}
    try:
        from gridsight.core.plugins import build_plugin_manager, dispatch_policies

        out.update(dispatch_policies(build_plugin_manager()))
    except Exception:  # a broken third-party plugin must not stop the built-ins
        pass
    return out


def resolve_policy(name: str) -> type[DispatchPolicy]:
    """The policy class called ``name``.

    Raises:
        SimulationError: no policy has that name (the message lists the known ones).
    """
    for p in BUILTIN_POLICIES:
        if p.name == name:
            return p
    policies = known_policies()
    if name not in policies:
        raise SimulationError(
            f"dispatch.policy: unknown policy {name!r}; known: {', '.join(sorted(policies))}"
        )
    return policies[name]


def _one(
    args: tuple[SimConfig, type[DispatchPolicy], np.random.SeedSequence, int],
) -> ReplicationResult:
    return run_replication(*args)


def run_replications(
    cfg: SimConfig,
    seed: int,
    replications: int,
    *,
    workers: int = 1,
    dask_address: str | None = None,
    progress: bool = False,
    on_done: Callable[[int], None] | None = None,
) -> list[ReplicationResult]:
    """Run ``replications`` independent replications of ``cfg``.

    Args:
        cfg: the scenario.
        seed: the run's seed (replication i uses the i-th spawned SeedSequence).
        replications: how many.
        workers: processes to use (1 runs in this process).
        dask_address: a dask.distributed scheduler address; when given, replications
            run on that cluster instead of local processes.
        progress: show a tqdm progress bar on stderr.
        on_done: called with the number finished so far (for other progress displays).

    Returns:
        The results in replication order.
    """
    if replications < 1:
        raise SimulationError(f"--replications must be >= 1, got {replications}")
    policy = resolve_policy(cfg.dispatch.policy)
    seqs = replication_seeds(seed, replications)
    jobs = [(cfg, policy, seqs[i], i) for i in range(replications)]
    from tqdm import tqdm

    bar = tqdm(
        total=replications, desc=f"{cfg.name}", unit="rep", disable=not progress, leave=False
    )
    results: list[ReplicationResult] = []

    def done(r: ReplicationResult) -> None:
        results.append(r)
        bar.update(1)
        if on_done is not None:
            on_done(len(results))

    try:
        if dask_address is not None:
            _run_dask(jobs, dask_address, done)
        elif workers <= 1 or replications == 1:
            for job in jobs:
                done(_one(job))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(_one, job) for job in jobs]
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
