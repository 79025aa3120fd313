"""The simulator's dispatch index: third-party policies see what they saw before.

The model hands ``DispatchPolicy.choose`` a ``workers.VillageIndex`` of the order's
village. A policy that overrides ``candidates`` (old API: a sequence of states) or reads
every travel time in ``pick`` must make exactly the decisions the built-in one makes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from gridsight.core.dispatch import (
    DispatchPolicy,
    GridOwnerFirst,
    LeastLoaded,
    NearestAvailable,
    WorkerState,
    WorkOrder,
)
from gridsight.governance_sim.arrivals import false_alarms, merge_alarms, residents_requests
from gridsight.governance_sim.model import TownModel
from gridsight.governance_sim.params import SimConfig
from gridsight.governance_sim.replication import build_occurrences
from gridsight.governance_sim.streams import named_generators, replication_seeds

from .conftest import make_cfg

Decision = tuple[str, float, int, frozenset[str], str | None]


def recording(base: type[DispatchPolicy], **overrides: Any) -> tuple[type[DispatchPolicy], list]:
    """A subclass of ``base`` (with ``overrides`` as methods) recording every decision."""
    calls: list[Decision] = []

    def choose(self, order, workers, now, travel_s=None):
        got = base.choose(self, order, workers, now, travel_s)
        calls.append((order.id, now, order.tier, order.tried, got))
        return got

    return type(f"Recording{base.__name__}", (base,), {"choose": choose, **overrides}), calls


def old_candidates(self, order: WorkOrder, workers: Sequence[WorkerState], tier: int):
    # Written against the old API: a plain sequence of every worker's state.
    assert isinstance(workers, Sequence)
    return [w for w in workers if w.role in self.tiers[tier] and w.village == order.village
            and w.available and w.id not in order.tried]  # fmt: skip


def reads_all_travel(base: type[DispatchPolicy]):
    def pick(self, order, pool, travel_s: Mapping[str, float], now):
        assert set(travel_s) == {w.id for w in pool}
        assert all(travel_s[w.id] >= 0.0 for w in pool)
        return base.pick(self, order, pool, dict(travel_s), now)

    return pick


def run(cfg: SimConfig, policy: DispatchPolicy, seed: int) -> list[np.ndarray]:
    gens = named_generators(replication_seeds(seed, 1)[0])
    occ = build_occurrences(cfg, gens)
    alarms = merge_alarms(occ, false_alarms(cfg, gens), cfg.horizon.end_s)
    req = residents_requests(cfg, gens)
    m = TownModel(cfg, gens, policy, occ, alarms, req)
    m.run()
    return [m.a_dispatch, m.a_arrive, m.a_closed, m.a_escalations, m.r_closed]


@pytest.mark.parametrize("base", [GridOwnerFirst, NearestAvailable, LeastLoaded])
def test_overriding_candidates_or_pick_changes_no_decision(baseline, base) -> None:
    # Overload: empty tiers, escalation to volunteers, retries with ``tried`` cleared.
    cfg = make_cfg(
        baseline,
        {"alerts.rate_scale": 3.0, "staffing.workers_per_grid": 1, "dispatch.p_no_ack": 0.3},
        days=2.0,
    )
    builtin, calls = recording(base)
    own_candidates, calls_c = recording(base, candidates=old_candidates)
    own_pick, calls_p = recording(base, pick=reads_all_travel(base))
    ref = run(cfg, builtin(), 3)
    for cls in (own_candidates, own_pick):
        got = run(cfg, cls(), 3)
        for a, b in zip(ref, got, strict=True):
            np.testing.assert_array_equal(a, b)
    assert len(calls) > 100 and calls == calls_c == calls_p
    assert any(c[2] == 2 for c in calls) and any(c[4] is None for c in calls)


def test_the_village_index_gives_the_candidates_of_its_states(baseline) -> None:
    # At every decision of a run: each tier's pool (read in any way) is what the default
    # candidates() keeps from every worker's state at that instant.
    checked: list[int] = []

    class Checking(GridOwnerFirst):
        def choose(self, order, workers, now, travel_s=None):
            for tier, roles in enumerate(self.tiers):
                pool = workers.available(order.village, roles, order.tried)
                if len(checked) % 2:  # read it back to front, by index and by slice
                    got = [pool[i] for i in range(-1, -len(pool) - 1, -1)][::-1]
                    assert got == list(pool[0 : len(pool)])
                else:
                    got = list(pool)
                assert got == self.candidates(order, list(workers.states()), tier)
                assert all(travel_s[w.id] >= 0.0 for w in got)
            checked.append(1)
            return super().choose(order, workers, now, travel_s)

    run(make_cfg(baseline, {"dispatch.p_no_ack": 0.3}, days=2.0), Checking(), 5)
    assert len(checked) > 50
