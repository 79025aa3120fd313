"""How long it takes a worker to get from one place in the town to another.

Two models, chosen by the config:

* **Detour factor** (default): road distance = straight-line distance x ``detour_factor``;
  time = road distance / speed of the travel mode. Rural road networks typically give
  a factor of 1.2-1.5 over the straight line.
* **Road graph** (optional): named junctions with positions and the roads between them;
  the road distance is the shortest path from the junction nearest the start to the one
  nearest the end, plus the two access legs (straight line x detour factor).

Distances are in kilometres, times in minutes.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field, model_validator

from gridsight.core.config.base import Id, InvariantViolation, PointKm, Problem, StrictModel

TravelMode = Literal["walk", "ebike", "car"]


class Speeds(StrictModel):
    """Average door-to-door speeds per travel mode, km/h (including stops and turns)."""

    walk: float = Field(default=4.5, gt=0, le=10)
    ebike: float = Field(default=18.0, gt=0, le=45)
    car: float = Field(default=35.0, gt=0, le=120)

    def of(self, mode: TravelMode) -> float:
        """Speed of ``mode`` in km/h."""
        speed: float = getattr(self, mode)
        return speed


class RoadEdge(StrictModel):
    """A road between two junctions; its length defaults to the straight line between them."""

    a: Id
    b: Id
    length_km: float | None = Field(default=None, gt=0)


class RoadGraph(StrictModel):
    """Junctions (km positions) and the roads between them, travelled both ways."""

    nodes: dict[Id, PointKm] = Field(min_length=2)
    edges: tuple[RoadEdge, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _edges_known(self) -> RoadGraph:
        problems = [
            Problem(("edges", k, end), f"road ends at unknown junction {node!r}")
            for k, edge in enumerate(self.edges)
            for end, node in (("a", edge.a), ("b", edge.b))
            if node not in self.nodes
        ]
        if problems:
            raise InvariantViolation(problems)
        return self

    @cached_property
    def _ids(self) -> list[str]:
        return list(self.nodes)

    @cached_property
    def _xy(self) -> NDArray[np.float64]:
        return np.asarray([self.nodes[n] for n in self._ids], dtype=np.float64)

    @cached_property
    def shortest(self) -> NDArray[np.float64]:
        """All-pairs shortest road distances between junctions (inf where unconnected)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import shortest_path

        index = {n: k for k, n in enumerate(self._ids)}
        rows, cols, weights = [], [], []
        for edge in self.edges:
            i, j = index[edge.a], index[edge.b]
            length = edge.length_km
            if length is None:
                length = float(np.hypot(*(self._xy[i] - self._xy[j])))
            rows.append(i)
            cols.append(j)
            weights.append(max(length, 1e-9))
        n = len(self._ids)
        graph = csr_matrix((weights, (rows, cols)), shape=(n, n))
        dist: NDArray[np.float64] = shortest_path(graph, method="D", directed=False)
        return dist

    def nearest(self, points: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Index of the nearest junction of each ``(n, 2)`` point and the distance to it."""
        d = np.linalg.norm(points[:, None, :] - self._xy[None, :, :], axis=2)
        idx = np.argmin(d, axis=1)
        return idx, d[np.arange(len(points)), idx]


class TravelModel(StrictModel):
    """Travel times between positions in the town (see the module docstring)."""

    detour_factor: float = Field(
        default=1.35, ge=1.0, le=3.0, description="road distance / straight-line distance"
    )
    speeds_kmh: Speeds = Field(default_factory=Speeds)
    default_mode: TravelMode = "ebike"
    setup_min: float = Field(
        default=0.0, ge=0, description="minutes to set off (fetch the vehicle, lock up)"
    )
    road_graph: RoadGraph | None = None

    def distance_km(self, origins: ArrayLike, dests: ArrayLike) -> NDArray[np.float64]:
        """Road distance in km between ``(n, 2)`` origins and destinations (or single points).

        With a road graph, the distance is access leg + network path + access leg, where
        the legs use the detour factor; points in unconnected parts of the graph give inf.
        """
        o = np.asarray(origins, dtype=np.float64).reshape(-1, 2)
        d = np.asarray(dests, dtype=np.float64).reshape(-1, 2)
        if self.road_graph is None:
            out: NDArray[np.float64] = np.linalg.norm(o - d, axis=1) * self.detour_factor
            return out
        oi, leg_o = self.road_graph.nearest(o)
        di, leg_d = self.road_graph.nearest(d)
        network = self.road_graph.shortest[oi, di]
        via_roads = network + (leg_o + leg_d) * self.detour_factor
        # Two points served by the same junction need not go out to it and back.
        direct = np.linalg.norm(o - d, axis=1) * self.detour_factor
        out = np.where(oi == di, direct, via_roads)
        return out

    def time_min(
        self, origins: ArrayLike, dests: ArrayLike, mode: TravelMode | None = None
    ) -> NDArray[np.float64]:
        """Travel time in minutes from each origin to its destination by ``mode``."""
        speed = self.speeds_kmh.of(mode or self.default_mode)
        out: NDArray[np.float64] = self.setup_min + self.distance_km(origins, dests) / speed * 60.0
        return out

    def time_between(self, a: PointKm, b: PointKm, mode: TravelMode | None = None) -> float:
        """Travel time in minutes between two points."""
        return float(self.time_min([a], [b], mode)[0])
