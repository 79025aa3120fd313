"""Confidence intervals across replications: unclipped, with a warning where they are
not valid; paired differences; the share of replications meeting a target."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridsight.governance_sim.stats import (
    kpi_bounds,
    paired_difference,
    share_meeting,
    summarise,
    t_interval,
)


def test_a_share_near_one_is_not_clipped_but_warned_about() -> None:
    rows = [{"dispatch_within_target": v} for v in (1.0, 1.0, 0.9)]
    est = summarise(rows)["dispatch_within_target"]
    assert est["ci95"][1] > 1.0  # the t-interval as it is
    assert "only 3 replications" in est["warning"] and "leaves the KPI's range" in est["warning"]


def test_enough_replications_inside_the_range_carry_no_warning() -> None:
    rows = [{"dispatch_within_target": v} for v in np.linspace(0.8, 0.9, 12)]
    assert "warning" not in summarise(rows)["dispatch_within_target"]


def test_kpi_ranges() -> None:
    assert kpi_bounds("response_reduction") == (-math.inf, 1.0)
    assert kpi_bounds("coverage_patrol_short") == (0.0, 1.0)
    assert kpi_bounds("utilisation_verifier") == (0.0, 1.0)
    assert kpi_bounds("closure_p95_s") == (0.0, math.inf)


@given(st.lists(st.floats(0, 1), min_size=2, max_size=30))
def test_the_interval_is_symmetric_about_the_mean(values: list[float]) -> None:
    raw = t_interval(values)
    assert raw["ci95"][1] - raw["mean"] == pytest.approx(raw["mean"] - raw["ci95"][0])


def test_paired_differences_are_narrower_when_replications_share_their_noise() -> None:
    rng = np.random.default_rng(1)
    common = rng.normal(100.0, 20.0, 30)
    base = common + rng.normal(0, 1, 30)
    alt = common - 5.0 + rng.normal(0, 1, 30)
    d = paired_difference(alt, base)
    assert d["ci95"][0] < -5.0 + 1.5 and d["ci95"][1] > -5.0 - 1.5
    assert d["half_width_paired"] * 5 < d["half_width_unpaired"]


def test_share_meeting_a_target_with_a_wilson_interval() -> None:
    est = share_meeting([0.95] * 27 + [0.85] * 3, 0.9)
    assert est["mean"] == pytest.approx(0.9) and est["n"] == 30
    lo, hi = est["ci95"]
    assert 0.7 < lo < 0.9 < hi <= 1.0
    assert share_meeting([1.0] * 5, 0.9)["ci95"][1] == 1.0
