"""Queueing theory the model is checked against, and a bare SimPy M/M/c (M/G/c) queue.

Formulas (written out here, not taken from a library):

* Erlang C, M/M/c with offered load a = λ/μ and ρ = a/c < 1: the probability of waiting
  ``C(c, a)`` via the numerically stable Erlang B recursion
  ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))``, then ``C = B / (1 - ρ (1 - B))``;
  mean wait ``Wq = C / (cμ - λ)``; ``P(Wq > t) = C exp(-(cμ - λ) t)``.
* M/M/1: ``Wq = ρ / (μ - λ)``.
* Pollaczek–Khinchine, M/G/1: ``Wq = λ E[S²] / (2 (1 - ρ))``; M/D/1 has ``E[S²] = 1/μ²``.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from gridsight.core.errors import SimulationError
from gridsight.governance_sim.params import Dist


def _stable(lam: float, mu: float, c: int) -> None:
    if lam <= 0 or mu <= 0 or c < 1:
        raise SimulationError(
            f"queue parameters must be positive: arrival rate {lam}, service rate {mu}, servers {c}"
        )
    if lam >= c * mu:
        raise SimulationError(
            f"unstable queue: arrival rate {lam:g} >= servers x service rate {c * mu:g} "
            f"(utilisation {lam / (c * mu):.3f}); the wait grows without bound"
        )


def erlang_c(lam: float, mu: float, c: int) -> float:
    """Probability that an arrival waits in an M/M/c queue."""
    _stable(lam, mu, c)
    a = lam / mu
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue (before service) of an M/M/c queue."""
    return erlang_c(lam, mu, c) / (c * mu - lam)


def mmc_wait_exceeds(lam: float, mu: float, c: int, t: float) -> float:
    """P(wait in queue > t) of an M/M/c queue."""
    return erlang_c(lam, mu, c) * math.exp(-(c * mu - lam) * t)


def mm1_mean_wait(lam: float, mu: float) -> float:
    """Mean wait in queue of an M/M/1 queue."""
    _stable(lam, mu, 1)
    rho = lam / mu
    return rho / (mu - lam)


def pk_mean_wait(lam: float, mean_s: float, second_moment: float) -> float:
    """Pollaczek–Khinchine mean wait of an M/G/1 queue (service mean and E[S²])."""
    _stable(lam, 1.0 / mean_s, 1)
    rho = lam * mean_s
    return lam * second_moment / (2.0 * (1.0 - rho))


@dataclass(frozen=True, slots=True)
class QueueRun:
    """Waits of the customers who arrived in the observation window, and events processed."""

    waits: np.ndarray
    events: int


def simulate_queue(
    lam: float,
    service: Dist,
    c: int,
    horizon: float,
    warmup: float,
    seq: np.random.SeedSequence,
) -> QueueRun:
    """A bare SimPy M/G/c queue: Poisson arrivals, ``c`` servers, FIFO.

    Arrivals and services come from two generators spawned from ``seq`` (one per
    source). This is both the reference the township model is verified against and the
    "bare SimPy loop" of the speed benchmark.

    Args:
        lam: arrival rate.
        service: service-time distribution (``Dist("exp", 1/mu)`` for M/M/c).
        c: servers.
        horizon: arrivals stop at this time; customers arriving before ``warmup`` are
            not recorded.
        warmup: length of the discarded start.
        seq: the replication's SeedSequence.
    """
    rng_arr, rng_srv = (np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(2))
    n = int(rng_arr.poisson(lam * horizon))
    arrivals = np.sort(rng_arr.uniform(0.0, horizon, n)).tolist()
    services = service.sample(rng_srv, n).tolist()
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    waits = np.full(n, np.nan)

    def customer(i: int) -> Generator[simpy.Event, Any, None]:
        t0 = env.now
        with servers.request() as req:
            yield req
            waits[i] = env.now - t0
            yield env.timeout(services[i])

    def source() -> Generator[simpy.Event, Any, None]:
        for i, t in enumerate(arrivals):
            yield env.timeout(t - env.now)
            env.process(customer(i))

    env.process(source())
    events = 0
    step = env.step
    peek = env.peek
    while peek() < math.inf:
        step()
        events += 1
    arr = np.asarray(arrivals)
    return QueueRun(waits=waits[arr >= warmup], events=events)
