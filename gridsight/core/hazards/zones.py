"""Zones drawn on a camera image: polygons and directed lines, in pixel coordinates.

Rules ask two questions of zones, for many anchors at once (one per detection):

* :meth:`PolygonZone.contains` — is this anchor inside the polygon? An even-odd
  (crossing-number) test over all points x all edges in numpy, after a bounding-box
  prefilter, so a frame with 50 detections costs a handful of array operations.
* :meth:`LineZone.crossings` — did the anchor cross the line between the previous frame
  and this one, and in which direction (+1 inward, -1 outward, 0 not at all)?

Image coordinates: x grows to the right, y grows *downward*. "Left" and "right" of a
directed line are meant as a person sees them on the image, looking from ``start``
towards ``end``.

Boundary convention (documented choice):
    Points exactly on a polygon edge follow the half-open rule of the crossing test:
    for an axis-aligned rectangle the zone is ``[x0, x1) x [y0, y1)`` — top and left
    edges are inside, bottom and right edges outside. For general polygons the same rule
    holds edge by edge, and because every edge is evaluated from its upper endpoint, two
    zones that share an edge partition it: a point on the shared edge lies in exactly one
    of them. Anchors come from floating-point boxes, so this only matters for synthetic
    data on whole pixels, where it makes results deterministic.

Example:
    >>> import numpy as np
    >>> zone = PolygonZone("lane", [[0, 0], [10, 0], [10, 10], [0, 10]])
    >>> zone.contains(np.array([[5, 5], [15, 5], [0, 0], [10, 10]])).tolist()
    [True, False, True, False]
    >>> door = LineZone("door", (0, 0), (10, 0), inward="right")
    >>> door.crossings(np.array([[5, -2.0]]), np.array([[5, 2.0]])).tolist()
    [1]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from gridsight.core.detection.detections import Detections
from gridsight.core.errors import ConfigError, DataError

Inward = Literal["left", "right"]
BoolArray = npt.NDArray[np.bool_]
Int8Array = npt.NDArray[np.int8]
Float64Array = npt.NDArray[np.float64]

# Largest (points x edges) block evaluated at once. It bounds the temporary arrays of the
# crossing test (a few of them, 8 bytes per element) to tens of MB however many points a
# caller passes; a frame's 50 anchors are always one block.
_BLOCK_ELEMENTS = 1 << 20
# Up to this many (points x edges) pairs, every point is tested directly; above it the
# bounding-box prefilter pays for itself (measured: 50 anchors x 5 edges is faster
# without it, 50 x 64 faster with it).
_DIRECT_MAX = 512


def _points_array(points: Any, what: str) -> Float64Array:
    """``points`` as an ``(n, 2)`` float64 array, or a DataError saying what was wrong."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise DataError(f"{what}: expected points of shape (n, 2), got {arr.shape}")
    return arr


