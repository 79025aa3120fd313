"""Governance simulator speed: the full township model against a bare SimPy M/M/c loop.

Run: ``.venv/bin/pytest benchmarks/bench_sim.py --benchmark-columns=min,median,mean,rounds``

Groups (compare within a group):
    sim-events  SimPy events per second (``extra_info["events_per_s"]``) of
                - one 30-day replication of the baseline township (arrivals, model,
                  patrol baseline and KPIs: everything a replication does),
                - the SimPy part of it alone (``TownModel.run``),
                - a bare SimPy M/M/c queue with about as many events;
                the ratio full / bare is the cost of the model's logic per event.
    sim-year    one simulated year (365 days) of the baseline township, one replication.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridsight.core.config import load_township
from gridsight.core.dispatch import GridOwnerFirst
from gridsight.governance_sim.arrivals import false_alarms, merge_alarms, residents_requests
from gridsight.governance_sim.model import TownModel
from gridsight.governance_sim.params import Dist
from gridsight.governance_sim.queueing import simulate_queue
from gridsight.governance_sim.replication import build_occurrences, run_replication
from gridsight.governance_sim.scenario import build_sim_config, load_scenario
from gridsight.governance_sim.streams import named_generators

BASELINE = Path(__file__).resolve().parents[1] / "configs" / "sim" / "baseline.yaml"


@pytest.fixture(scope="module")
def scenario():
    sc, town_path = load_scenario(BASELINE)
    return sc, load_township(town_path)


def _events_per_s(benchmark, events: int) -> None:
    benchmark.extra_info["events"] = events
    benchmark.extra_info["events_per_s"] = round(events / benchmark.stats.stats.mean)


@pytest.mark.benchmark(group="sim-events")
def test_full_replication_30_days(benchmark, scenario) -> None:
    cfg = build_sim_config(*scenario, days=30.0)
    result = benchmark.pedantic(
        run_replication,
        args=(cfg, GridOwnerFirst, np.random.SeedSequence(1), 0),
        rounds=5,
        iterations=1,
    )
    _events_per_s(benchmark, result.events)


@pytest.mark.benchmark(group="sim-events")
def test_model_run_only_30_days(benchmark, scenario) -> None:
    cfg = build_sim_config(*scenario, days=30.0)

    def setup():
        gens = named_generators(np.random.SeedSequence(1))
        occ = build_occurrences(cfg, gens)
        alarms = merge_alarms(occ, false_alarms(cfg, gens["false_alarms"]), cfg.horizon.end_s)
        req = residents_requests(cfg, gens["requests"])
        return (TownModel(cfg, gens, GridOwnerFirst(), occ, alarms, req),), {}

    events = benchmark.pedantic(lambda m: m.run(), setup=setup, rounds=5, iterations=1)
    _events_per_s(benchmark, events)


@pytest.mark.benchmark(group="sim-events")
def test_bare_simpy_mmc_loop(benchmark) -> None:
    # ~20k events, like one 30-day replication of the township.
    run = benchmark.pedantic(
        simulate_queue,
        args=(2.4, Dist("exp", 1.0, 1.0), 3, 2800.0, 0.0, np.random.SeedSequence(1)),
        rounds=5,
        iterations=1,
    )
    _events_per_s(benchmark, run.events)


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
