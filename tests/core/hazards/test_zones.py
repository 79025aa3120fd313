"""Tests of polygon and line zones, checked against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.path import Path

from gridsight.core.detection.detections import Detections
from gridsight.core.errors import ConfigError, DataError
from gridsight.core.hazards.zones import (
    ANCHOR_DATA_KEY,
    LineZone,
    PolygonZone,
    anchor_points,
    zones_from_config,
)

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]
# A "U" shape: concave, the notch x in (4, 6), y in [0, 6) is outside.
U_SHAPE = [[0, 0], [4, 0], [4, 6], [6, 6], [6, 0], [10, 0], [10, 10], [0, 10]]


def _segment_distance(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance of each point to the nearest polygon edge (brute force, for filtering)."""
    a = poly
    b = np.roll(poly, -1, axis=0)
    ab = b - a
    ap = points[:, None, :] - a[None, :, :]
    t = np.clip((ap * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(points[:, None, :] - closest, axis=-1).min(axis=1)


@st.composite
def star_polygons(draw: st.DrawFn) -> np.ndarray:
    """Random simple polygons, usually concave: sorted angles, random radii around a centre."""
    k = draw(st.integers(3, 24))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    angles += np.linspace(0, 1e-3, k)  # keep angles distinct
    radii = rng.uniform(5, 200, k)
    cx, cy = rng.uniform(100, 500, 2)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)


# ---------------------------------------------------------------------------- polygons
def test_square_inside_outside_and_half_open_boundary() -> None:
    zone = PolygonZone("sq", SQUARE)
    pts = np.array(
        [[5, 5], [-1, 5], [11, 5], [5, -1], [5, 11], [0, 5], [10, 5], [5, 0], [5, 10]],
        dtype=float,
    )
    # Left and top edges are inside, right and bottom edges outside (half-open rule).
    expected = [True, False, False, False, False, True, False, True, False]
    assert zone.contains(pts).tolist() == expected


def test_corners_follow_the_half_open_rule() -> None:
    zone = PolygonZone("sq", SQUARE)
    corners = np.array(SQUARE, dtype=float)
    assert zone.contains(corners).tolist() == [True, False, False, False]


def test_concave_notch_is_outside() -> None:
    zone = PolygonZone("u", U_SHAPE)
    pts = np.array([[5, 3], [5, 8], [2, 3], [8, 3], [5, 5.99], [5, 6.01]])
    assert zone.contains(pts).tolist() == [False, True, True, True, False, True]


def test_orientation_does_not_matter() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(-2, 12, (500, 2))
    cw = PolygonZone("cw", U_SHAPE)
    ccw = PolygonZone("ccw", U_SHAPE[::-1])
    np.testing.assert_array_equal(cw.contains(pts), ccw.contains(pts))


@settings(max_examples=150, deadline=None)
@given(poly=star_polygons(), seed=st.integers(0, 2**32 - 1))
def test_contains_agrees_with_matplotlib_and_shapely(poly: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x0, y0 = poly.min(axis=0) - 20
    x1, y1 = poly.max(axis=0) + 20
    pts = np.column_stack([rng.uniform(x0, x1, 400), rng.uniform(y0, y1, 400)])
    # Boundary points are a convention, not a fact: leave out the ones within 1e-6.
    pts = pts[_segment_distance(pts, poly) > 1e-6]
    ours = PolygonZone("p", poly).contains(pts)
    mpl = Path(poly, closed=False).contains_points(pts)
    shp = shapely.contains_xy(shapely.Polygon(poly), pts[:, 0], pts[:, 1])
    np.testing.assert_array_equal(ours, mpl)
    np.testing.assert_array_equal(ours, shp)


@settings(max_examples=100, deadline=None)
@given(
    # Away from the end vertices: within rounding of a vertex two edges of the same
    # polygon meet, and which side a point falls is decided by rounding, not the rule.
    t=st.lists(st.floats(1e-6, 1 - 1e-6), min_size=1, max_size=50),
    ax=st.floats(0, 50),
    bx=st.floats(60, 120),
    by=st.floats(40, 100),
)
def test_zones_sharing_an_edge_partition_it(
    t: list[float], ax: float, bx: float, by: float
) -> None:
    a, b = np.array([ax, 0.0]), np.array([bx, by])
    # Two triangles on either side of the slanted edge a-b, listed in opposite senses.
    left = PolygonZone("left", [a, b, [-100.0, by]])
    right = PolygonZone("right", [b, a, [300.0, 0.0]])
    tt = np.asarray(t)[:, None]
    on_edge = a + tt * (b - a)
    inner = (on_edge[:, 1] > 0) & (on_edge[:, 1] < by)  # the end vertices are special
    pts = on_edge[inner]
    in_left, in_right = left.contains(pts), right.contains(pts)
    assert np.all(in_left ^ in_right)


def test_many_points_are_processed_in_blocks() -> None:
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    radii = np.where(np.arange(64) % 2 == 0, 100.0, 40.0)  # a 32-point star
    poly = np.stack([200 + radii * np.cos(angles), 200 + radii * np.sin(angles)], axis=1)
    rng = np.random.default_rng(1)
    pts = rng.uniform(90, 310, (60_000, 2))  # 60k x 64 edges: several blocks
    np.testing.assert_array_equal(
        PolygonZone("star", poly).contains(pts), Path(poly).contains_points(pts)
    )


def test_empty_and_far_points() -> None:
    zone = PolygonZone("sq", SQUARE)
    assert zone.contains(np.zeros((0, 2))).shape == (0,)
    assert zone.contains([]).shape == (0,)
    assert not zone.contains(np.array([[1e6, 1e6]])).any()


def test_contains_rejects_bad_shapes() -> None:
    zone = PolygonZone("sq", SQUARE)
    with pytest.raises(DataError, match=r"expected points of shape \(n, 2\), got \(3,\)"):
        zone.contains(np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([[0, 0], [1, 1]], "at least 3 points"),
        ([[0, 0], [1, 1], [2, 2]], "zero area"),
        ([[0, 0], [1, np.nan], [2, 0]], "finite"),
        ([[0, 0, 1], [1, 1, 1], [2, 0, 1]], "pairs"),
        ([[0, 0], [1], [2, 0]], "numbers"),
    ],
)
def test_polygon_validation(points: list, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PolygonZone("bad", points)


def test_polygon_properties() -> None:
    zone = PolygonZone("sq", SQUARE)
    assert zone.area == pytest.approx(100.0)
    assert zone.bbox == (0.0, 0.0, 10.0, 10.0)
    assert "sq" in repr(zone)


# ---------------------------------------------------------------------------- lines
def test_line_direction_in_image_coordinates() -> None:
    # A line drawn left to right on the image: with y pointing down, its "left" side as
    # seen on the screen is above it (smaller y).
    line = LineZone("door", (0, 100), (100, 100), inward="left")
    above, below = np.array([[50.0, 90.0]]), np.array([[50.0, 110.0]])
    assert line.crossings(below, above).tolist() == [1]
    assert line.crossings(above, below).tolist() == [-1]
    right = LineZone("door", (0, 100), (100, 100), inward="right")
    assert right.crossings(below, above).tolist() == [-1]
    assert right.on_inward_side(below).tolist() == [True]


def test_line_misses_and_extent() -> None:
    line = LineZone("door", (0, 0), (10, 0), inward="right")
    prev = np.array([[5, -1], [20, -1], [5, -1], [5, 1], [-5, -5], [0, -1]], dtype=float)
    cur = np.array([[5, 1], [20, 1], [5, -0.5], [6, 2], [5, 5], [0, 1]], dtype=float)
    # crossing / beyond the segment's end / same side / same side / crossing through
    # the middle diagonally / through the endpoint (counts)
    assert line.crossings(prev, cur).tolist() == [1, 0, 0, 0, 1, 1]


def test_stopping_on_the_line_counts_once() -> None:
    line = LineZone("door", (0, 0), (10, 0), inward="right")
    path = np.array([[5, -2], [5, 0], [5, 0], [5, 2], [5, 0], [5, -2]], dtype=float)
    steps = line.crossings(path[:-1], path[1:]).tolist()
    assert steps.count(1) == 1
    assert steps.count(-1) == 1
    assert sum(steps) == 0


def test_line_validation_and_shapes() -> None:
    with pytest.raises(ConfigError, match="same point"):
        LineZone("l", (1, 1), (1, 1))
    with pytest.raises(ConfigError, match="inward"):
        LineZone("l", (0, 0), (1, 1), inward="up")
    with pytest.raises(ConfigError, match="finite"):
        LineZone("l", (0, np.inf), (1, 1))
    line = LineZone("l", (0, 0), (1, 1))
    with pytest.raises(DataError, match="same shape"):
        line.crossings(np.zeros((2, 2)), np.zeros((3, 2)))
    assert line.crossings(np.zeros((0, 2)), np.zeros((0, 2))).dtype == np.int8


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_crossings_agree_with_shapely_intersections(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 100, (2, 2))
    prev = rng.uniform(-20, 120, (300, 2))
    cur = prev + rng.normal(0, 30, (300, 2))
    line = LineZone("l", a, b, inward="left")
    seg = shapely.LineString([a, b])
    moves = shapely.linestrings(np.stack([prev, cur], axis=1))
    # Drop degenerate configurations (an endpoint within 1e-6 of the other segment).
    ends = shapely.points(np.concatenate([prev, cur]))
    near = shapely.distance(ends, seg).reshape(2, -1).min(axis=0) < 1e-6
    near |= shapely.distance(shapely.points([a, b])[:, None], moves[None, :]).min(axis=0) < 1e-6
    got = line.crossings(prev, cur)[~near]
    expected_hit = shapely.intersects(moves, seg)[~near]
    np.testing.assert_array_equal(got != 0, expected_hit)
    # Direction: +1 exactly when the move ends on the screen-left of a -> b.
    d = b - a
    end_left = (d[0] * (cur[:, 1] - a[1]) - d[1] * (cur[:, 0] - a[0]) < 0)[~near]
    np.testing.assert_array_equal(got[got != 0] == 1, end_left[got != 0])
    # Reversing every move flips every sign; swapping the inward side too.
    np.testing.assert_array_equal(line.crossings(cur, prev)[~near], -got)
    flipped = LineZone("l", a, b, inward="right")
    np.testing.assert_array_equal(flipped.crossings(prev, cur)[~near], -got)


# ---------------------------------------------------------------------------- config
def test_zones_from_config() -> None:
    zones = zones_from_config(
        [
            {"name": "water_edge", "kind": "polygon", "points": SQUARE},
            {"name": "door", "kind": "line", "points": [[0, 0], [10, 0]], "inward": "right"},
            {"name": "plain", "points": SQUARE},  # kind defaults to polygon
        ]
    )
    assert list(zones) == ["water_edge", "door", "plain"]
    assert isinstance(zones["water_edge"], PolygonZone)
    door = zones["door"]
    assert isinstance(door, LineZone)
    assert door.inward == "right"


def test_zones_from_config_accepts_models() -> None:
    class FakeModel:
        def model_dump(self) -> dict:
            return {"name": "lane", "kind": "polygon", "points": SQUARE, "inward": None}

    assert isinstance(zones_from_config([FakeModel()])["lane"], PolygonZone)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "a", "points": SQUARE}, {"name": "a", "points": SQUARE}], r"zones\[1\].*dup"),
        ([{"name": "a", "kind": "circle", "points": SQUARE}], r"zones\[0\] \('a'\)\.kind"),
        ([{"name": "a", "kind": "polygon"}], r"zones\[0\] \('a'\)\.points: missing"),
        ([{"name": "a", "points": SQUARE, "colour": "red"}], "unknown key.*colour"),
        ([{"kind": "polygon", "points": SQUARE}], r"zones\[0\]\.name"),
        ([{"name": "l", "kind": "line", "points": SQUARE}], "exactly two points"),
        ([{"name": "l", "kind": "line", "points": [[0, 0], [1, 1]], "inward": "up"}], "inward"),
        ([{"name": "p", "points": [[0, 0], [1, 1]]}], r"zones\[0\] \('p'\): .*at least 3"),
        ([{"name": "p", "points": "nonsense"}], r"zones\[0\] \('p'\)"),
        (["not a mapping"], r"zones\[0\]: expected a mapping"),
    ],
)
def test_zones_from_config_errors(entries: list, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        zones_from_config(entries)


def test_anchor_points_prefers_runner_anchors() -> None:
    det = Detections(
        xyxy=np.array([[0, 0, 10, 20]]), confidence=np.array([0.9]), class_id=np.array([0])
    )
    assert anchor_points(det).tolist() == [[5.0, 20.0]]
    centred = det.with_data(**{ANCHOR_DATA_KEY: det.anchors("center")})
    assert anchor_points(centred).tolist() == [[5.0, 10.0]]
