"""The assigner's plan: which node runs each camera (pure; property-tested).

:func:`plan` takes the cameras, the live nodes with their capacities and the current
assignment, and returns the next one. It is *sticky*: a camera stays where it is unless
its node is gone, draining, or over its capacity, or the load is uneven by more than one
camera; then the fewest cameras move, each to the least loaded node with room. A camera
that fits nowhere is left unassigned (and reported as such by ``cluster status``).

Example:
    >>> nodes = {"a": NodeInfo("a", 4), "b": NodeInfo("b", 4)}
    >>> plan(["c1", "c2", "c3", "c4"], nodes, {"c1": "a", "c2": "a", "c3": "a"})
    {'c1': 'a', 'c2': 'a', 'c3': 'b', 'c4': 'b'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A live node as the assigner sees it: its id, capacity, and whether it drains."""

    id: str
    capacity: int
    draining: bool = False


def plan(
    cameras: Iterable[str], nodes: Mapping[str, NodeInfo], current: Mapping[str, str]
) -> dict[str, str]:
    """The next assignment ``{camera: node}`` (see the module docstring).

    Args:
        cameras: every camera that should run.
        nodes: the live nodes by id.
        current: the assignment as it stands (may name dead nodes or removed cameras).
    """
    wanted = sorted(set(cameras))
    open_nodes = {n.id: n for n in nodes.values() if not n.draining and n.capacity > 0}
    held: dict[str, list[str]] = {nid: [] for nid in open_nodes}
    orphans: list[str] = []
    for cam in wanted:
        node = current.get(cam)
        if node in held:
            held[node].append(cam)
        else:
            orphans.append(cam)
    for nid, cams in held.items():  # surplus over capacity moves
        cap = open_nodes[nid].capacity
        if len(cams) > cap:
            orphans.extend(cams[cap:])
            del cams[cap:]

    def least_loaded() -> str | None:
        room = [n for n in held if len(held[n]) < open_nodes[n].capacity]
        return min(room, key=lambda n: (len(held[n]), n)) if room else None

    for cam in sorted(orphans):
        target = least_loaded()
        if target is None:
            break
        held[target].append(cam)
    while True:  # even out: one camera at a time from the fullest to the emptiest
        target = least_loaded()
        if target is None:
            break
        donor = max(held, key=lambda n: (len(held[n]), n))
        if len(held[donor]) - len(held[target]) <= 1:
            break
        held[target].append(held[donor].pop())
    return dict(sorted((cam, nid) for nid, cams in held.items() for cam in cams))


def moves(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str | None]:
    """``{camera: new node or None}`` for every camera whose node changes."""
    keys = set(before) | set(after)
    return {k: after.get(k) for k in sorted(keys) if before.get(k) != after.get(k)}


__all__ = ["NodeInfo", "moves", "plan"]
