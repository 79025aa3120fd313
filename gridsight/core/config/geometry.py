"""Plane geometry checks for zones drawn in a config: area, simplicity, bounds.

These run once when a config is loaded (not on the hot path), but a camera can carry a
zone with a few hundred vertices, so the self-intersection test compares all edge pairs
at once with numpy rather than in a double Python loop.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

# Tolerance for "zero" areas and collinearity, in square pixels. Zones are drawn in whole
# or half pixels, so anything below this is a degenerate drawing, not a tiny zone.
_EPS = 1e-9


def as_points(points: ArrayLike) -> FloatArray:
    """``(n, 2)`` float64 array of the given points."""
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def signed_area(points: ArrayLike) -> float:
    """Signed area of a closed polygon (shoelace formula); positive when counter-clockwise
    in a y-up frame (so clockwise on screen, where y grows downwards)."""
    p = as_points(points)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _orient(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """Sign of the turn a -> b -> c for broadcast arrays of points: +1, -1 or 0."""
    cross = (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (
        c[..., 0] - a[..., 0]
    )
    out: FloatArray = np.where(np.abs(cross) <= _EPS, 0.0, np.sign(cross))
    return out


def _on_segment(a: FloatArray, b: FloatArray, p: FloatArray) -> NDArray[np.bool_]:
    """For collinear a, b, p: whether p lies within the bounding box of segment a-b."""
    lo = np.minimum(a, b) - _EPS
    hi = np.maximum(a, b) + _EPS
    inside: NDArray[np.bool_] = np.all((p >= lo) & (p <= hi), axis=-1)
    return inside


def self_intersections(points: ArrayLike) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of polygon edges that touch or cross although they are not neighbours.

    Edge ``i`` runs from vertex ``i`` to vertex ``i + 1`` (the last one closes the ring).
    Neighbouring edges share a vertex and are only reported if they fold back onto each
    other (collinear overlap). A simple polygon gives an empty list.
    """
    p = as_points(points)
    n = len(p)
    if n < 3:
        return []
    a = p
    b = np.roll(p, -1, axis=0)
    i, j = np.triu_indices(n, k=1)
    a1, b1, a2, b2 = a[i], b[i], a[j], b[j]
    o1 = _orient(a1, b1, a2)
    o2 = _orient(a1, b1, b2)
    o3 = _orient(a2, b2, a1)
    o4 = _orient(a2, b2, b1)
    proper = (o1 * o2 < 0) & (o3 * o4 < 0)
    touch = (
        ((o1 == 0) & _on_segment(a1, b1, a2))
        | ((o2 == 0) & _on_segment(a1, b1, b2))
        | ((o3 == 0) & _on_segment(a2, b2, a1))
        | ((o4 == 0) & _on_segment(a2, b2, b1))
    )
    adjacent = (j == i + 1) | ((i == 0) & (j == n - 1))
    # Neighbouring edges always touch at their shared vertex; they are a problem only
    # when they are collinear and run back over each other (a spike).
    d1 = b1 - a1
    d2 = b2 - a2
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    dot = d1[:, 0] * d2[:, 0] + d1[:, 1] * d2[:, 1]
    spike = (np.abs(cross) <= _EPS) & (dot < 0)
    shared_ok = adjacent & ~spike
    bad = (proper | touch) & ~shared_ok
    return [(int(x), int(y)) for x, y in zip(i[bad], j[bad], strict=True)]


def polygon_problem(points: ArrayLike) -> str | None:
    """Why these points are not a valid simple polygon, or None if they are.

    A valid zone polygon has at least 3 vertices, no repeated consecutive vertex, a
    non-zero area, and no edges that cross or touch (other than neighbours at their
    shared vertex).
    """
    p = as_points(points)
    if len(p) < 3:
        return f"a polygon needs at least 3 points, got {len(p)}"
    if not np.all(np.isfinite(p)):
        return "polygon points must be finite numbers"
    step = np.linalg.norm(p - np.roll(p, -1, axis=0), axis=1)
    repeated = np.flatnonzero(step <= _EPS)
    if repeated.size:
        k = int(repeated[0])
        return f"points {k} and {(k + 1) % len(p)} are the same point; remove the duplicate"
    centred = p - p.mean(axis=0)
    if np.linalg.matrix_rank(centred, tol=1e-9 * max(1.0, float(np.abs(p).max()))) < 2:
        return "the polygon has zero area (all points lie on one line)"
    crossings = self_intersections(p)
    if crossings:
        e1, e2 = crossings[0]
        return (
            f"the polygon is self-intersecting: edge {e1} (point {e1} -> {(e1 + 1) % len(p)}) "
            f"crosses edge {e2} (point {e2} -> {(e2 + 1) % len(p)}); "
            "list the points in order around the zone"
        )
    if abs(signed_area(p)) <= _EPS:
        return "the polygon has zero area"
    return None


def outside_image(
    points: ArrayLike, width: int, height: int
) -> list[tuple[int, tuple[float, float]]]:
    """``(index, point)`` of the points outside the image ``[0, width] x [0, height]``."""
    p = as_points(points)
    bad = (p[:, 0] < 0) | (p[:, 0] > width) | (p[:, 1] < 0) | (p[:, 1] > height)
    return [(int(k), (float(p[k, 0]), float(p[k, 1]))) for k in np.flatnonzero(bad)]
