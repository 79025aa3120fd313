"""Dispatch policies: pure functions of (order, worker states, travel times, now)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.dispatch import (
    GridOwnerFirst,
    LeastLoaded,
    NearestAvailable,
    WorkerState,
    WorkOrder,
    escalate,
)
from gridsight.core.plugins import build_plugin_manager, dispatch_policies

from ..core.dispatch_strategies import worker_states

ORDER = WorkOrder("wo-1", "near_water", "v1", "v1-g1", 1.0, 1.0, created=0.0)


def w(
    id_: str, role: str = "micro_grid_worker", grid: str = "v1-g1", x: float = 1.0, **kw
) -> WorkerState:
    return WorkerState(id_, role, kw.pop("village", "v1"), grid, x, 1.0, **kw)


def test_grid_owner_is_chosen_even_when_someone_is_nearer() -> None:
    staff = [w("owner", "grid_worker", x=3.0), w("near", x=1.1)]
    assert GridOwnerFirst().choose(ORDER, staff, now=0.0) == "owner"
    assert NearestAvailable().choose(ORDER, staff, now=0.0) == "near"


def test_busy_owner_falls_back_to_nearest_by_given_travel_times() -> None:
    staff = [w("owner", "grid_worker", busy=True), w("a", x=1.1), w("b", x=5.0)]
    # Travel times from the caller override straight-line distance (a river in between).
    assert GridOwnerFirst().choose(ORDER, staff, 0.0, {"a": 900.0, "b": 300.0}) == "b"
    assert GridOwnerFirst().choose(ORDER, staff, 0.0) == "a"


def test_ties_on_travel_time_go_to_the_least_loaded() -> None:
    staff = [w("a", load=3), w("b", load=1), w("c", load=2)]
    times = {"a": 100.0, "b": 100.2, "c": 100.0}
    assert NearestAvailable().choose(ORDER, staff, 0.0, times) == "b"
    assert LeastLoaded().choose(ORDER, [w("a", load=3), w("b", load=0, x=9.0)], 0.0) == "b"


def test_only_the_orders_village_and_on_duty_people_are_candidates() -> None:
    staff = [w("other", village="v2"), w("off", on_duty=False), w("cadre", "cadre", grid="")]
    assert GridOwnerFirst().choose(ORDER, staff, 0.0) == "cadre"
    assert GridOwnerFirst().choose(ORDER, staff[:2], 0.0) is None


def test_escalation_moves_to_cadre_then_volunteers_and_remembers_who_was_tried() -> None:
    staff = [w("owner", "grid_worker"), w("cad", "cadre", grid=""), w("vol", "volunteer", grid="")]
    p = GridOwnerFirst()
    o = ORDER
    assert p.choose(o, staff, 0.0) == "owner"
    o = escalate(o, "owner")
    assert (o.tier, p.choose(o, staff, 0.0)) == (1, "cad")
    o = escalate(o, "cad")
    assert (o.tier, p.choose(o, staff, 0.0)) == (2, "vol")
    o = escalate(o, "vol")
    assert o.tier == 2 and o.tried == {"owner", "cad", "vol"}
    assert p.choose(o, staff, 0.0) is None


def test_escalated_order_falls_back_to_lower_tiers_when_higher_ones_are_empty() -> None:
    # No volunteers in the village: an order escalated to tier 2 must still reach grid staff.
    o = escalate(escalate(ORDER, "x"), "y")
    assert GridOwnerFirst().choose(o, [w("m1")], 0.0) == "m1"


def test_builtin_policies_are_registered_through_the_plugin_hook() -> None:
    found = dispatch_policies(build_plugin_manager())
    assert {"grid_owner_first", "nearest_available", "least_loaded"} <= set(found)


workers_st = worker_states(max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    workers=workers_st,
    tier=st.integers(0, 2),
    tried=st.sets(st.text("abc", min_size=1, max_size=2)),
)
def test_any_choice_is_an_available_untried_worker_of_the_village(workers, tier, tried) -> None:
    order = WorkOrder("o", "ebike", "v1", "v1-g1", 5.0, 5.0, tier=tier, tried=frozenset(tried))
    eligible = [
        x
        for x in workers
        if x.village == "v1"
        and x.available
        and x.id not in tried
        and x.role in ("grid_worker", "micro_grid_worker", "cadre", "volunteer")
    ]
    for policy in (GridOwnerFirst(), NearestAvailable(), LeastLoaded()):
        chosen = policy.choose(order, workers, 0.0)
        if not eligible:
            assert chosen is None
        else:
            assert chosen in {x.id for x in eligible}
