"""Zone geometry checks, compared with shapely as an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.config.geometry import (
    outside_image,
    polygon_problem,
    self_intersections,
    signed_area,
)

shapely = pytest.importorskip("shapely")
from shapely.geometry import LinearRing, Polygon  # noqa: E402

coord = st.integers(min_value=0, max_value=20).map(float)
rings = st.lists(st.tuples(coord, coord), min_size=3, max_size=8)


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        ([[0, 0], [10, 0], [10, 10], [0, 10]], None),
        ([[0, 0], [10, 0], [5, 5], [10, 10], [0, 10]], None),  # concave
        ([[0, 0], [10, 10], [10, 0], [0, 10]], "self-intersecting"),  # bow tie
        ([[0, 0], [10, 0], [10, 10], [5, 0], [0, 10]], "self-intersecting"),  # touches an edge
        ([[0, 0], [10, 0], [5, 0], [5, 5]], "self-intersecting"),  # spike back along an edge
        ([[0, 0], [10, 0], [20, 0]], "zero area"),
        ([[0, 0], [10, 0]], "at least 3 points"),
        ([[0, 0], [0, 0], [10, 0], [10, 10]], "same point"),
    ],
)
def test_polygon_problems(points, problem):
    got = polygon_problem(points)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got


@settings(max_examples=300, deadline=None)
@given(rings)
def test_validity_agrees_with_shapely(points):
    ring_ok = polygon_problem(points) is None
    distinct_consecutive = all(
        points[k] != points[(k + 1) % len(points)] for k in range(len(points))
    )
    reference = (
        distinct_consecutive
        and LinearRing(points).is_simple
        and Polygon(points).area > 0
        and len(set(points)) == len(points)  # a ring through one vertex twice touches itself
    )
    assert ring_ok == reference, (points, polygon_problem(points))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=3, max_value=40),
    st.floats(min_value=1.0, max_value=500.0),
    st.floats(min_value=0.0, max_value=2 * math.pi),
)
def test_regular_polygons_are_valid_and_area_matches(n, radius, phase):
    angles = phase + np.linspace(0, 2 * math.pi, n, endpoint=False)
    pts = np.stack([600 + radius * np.cos(angles), 600 + radius * np.sin(angles)], axis=1)
    assert polygon_problem(pts.tolist()) is None
    assert self_intersections(pts.tolist()) == []
    expected = 0.5 * n * radius**2 * math.sin(2 * math.pi / n)
    assert signed_area(pts.tolist()) == pytest.approx(expected, rel=1e-9)
    assert signed_area(pts[::-1].tolist()) == pytest.approx(-expected, rel=1e-9)


def test_outside_image():
    pts = [[0, 0], [640, 360], [641, 10], [10, -1]]
    assert outside_image(pts, 640, 360) == [(2, (641.0, 10.0)), (3, (10.0, -1.0))]
