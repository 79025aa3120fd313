"""Inputs a planner changes without code: per-village staff, travel variability and the
on-site allowance, a road graph with a closed road, request placement weights."""

from __future__ import annotations

import math

import pytest

from gridsight.core.errors import ConfigError, SimulationError

from .conftest import make_cfg


def test_one_villages_staff_changes_only_there(baseline) -> None:
    base = make_cfg(baseline, {}, days=2.0)
    v = base.township.cameras[0].village
    more = make_cfg(
        baseline, {"staffing.villages": {v: {"workers_per_grid": 4, "cadres": 3}}}, days=2.0
    )

    def count(cfg, village, role):
        return sum(1 for w in cfg.township.workers if w.village == village and w.role == role)

    grids = sum(1 for g in base.township.grids if g.village == v)
    assert count(more, v, "grid_worker") + count(more, v, "micro_grid_worker") == 4 * grids
    assert count(more, v, "cadre") == 3
    for other in {w.village for w in base.township.workers} - {v}:
        for role in ("grid_worker", "micro_grid_worker", "cadre", "volunteer"):
            assert count(more, other, role) == count(base, other, role)
    ids = [w.id for w in more.township.workers]
    assert len(ids) == len(set(ids))


def test_an_unknown_village_is_named_with_the_known_ones(baseline) -> None:
    with pytest.raises(SimulationError, match=r"unknown village 'atlantis'; villages: .*ruijia"):
        make_cfg(baseline, {"staffing.villages": {"atlantis": {"cadres": 1}}}, days=2.0)


def test_travel_variability_and_on_site_allowance_are_parameters(baseline) -> None:
    base = make_cfg(baseline, {}, days=2.0)
    cfg = make_cfg(baseline, {"travel.cv": 0.0, "travel.on_site_s": 300.0}, days=2.0)
    assert cfg.township.travel.cv == 0.0
    assert cfg.township.travel.overhead_s == pytest.approx(base.township.travel.overhead_s + 240)
    with pytest.raises(ConfigError, match="on_site_s"):
        make_cfg(baseline, {"travel.on_site_s": -1}, days=2.0)


ROADS = {
    # A square of roads around (0, 0)-(2, 2) and a diagonal shortcut.
    "nodes": {"a": [0.0, 0.0], "b": [2.0, 0.0], "c": [2.0, 2.0], "d": [0.0, 2.0]},
    "edges": [
        {"id": "ab", "a": "a", "b": "b"},
        {"id": "bc", "a": "b", "b": "c"},
        {"id": "cd", "a": "c", "b": "d"},
        {"id": "da", "a": "d", "b": "a"},
        {"id": "ac", "a": "a", "b": "c", "length_km": 2.9},
    ],
}


def test_trips_follow_the_road_graph_and_closing_a_road_lengthens_them(baseline) -> None:
    open_ = make_cfg(baseline, {"travel.roads": ROADS}, days=2.0).township.travel
    closed = make_cfg(
        baseline, {"travel.roads": ROADS, "travel.closed_roads": ["ac"]}, days=2.0
    ).township.travel
    assert open_.route_km(0, 0, 2, 2) == pytest.approx(2.9)
    assert closed.route_km(0, 0, 2, 2) == pytest.approx(4.0)
    assert closed.trip_s(0, 0, 2, 2, "car") > open_.trip_s(0, 0, 2, 2, "car")
    # Off the graph: straight legs (x detour) to and from the nearest nodes.
    d = open_.detour
    assert open_.route_km(0, -0.5, 2, 2.5) == pytest.approx(0.5 * d + 2.9 + 0.5 * d)


def test_closing_roads_that_cut_the_graph_is_refused_before_any_run(baseline) -> None:
    with pytest.raises(SimulationError, match=r"falls apart; nodes b can no longer"):
        make_cfg(baseline, {"travel.roads": ROADS, "travel.closed_roads": ["ab", "bc"]}, days=2.0)
    with pytest.raises(SimulationError, match="no road 'zz'"):
        make_cfg(baseline, {"travel.roads": ROADS, "travel.closed_roads": ["zz"]}, days=2.0)


def test_request_weights_place_requests_by_population(baseline) -> None:
    from gridsight.governance_sim.arrivals import residents_requests
    from gridsight.governance_sim.streams import named_generators, replication_seeds

    base = make_cfg(baseline, {}, days=20.0)
    g0 = base.township.grids[0].id
    heavy = make_cfg(baseline, {"alerts.request_weights": {g0: 1000.0}}, days=20.0)
    gens = named_generators(replication_seeds(1, 1)[0])
    r = residents_requests(heavy, gens)
    share = float((r.grid == 0).mean())
    assert share > 0.8  # 1000 against ~4 per other grid
    assert not math.isnan(share)
    with pytest.raises(SimulationError, match="unknown grid 'nowhere'"):
        make_cfg(baseline, {"alerts.request_weights": {"nowhere": 1.0}}, days=2.0)
