"""Governance simulator speed: the full township model against a bare SimPy M/M/c loop.

Run: ``.venv/bin/pytest benchmarks/bench_sim.py --benchmark-columns=min,median,mean,rounds``
(``make bench`` runs it with the other benchmarks).

Groups (compare within a group):
    sim-events  SimPy events per second (``extra_info["events_per_s"]``, from the median
                round) of
                - a bare SimPy M/M/c queue with about as many events as a replication,
                - one 30-day replication of the baseline township (arrivals, model,
                  patrol baseline and KPIs: everything a replication does),
                - the SimPy part of it alone (``TownModel.run``);
                the ratio full / bare (``extra_info["full_over_bare"]``, also printed
                as one line) is the cost of the model's logic per event. Goal >= 0.5.
                The full replication's line also projects the sweep goal from its
                median: 1,000 x median / 2 workers (``extra_info["projected_sweep_s"]``).
    sim-year    one simulated year (365 days) of the baseline township, one replication.
    sim-sweep   1,000 replications x 30 days of the baseline on 2 worker processes, one
                round (marked slow), as ``gridsight sim run -n 1000 --days 30 -j 2``
                does it. Goal <= 60 s on 2 cores.

Both events/s figures of the ratio come out of one process and one run, the bare loop
first, so that the ratio compares like with like on a shared machine.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from gridsight.core.config import load_township
from gridsight.core.dispatch import GridOwnerFirst
from gridsight.governance_sim.arrivals import false_alarms, merge_alarms, residents_requests
from gridsight.governance_sim.experiment import run_replications
from gridsight.governance_sim.model import TownModel
from gridsight.governance_sim.params import Dist
from gridsight.governance_sim.queueing import simulate_queue
from gridsight.governance_sim.replication import build_occurrences, run_replication
from gridsight.governance_sim.scenario import build_sim_config, load_scenario
from gridsight.governance_sim.streams import named_generators

BASELINE = Path(__file__).resolve().parents[1] / "configs" / "sim" / "baseline.yaml"
ROUNDS = 9
SWEEP_REPLICATIONS = 1000
SWEEP_WORKERS = 2

# Medians of this run, so that the later benchmarks can print ratios to the earlier ones.
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def scenario():
    sc, town_path = load_scenario(BASELINE)
    return sc, load_township(town_path)


def _events_per_s(benchmark, events: int) -> float:
    """Store and return events / median round time."""
    rate = events / benchmark.stats.stats.median
    benchmark.extra_info["events"] = events
    benchmark.extra_info["events_per_s"] = round(rate)
    return rate


def _ratio_to_bare(benchmark, capsys, name: str, rate: float) -> None:
    bare = RESULTS.get("bare_events_per_s")
    if bare is None:  # the bare benchmark was deselected
        return
    ratio = rate / bare
    RESULTS[f"{name}_over_bare"] = ratio
    benchmark.extra_info["full_over_bare" if name == "full" else f"{name}_over_bare"] = round(
        ratio, 3
    )
    with capsys.disabled():
        print(
            f"\nsim-events: bare SimPy M/M/c loop {bare:,.0f} events/s, {name} model "
            f"{rate:,.0f} events/s (medians of {ROUNDS} rounds): {name} / bare = {ratio:.3f}"
            + (" (goal >= 0.5)" if name == "full" else "")
        )


@pytest.mark.benchmark(group="sim-events")
def test_bare_simpy_mmc_loop(benchmark) -> None:
    # ~40k events; defined first so that the model benchmarks can print their ratio.
    # A fresh SeedSequence each round: simulate_queue spawns from it, which would give
    # every round other numbers (and another event count).
    run = benchmark.pedantic(
        simulate_queue,
        setup=lambda: ((2.4, Dist("exp", 1.0, 1.0), 3, 2800.0, 0.0, np.random.SeedSequence(1)), {}),
        rounds=ROUNDS,
        iterations=1,
    )
    RESULTS["bare_events_per_s"] = _events_per_s(benchmark, run.events)


@pytest.mark.benchmark(group="sim-events")
def test_full_replication_30_days(benchmark, scenario, capsys) -> None:
    cfg = build_sim_config(*scenario, days=30.0)
    result = benchmark.pedantic(
        run_replication,
        args=(cfg, GridOwnerFirst, np.random.SeedSequence(1), 0),
        rounds=ROUNDS,
        iterations=1,
    )
    _ratio_to_bare(benchmark, capsys, "full", _events_per_s(benchmark, result.events))
    # The sweep goal from the same rounds: 1,000 of these on 2 workers, if the two
    # processes ran as fast as this one (no pool overhead; sim-sweep measures it).
    projected = SWEEP_REPLICATIONS * benchmark.stats.stats.median / SWEEP_WORKERS
    benchmark.extra_info["projected_sweep_s"] = round(projected, 1)
    with capsys.disabled():
        print(
            f"sim-events: one 30-day replication {1000 * benchmark.stats.stats.median:.1f} ms "
            f"(median): {SWEEP_REPLICATIONS:,} on {SWEEP_WORKERS} workers ~ {projected:.1f} s "
            f"(goal <= 60 s); full / bare = {RESULTS.get('full_over_bare', math.nan):.3f} "
            "(goal >= 0.5)"
        )


@pytest.mark.benchmark(group="sim-events")
def test_model_run_only_30_days(benchmark, scenario, capsys) -> None:
    cfg = build_sim_config(*scenario, days=30.0)

    def setup():
        gens = named_generators(np.random.SeedSequence(1))
        occ = build_occurrences(cfg, gens)
        alarms = merge_alarms(occ, false_alarms(cfg, gens), cfg.horizon.end_s)
        req = residents_requests(cfg, gens)
        return (TownModel(cfg, gens, GridOwnerFirst(), occ, alarms, req),), {}

    events = benchmark.pedantic(lambda m: m.run(), setup=setup, rounds=ROUNDS, iterations=1)
    _ratio_to_bare(benchmark, capsys, "model.run", _events_per_s(benchmark, events))


@pytest.mark.benchmark(group="sim-overload")
@pytest.mark.parametrize("days", [2.0, 4.0, 8.0])
def test_overload_rho_1_2_is_linear_in_the_run(benchmark, scenario, days: float) -> None:
    # The field queue at rho = 1.2 (one village, 3 workers): the backlog grows without
    # bound. Time per simulated day must stay flat as the run (and backlog) grows.
    from dataclasses import replace

    from gridsight.governance_sim import field_check as fc

    sc, town = scenario
    cfg = fc.field_queue_config(sc, town, fc.FieldQueue(rho=1.2), days=days, warmup_days=0.0)
    cfg = replace(cfg, horizon=replace(cfg.horizon, drain_days=0.0))
    result = benchmark.pedantic(
        run_replication,
        args=(cfg, GridOwnerFirst, np.random.SeedSequence(1), 0),
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info["s_per_day"] = benchmark.stats.stats.median / days
    _events_per_s(benchmark, result.events)


@pytest.mark.benchmark(group="sim-year")
def test_one_simulated_year(benchmark, scenario) -> None:
    cfg = build_sim_config(*scenario, days=365.0)
    result = benchmark.pedantic(
        run_replication,
        args=(cfg, GridOwnerFirst, np.random.SeedSequence(1), 0),
        rounds=2,
        iterations=1,
    )
    _events_per_s(benchmark, result.events)


@pytest.mark.slow
@pytest.mark.benchmark(group="sim-sweep")
def test_1000_replications_30_days_on_2_workers(benchmark, scenario, capsys) -> None:
    cfg = build_sim_config(*scenario, days=30.0)
    results = benchmark.pedantic(
        run_replications,
        args=(cfg, 20240501, SWEEP_REPLICATIONS),
        kwargs={"workers": SWEEP_WORKERS},
        rounds=1,
        iterations=1,
    )
    assert [r.index for r in results] == list(range(SWEEP_REPLICATIONS))
    wall = benchmark.stats.stats.median
    events = sum(r.events for r in results)
    benchmark.extra_info.update(
        replications=SWEEP_REPLICATIONS,
        workers=SWEEP_WORKERS,
        cpus=os.cpu_count(),
        wall_s=round(wall, 2),
        events_per_s=round(events / wall),
    )
    with capsys.disabled():
        print(
            f"\nsim-sweep: {SWEEP_REPLICATIONS} replications x 30 days on {SWEEP_WORKERS} "
            f"workers ({os.cpu_count()} CPUs): {wall:.1f} s wall (goal <= 60 s), "
            f"{events / wall:,.0f} events/s in all"
        )
