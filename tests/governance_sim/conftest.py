"""Fixtures of the governance simulator tests: the Jingqiao township and short scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gridsight.core.config import load_township
from gridsight.core.dispatch import GridOwnerFirst
from gridsight.governance_sim.arrivals import false_alarms, merge_alarms, residents_requests
from gridsight.governance_sim.model import TownModel
from gridsight.governance_sim.params import SimConfig
from gridsight.governance_sim.replication import build_occurrences
from gridsight.governance_sim.scenario import (
    Scenario,
    build_sim_config,
    load_scenario,
    scenario_with_many,
)
from gridsight.governance_sim.streams import named_generators, replication_seeds

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "sim" / "baseline.yaml"


@pytest.fixture(scope="session")
def baseline() -> tuple[Scenario, Any]:
    """The baseline scenario and its loaded township."""
    sc, town_path = load_scenario(BASELINE)
    return sc, load_township(town_path)


@pytest.fixture(scope="session")
def short_cfg(baseline: tuple[Scenario, Any]) -> SimConfig:
    """Baseline for 4 days (1 warm-up day): quick, yet hundreds of orders."""
    sc, town = baseline
    return build_sim_config(sc, town, days=4.0)


def make_cfg(
    baseline: tuple[Scenario, Any], changes: dict[str, Any], days: float = 4.0
) -> SimConfig:
    """Baseline with some dotted fields changed."""
    sc, town = baseline
    return build_sim_config(scenario_with_many(sc, changes), town, days=days)


def run_model(cfg: SimConfig, seed: int) -> tuple[TownModel, Any, Any, Any]:
    """One replication's model, run: ``(model, occurrences, alarms, generators)``."""
    gens = named_generators(replication_seeds(seed, 1)[0])
    occ = build_occurrences(cfg, gens)
    alarms = merge_alarms(occ, false_alarms(cfg, gens), cfg.horizon.end_s)
    req = residents_requests(cfg, gens)
    model = TownModel(cfg, gens, GridOwnerFirst(), occ, alarms, req)
    model.run()
    return model, occ, alarms, gens