class PolygonZone:
    """A polygon zone: vertices in pixels, implicitly closed (last vertex joins the first).

    Args:
        name: the zone's name (referred to by hazard settings).
        points: ``(k, 2)`` vertices, ``k >= 3``, finite, enclosing a non-zero area. The
            polygon may be concave; a self-intersecting ring is evaluated with the even-odd
            rule (config loading rejects such rings before they get here).

    Raises:
        ConfigError: fewer than 3 vertices, non-finite values, or zero area.
    """

    kind: Literal["polygon"] = "polygon"

    def __init__(self, name: str, points: Sequence[Sequence[float]] | np.ndarray) -> None:
        try:
            pts = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"zone {name!r}: points must be [[x, y], ...] numbers") from exc
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ConfigError(
                f"zone {name!r}: points must be a list of [x, y] pairs, got shape {pts.shape}"
            )
        if pts.shape[0] < 3:
            raise ConfigError(f"zone {name!r}: a polygon needs at least 3 points, got {len(pts)}")
        if not np.all(np.isfinite(pts)):
            raise ConfigError(f"zone {name!r}: points must be finite numbers")
        x, y = pts[:, 0], pts[:, 1]
        area = 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        if abs(area) < 1e-9:
            raise ConfigError(
                f"zone {name!r}: the polygon has zero area (are its points collinear?)"
            )
        self.name = name
        self.points: Float64Array = pts
        self.area = abs(area)
        self.bbox: tuple[float, float, float, float] = (
            float(x.min()),
            float(y.min()),
            float(x.max()),
            float(y.max()),
        )
        # Edges canonicalised so that (_ex, _ey1) is the endpoint with the smaller y. The
        # crossing test is symmetric in the endpoints, but evaluating every edge from the
        # same end makes the x-intercept bit-identical for two zones sharing an edge, which
        # is what gives the partition property of the boundary convention.
        a = pts
        b = np.roll(pts, -1, axis=0)
        swap = b[:, 1] < a[:, 1]
        lo = np.where(swap[:, None], b, a)
        hi = np.where(swap[:, None], a, b)
        dy = hi[:, 1] - lo[:, 1]
        keep = dy > 0  # horizontal edges never straddle a horizontal ray: drop them
        self._ex = lo[keep, 0].copy()
        self._ey1 = lo[keep, 1].copy()
        self._ey2 = hi[keep, 1].copy()
        self._slope = (hi[keep, 0] - lo[keep, 0]) / dy[keep]

    def __repr__(self) -> str:
        return f"PolygonZone({self.name!r}, {len(self.points)} points)"

    def contains(self, points: npt.ArrayLike) -> BoolArray:
        """Which of the given points lie inside the polygon (see the boundary convention).

        Args:
            points: ``(n, 2)`` x, y pixel coordinates (e.g. ``Detections.anchors()``).

        Returns:
            ``(n,)`` bool array.

        Raises:
            DataError: ``points`` is not ``(n, 2)``.
        """
        pts = _points_array(points, f"zone {self.name!r}")
        n, m = pts.shape[0], self._ex.size
        if n == 0 or m == 0:
            return np.zeros(n, dtype=bool)
        if n * m <= _DIRECT_MAX:
            # A frame's few anchors against a small polygon: testing every point costs
            # less than selecting candidates and scattering results back.
            return self._parity(pts[:, 0:1], pts[:, 1:2])
        out = np.zeros(n, dtype=bool)
        x0, y0, x1, y1 = self.bbox
        px, py = pts[:, 0], pts[:, 1]
        # Cheap reject first: most anchors of a frame are far from any one zone.
        candidates = np.flatnonzero((px >= x0) & (px <= x1) & (py >= y0) & (py < y1))
        step = max(1, _BLOCK_ELEMENTS // m)
        for lo in range(0, candidates.size, step):
            idx = candidates[lo : lo + step]
            out[idx] = self._parity(px[idx, None], py[idx, None])
        return out

    def _parity(self, px: Float64Array, py: Float64Array) -> BoolArray:
        """Even-odd test of ``(k, 1)`` point columns against all edges: ``(k,)`` bool."""
        # A horizontal ray from the point to +x crosses edge e when the edge straddles the
        # ray's y (half-open: upper end included, lower end excluded, in image terms) and
        # the edge's x at that y lies strictly right of the point.
        crosses = (
            (self._ey1 <= py) & (py < self._ey2) & (px < self._ex + (py - self._ey1) * self._slope)
        )
        return (np.count_nonzero(crosses, axis=1) & 1).astype(bool)


class LineZone:
    """A directed counting line (a doorway, a gate) from ``start`` to ``end``.

    Args:
        name: the zone's name.
        start: ``(x, y)`` first endpoint in pixels.
        end: ``(x, y)`` second endpoint in pixels (different from ``start``).
        inward: which side of the line, looking from ``start`` to ``end`` on the image, is
            "in". Moving onto that side is an inward crossing (+1).

    Raises:
        ConfigError: equal or non-finite endpoints, or ``inward`` not left/right.
    """

    kind: Literal["line"] = "line"

    def __init__(
        self,
        name: str,
        start: Sequence[float] | np.ndarray,
        end: Sequence[float] | np.ndarray,
        inward: str = "left",
    ) -> None:
        try:
            a = np.asarray(start, dtype=np.float64).reshape(2)
            b = np.asarray(end, dtype=np.float64).reshape(2)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"zone {name!r}: a line needs two points [[x1, y1], [x2, y2]]"
            ) from exc
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise ConfigError(f"zone {name!r}: line endpoints must be finite numbers")
        if np.array_equal(a, b):
            raise ConfigError(f"zone {name!r}: the line's two endpoints are the same point")
        if inward not in ("left", "right"):
            raise ConfigError(f"zone {name!r}: inward must be 'left' or 'right', got {inward!r}")
        self.name = name
        self.start: Float64Array = a
        self.end: Float64Array = b
        self.inward: Inward = "left" if inward == "left" else "right"
        self._d = b - a

    def __repr__(self) -> str:
        return (
            f"LineZone({self.name!r}, {self.start.tolist()} -> {self.end.tolist()}, "
            f"inward={self.inward!r})"
        )

    def _cross(self, pts: Float64Array) -> Float64Array:
        """Signed cross product of the line direction and (point - start); < 0 is screen-left."""
        d = self._d
        out: Float64Array = d[0] * (pts[:, 1] - self.start[1]) - d[1] * (pts[:, 0] - self.start[0])
        return out

    def on_inward_side(self, points: npt.ArrayLike) -> BoolArray:
        """Which points lie strictly on the inward side of the (infinite) line.

        Points exactly on the line count as outside, the same rule ``crossings`` uses.
        """
        c = self._cross(_points_array(points, f"zone {self.name!r}"))
        # In image coordinates (y down) a negative cross product is on the viewer's left.
        return c < 0 if self.inward == "left" else c > 0

    def crossings(self, prev_points: npt.ArrayLike, points: npt.ArrayLike) -> Int8Array:
        """Signed crossings of the line segment by the moves ``prev_points[i] -> points[i]``.

        A move crosses when its endpoints are on different sides of the line and the two
        segments intersect (exact orientation tests in float64, endpoints of the counting
        line included). A point lying exactly on the line counts as being on the outward
        side, so a track that stops on the line and then goes on is counted once.

        Args:
            prev_points: ``(n, 2)`` positions in the previous frame.
            points: ``(n, 2)`` positions now (same order: row i is one track).

        Returns:
            ``(n,)`` int8: +1 crossed inward, -1 crossed outward, 0 no crossing.

        Raises:
            DataError: the arrays are not both ``(n, 2)`` with the same n.
        """
        p = _points_array(prev_points, f"zone {self.name!r} prev_points")
        q = _points_array(points, f"zone {self.name!r} points")
        if p.shape != q.shape:
            raise DataError(
                f"zone {self.name!r}: prev_points and points must have the same shape, "
                f"got {p.shape} and {q.shape}"
            )
        was_in = self.on_inward_side(p)
        now_in = self.on_inward_side(q)
        changed = was_in != now_in
        out = np.zeros(p.shape[0], dtype=np.int8)
        if not changed.any():
            return out
        # The moves change side of the infinite line; keep those whose segment actually
        # meets the counting segment: start and end must not be on the same side of the
        # move's own line (zero = an endpoint lies on it, which counts as meeting).
        idx = np.flatnonzero(changed)
        pp, qq = p[idx], q[idx]
        mx, my = qq[:, 0] - pp[:, 0], qq[:, 1] - pp[:, 1]
        oa = mx * (self.start[1] - pp[:, 1]) - my * (self.start[0] - pp[:, 0])
        ob = mx * (self.end[1] - pp[:, 1]) - my * (self.end[0] - pp[:, 0])
        hits = np.sign(oa) * np.sign(ob) <= 0
        direction = np.where(now_in[idx], 1, -1).astype(np.int8)
        out[idx] = np.where(hits, direction, 0).astype(np.int8)
        return out


