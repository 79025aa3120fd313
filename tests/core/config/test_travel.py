"""Travel model: detour factor and road graph."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from gridsight.core.config import RoadGraph, TravelModel


def test_detour_distance_and_time():
    travel = TravelModel(detour_factor=1.5, speeds_kmh={"walk": 5, "ebike": 20, "car": 40})
    assert travel.distance_km([0, 0], [3, 4])[0] == pytest.approx(7.5)
    assert travel.time_between((0, 0), (3, 4), "ebike") == pytest.approx(7.5 / 20 * 60)
    many = travel.time_min([[0, 0], [1, 1]], [[3, 4], [1, 1]], "walk")
    assert many.shape == (2,) and many[1] == 0.0


def test_road_graph_follows_roads():
    graph = RoadGraph(
        nodes={"a": (0, 0), "b": (4, 0), "c": (4, 3)},
        edges=[{"a": "a", "b": "b"}, {"a": "b", "b": "c", "length_km": 3.5}],
    )
    travel = TravelModel(detour_factor=1.2, road_graph=graph)
    # a -> c must go round by b: 4 + 3.5 km, not the 5 km straight line.
    assert travel.distance_km([0, 0], [4, 3])[0] == pytest.approx(7.5)
    # Points near one junction go direct.
    assert travel.distance_km([0, 0.1], [0.1, 0])[0] == pytest.approx(np.hypot(0.1, 0.1) * 1.2)


def test_road_graph_unconnected_is_infinite():
    graph = RoadGraph(nodes={"a": (0, 0), "b": (1, 0), "c": (9, 9)}, edges=[{"a": "a", "b": "b"}])
    assert np.isinf(TravelModel(road_graph=graph).distance_km([0, 0], [9, 9])[0])


def test_road_to_unknown_junction():
    with pytest.raises(ValidationError, match="unknown junction 'x'"):
        RoadGraph(nodes={"a": (0, 0), "b": (1, 0)}, edges=[{"a": "a", "b": "x"}])
