"""DispatchPolicy.choose over a WorkerIndex: the same choices as over the plain list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.dispatch import (
    GridOwnerFirst,
    IndexedStates,
    LeastLoaded,
    NearestAvailable,
    PoolTravel,
    WorkerState,
    WorkOrder,
    straight_line_travel_s,
)

from .dispatch_strategies import worker_states

ORDER = WorkOrder("wo-1", "near_water", "v1", "v1-g1", 1.0, 1.0, created=0.0)

workers_st = worker_states(max_size=14)


class OwnCandidates(GridOwnerFirst):
    """A third-party policy written against the old API: its own candidates()."""

    name = "own_candidates"
    seen: ClassVar[list[type]] = []

    def candidates(
        self, order: WorkOrder, workers: Sequence[WorkerState], tier: int
    ) -> list[WorkerState]:
        self.seen.append(type(workers))
        return [w for w in super().candidates(order, workers, tier) if w.role != "police"]


class OwnPick(NearestAvailable):
    """A third-party pick that reads every travel time it is given."""

    name = "own_pick"

    def pick(
        self,
        order: WorkOrder,
        pool: Sequence[WorkerState],
        travel_s: Mapping[str, float],
        now: float,
    ) -> str:
        assert sorted(travel_s) == sorted(w.id for w in pool) and len(travel_s) == len(pool)
        return max(travel_s, key=lambda k: (travel_s[k], k))


@settings(max_examples=200, deadline=None)
@given(
    workers=workers_st,
    tier=st.integers(0, 2),
    tried=st.sets(st.text("abc", min_size=1, max_size=2)),
    given_times=st.booleans(),
)
def test_an_index_gives_the_choices_of_the_list(workers, tier, tried, given_times) -> None:
    order = WorkOrder("o", "ebike", "v1", "v1-g1", 5.0, 5.0, tier=tier, tried=frozenset(tried))
    times = {w.id: 60.0 * (len(w.id) + w.load) for w in workers[::2]} if given_times else None
    for policy in (GridOwnerFirst(), NearestAvailable(), LeastLoaded(), OwnCandidates(), OwnPick()):
        assert policy.choose(order, IndexedStates(workers), 7.0, times) == policy.choose(
            order, workers, 7.0, times
        )


def test_a_policy_with_its_own_candidates_gets_the_states_as_a_sequence() -> None:
    staff = [
        WorkerState("p", "police", "v1", "v1-g1", 1.0, 1.0),
        WorkerState("m", "micro_grid_worker", "v1", "v1-g1", 3.0, 1.0),
    ]
    OwnCandidates.seen.clear()
    assert OwnCandidates().choose(ORDER, IndexedStates(staff), 0.0) == "m"
    assert OwnCandidates.seen and all(issubclass(t, Sequence) for t in OwnCandidates.seen)


def test_the_index_answers_only_its_village_and_available_people() -> None:
    staff = [
        WorkerState("a", "grid_worker", "v1", "v1-g1", 1.0, 1.0),
        WorkerState("b", "micro_grid_worker", "v1", "v1-g1", 1.0, 1.0, busy=True),
        WorkerState("c", "micro_grid_worker", "v2", "v2-g1", 1.0, 1.0),
        WorkerState("d", "micro_grid_worker", "v1", "v1-g2", 1.0, 1.0, on_duty=False),
        WorkerState("e", "micro_grid_worker", "v1", "v1-g2", 1.0, 1.0),
    ]
    index = IndexedStates(staff)
    roles = ("grid_worker", "micro_grid_worker")
    assert [w.id for w in index.available("v1", roles, frozenset())] == ["a", "e"]
    assert [w.id for w in index.available("v1", roles, frozenset("e"))] == ["a"]
    assert [w.id for w in index.available("v2", roles, frozenset())] == ["c"]
    assert list(index.states()) == staff


def test_pool_travel_computes_nothing_until_asked_and_then_what_choose_did() -> None:
    pool = [
        WorkerState("a", "grid_worker", "v1", "v1-g1", 2.0, 1.0, mode="walk"),
        WorkerState("b", "micro_grid_worker", "v1", "v1-g1", 1.0, 3.0),
    ]

    class Counting(dict[str, float]):
        asked = 0

        def __contains__(self, key: object) -> bool:
            Counting.asked += 1
            return super().__contains__(key)

    given = Counting(a=42.0)
    times = PoolTravel(ORDER, pool, given)
    assert Counting.asked == 0
    assert dict(times) == {"a": 42.0, "b": straight_line_travel_s(ORDER, pool[1])}
    assert "a" in times and "z" not in times and len(times) == 2
    assert dict(PoolTravel(ORDER, pool, None)) == {
        w.id: straight_line_travel_s(ORDER, w) for w in pool
    }
    # The grid owner is free: GridOwnerFirst never looks at travel times.
    Counting.asked = 0
    assert GridOwnerFirst().choose(ORDER, IndexedStates(pool), 0.0, given) == "a"
    assert Counting.asked == 0
