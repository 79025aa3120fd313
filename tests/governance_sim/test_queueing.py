"""Closed forms of queueing theory and the bare SimPy queue."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gridsight.core.errors import SimulationError
from gridsight.governance_sim.params import Dist
from gridsight.governance_sim.queueing import (
    erlang_c,
    mm1_mean_wait,
    mmc_mean_wait,
    mmc_wait_exceeds,
    pk_mean_wait,
    simulate_queue,
)


def erlang_c_textbook(lam: float, mu: float, c: int) -> float:
    """The direct sum formula, for comparison with the recursion."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(
    ("lam", "mu", "c"), [(0.5, 1.0, 1), (2.4, 1.0, 3), (9.0, 1.0, 12), (1.4, 0.04 * 25, 2)]
)
def test_erlang_c_recursion_matches_the_textbook_sum(lam: float, mu: float, c: int) -> None:
    assert erlang_c(lam, mu, c) == pytest.approx(erlang_c_textbook(lam, mu, c), rel=1e-12)


def test_single_server_reduces_to_mm1() -> None:
    assert erlang_c(0.7, 1.0, 1) == pytest.approx(0.7)
    assert mmc_mean_wait(0.7, 1.0, 1) == pytest.approx(mm1_mean_wait(0.7, 1.0))
    # P-K with exponential service (E[S^2] = 2/mu^2) is M/M/1; M/D/1 waits half as long.
    assert pk_mean_wait(0.7, 1.0, 2.0) == pytest.approx(mm1_mean_wait(0.7, 1.0))
    assert pk_mean_wait(0.7, 1.0, 1.0) == pytest.approx(mm1_mean_wait(0.7, 1.0) / 2)
    assert mmc_wait_exceeds(2.4, 1.0, 3, 0.0) == pytest.approx(erlang_c(2.4, 1.0, 3))


def test_unstable_or_invalid_queues_are_refused_with_the_utilisation() -> None:
    with pytest.raises(SimulationError, match=r"unstable.*utilisation 1\.000"):
        erlang_c(3.0, 1.0, 3)
    with pytest.raises(SimulationError, match="positive"):
        mm1_mean_wait(-1.0, 1.0)


def test_bare_queue_is_reproducible_and_records_only_after_warmup() -> None:
    seq = np.random.SeedSequence(7)
    a = simulate_queue(0.8, Dist("exp", 1.0, 1.0), 1, 500.0, 100.0, seq)
    b = simulate_queue(0.8, Dist("exp", 1.0, 1.0), 1, 500.0, 100.0, np.random.SeedSequence(7))
    assert np.array_equal(a.waits, b.waits) and a.events == b.events
    assert 250 < a.waits.size < 400  # ~0.8 x 400 arrivals after the warm-up
    assert (a.waits >= 0).all()


def test_deterministic_single_server_with_gaps_never_waits() -> None:
    # Service shorter than any possible gap cannot be guaranteed with Poisson arrivals,
    # but with instant service nobody ever waits.
    run = simulate_queue(1.0, Dist("const", 0.0), 1, 200.0, 0.0, np.random.SeedSequence(1))
    assert run.waits.size > 0 and (run.waits == 0).all()
