"""Confidence intervals across replications stay inside the range a KPI can take."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridsight.governance_sim.stats import kpi_bounds, summarise, t_interval


def test_share_near_one_is_clipped_at_one() -> None:
    rows = [{"dispatch_within_target": v} for v in (1.0, 1.0, 0.9)]
    est = summarise(rows)["dispatch_within_target"]
    assert est["ci95"][1] == 1.0
    assert est["ci95"][0] < est["mean"] < 1.0


def test_time_near_zero_is_clipped_at_zero() -> None:
    est = summarise([{"dispatch_mean_s": v} for v in (0.0, 100.0)])["dispatch_mean_s"]
    assert est["ci95"][0] == 0.0
    assert est["mean"] == pytest.approx(50.0)


def test_reduction_may_be_negative_but_not_above_one() -> None:
    assert kpi_bounds("response_reduction") == (-math.inf, 1.0)
    assert kpi_bounds("coverage_patrol_short") == (0.0, 1.0)
    assert kpi_bounds("utilisation_verifier") == (0.0, 1.0)
    assert kpi_bounds("closure_p95_s") == (0.0, math.inf)


@given(st.lists(st.floats(0, 1), min_size=2, max_size=30))
def test_clipped_interval_contains_the_mean(values: list[float]) -> None:
    est = t_interval(values, bounds=(0.0, 1.0))
    lo, hi = est["ci95"]
    assert 0.0 <= lo <= est["mean"] + 1e-12
    assert est["mean"] - 1e-12 <= hi <= 1.0
    # Unclipped, the interval is symmetric about the mean.
    raw = t_interval(values)
    assert raw["ci95"][1] - raw["mean"] == pytest.approx(raw["mean"] - raw["ci95"][0])