Zone: TypeAlias = PolygonZone | LineZone

_ZONE_KEYS = {"name", "kind", "points", "inward"}


def _zone_entry(entry: Any, index: int) -> Mapping[str, Any]:
    """A config entry as a mapping (plain dicts, or pydantic models via ``model_dump``)."""
    if isinstance(entry, Mapping):
        return entry
    dump = getattr(entry, "model_dump", None)
    if callable(dump):
        data = dump()
        if isinstance(data, Mapping):
            return data
    raise ConfigError(f"zones[{index}]: expected a mapping with name/kind/points, got {entry!r}")


def zones_from_config(entries: Iterable[Any]) -> dict[str, Zone]:
    """Build zones from a camera's ``zones:`` list.

    Each entry is ``{name, kind: polygon, points: [[x, y], ...]}`` or
    ``{name, kind: line, points: [[x1, y1], [x2, y2]], inward: left|right}`` (``inward``
    defaults to ``left``; polygons ignore it). Pydantic config models are accepted too.

    Returns:
        ``{name: zone}`` in config order.

    Raises:
        ConfigError: naming the entry (index and name) and the field that is wrong, for a
            missing or unknown key, an unknown kind, a duplicate name or bad geometry.
    """
    zones: dict[str, Zone] = {}
    for index, raw in enumerate(entries):
        entry = _zone_entry(raw, index)
        unknown = sorted(set(entry) - _ZONE_KEYS)
        if unknown:
            raise ConfigError(
                f"zones[{index}]: unknown key(s) {', '.join(unknown)}; "
                f"expected {', '.join(sorted(_ZONE_KEYS))}"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"zones[{index}].name: expected a non-empty string, got {name!r}")
        where = f"zones[{index}] ({name!r})"
        if name in zones:
            raise ConfigError(f"{where}: duplicate zone name; zone names must be unique")
        kind = entry.get("kind", "polygon")
        points = entry.get("points")
        if points is None:
            raise ConfigError(f"{where}.points: missing")
        try:
            if kind == "polygon":
                zones[name] = PolygonZone(name, points)
            elif kind == "line":
                pts = np.asarray(points, dtype=np.float64)
                if pts.shape != (2, 2):
                    raise ConfigError(
                        f"{where}.points: a line needs exactly two points [[x1, y1], [x2, y2]],"
                        f" got shape {pts.shape}"
                    )
                inward = entry.get("inward") or "left"
                zones[name] = LineZone(name, pts[0], pts[1], inward=str(inward))
            else:
                raise ConfigError(f"{where}.kind: expected 'polygon' or 'line', got {kind!r}")
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}.points: expected [[x, y], ...] numbers ({exc})") from exc
        except ConfigError as exc:
            msg = str(exc)
            raise ConfigError(msg if msg.startswith(where) else f"{where}: {msg}") from exc
    return zones


# Key under which the hazard runner stores each detection's anchor point in
# ``Detections.data``: computed once per frame with the camera's configured anchor and
# shared by every rule, so rules agree on "where" an object is.
ANCHOR_DATA_KEY = "anchor"


def anchor_points(detections: Detections, default: str = "bottom_center") -> Float64Array:
    """The ``(n, 2)`` anchors of a frame's detections.

    Uses ``detections.data["anchor"]`` when the runner has filled it in (the camera's
    ``anchor`` setting), else computes the ``default`` anchor.
    """
    stored = detections.data.get(ANCHOR_DATA_KEY)
    if stored is not None:
        return np.asarray(stored, dtype=np.float64).reshape(-1, 2)
    return detections.anchors(default).astype(np.float64)
