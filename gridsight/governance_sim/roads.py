"""Travel over a road graph: networkx shortest paths, with roads that can be closed.

A scenario may give the township's roads (``travel.roads``: nodes with positions in
km, edges between them with an optional length) and close some of them
(``travel.closed_roads``, the "close this road" what-if). A trip then goes straight
(times the detour factor) from its start to the nearest node, along the shortest open
path, and straight from the node nearest its end. Shortest path lengths between all
nodes are computed once per scenario (Dijkstra, networkx) and kept as a matrix, so a
trip costs two nearest-node look-ups and one matrix read.

Without roads the travel model is the straight line times the detour factor, as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridsight.core.errors import SimulationError


@dataclass(frozen=True, slots=True, eq=False)
class RoadNetwork:
    """All-pairs shortest path lengths of an open road graph.

    Attributes:
        ids: node ids.
        x_km: node east coordinates.
        y_km: node north coordinates.
        dist_km: ``(n, n)`` shortest path lengths over open roads.
        closed: ids of the closed roads.
    """

    ids: tuple[str, ...]
    x_km: np.ndarray
    y_km: np.ndarray
    dist_km: np.ndarray
    closed: tuple[str, ...] = ()

    def nearest(self, x: float, y: float) -> tuple[int, float]:
        """Index of the node nearest ``(x, y)`` and the straight distance to it."""
        d = np.hypot(self.x_km - x, self.y_km - y)
        i = int(np.argmin(d))
        return i, float(d[i])

    def route_km(self, x0: float, y0: float, x1: float, y1: float, detour: float) -> float:
        """Length of a trip: straight legs (x ``detour``) to and from the road graph,
        the shortest open path between, or the straight line where that is shorter."""
        direct = math.hypot(x1 - x0, y1 - y0) * detour
        a, da = self.nearest(x0, y0)
        b, db = self.nearest(x1, y1)
        via = (da + db) * detour + float(self.dist_km[a, b])
        return min(direct, via) if a == b else via

    def __repr__(self) -> str:  # the config digest hashes repr: keep it exact and short
        dist = self.dist_km.round(9).tolist()
        return f"RoadNetwork(ids={self.ids!r}, closed={self.closed!r}, dist={dist!r})"


def build_network(spec: Any, closed: list[str], where: str = "travel.roads") -> RoadNetwork:
    """The network of a ``travel.roads`` spec with the ``closed`` roads removed.

    Raises:
        SimulationError: an edge names an unknown node, a closed road does not exist, or
            closing roads disconnects the graph (naming the nodes cut off).
    """
    import networkx as nx

    g = nx.Graph()
    for nid, (x, y) in spec.nodes.items():
        g.add_node(nid, x=float(x), y=float(y))
    edge_ids = set()
    for i, e in enumerate(spec.edges):
        for end in (e.a, e.b):
            if end not in spec.nodes:
                raise SimulationError(
                    f"{where}.edges[{i}] ({e.id}): unknown node {end!r}; nodes: "
                    f"{', '.join(sorted(spec.nodes))}"
                )
        edge_ids.add(e.id)
        if e.id in closed:
            continue
        (xa, ya), (xb, yb) = spec.nodes[e.a], spec.nodes[e.b]
        length = e.length_km if e.length_km is not None else math.hypot(xb - xa, yb - ya)
        g.add_edge(e.a, e.b, length=float(length), id=e.id)
    for c in closed:
        if c not in edge_ids:
            raise SimulationError(
                f"travel.closed_roads: no road {c!r}; roads: {', '.join(sorted(edge_ids))}"
            )
    if g.number_of_nodes() and not nx.is_connected(g):
        parts = sorted(nx.connected_components(g), key=len)
        cut = ", ".join(sorted(parts[0]))
        raise SimulationError(
            f"travel.closed_roads {closed}: the road graph falls apart; nodes {cut} can no "
            "longer be reached (open another road or close fewer)"
        )
    ids = tuple(spec.nodes)
    index = {n: i for i, n in enumerate(ids)}
    dist = np.zeros((len(ids), len(ids)))
    for src, lengths in nx.all_pairs_dijkstra_path_length(g, weight="length"):
        for dst, d in lengths.items():
            dist[index[src], index[dst]] = d
    return RoadNetwork(
        ids=ids,
        x_km=np.array([spec.nodes[n][0] for n in ids], dtype=np.float64),
        y_km=np.array([spec.nodes[n][1] for n in ids], dtype=np.float64),
        dist_km=dist,
        closed=tuple(closed),
    )
