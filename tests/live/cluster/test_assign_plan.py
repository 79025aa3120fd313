"""The assigner's plan, as properties: sticky, within capacity, balanced, complete."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gridsight.live.cluster.assign import NodeInfo, moves, plan

NODE_IDS = [f"n{i}" for i in range(6)]
CAMS = [f"c{i:02d}" for i in range(40)]


@st.composite
def situations(draw):
    nodes = {
        nid: NodeInfo(nid, draw(st.integers(0, 12)), draining=draw(st.booleans()))
        for nid in draw(st.lists(st.sampled_from(NODE_IDS), unique=True, max_size=6))
    }
    cameras = draw(st.lists(st.sampled_from(CAMS), unique=True, max_size=40))
    current = {
        c: draw(st.sampled_from([*NODE_IDS, "dead"]))
        for c in draw(st.lists(st.sampled_from(CAMS), unique=True, max_size=40))
    }
    return cameras, nodes, current


def _loads(assignment: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for node in assignment.values():
        out[node] = out.get(node, 0) + 1
    return out


@given(situations())
def test_every_camera_fits_once_within_capacity_on_open_nodes(s) -> None:
    cameras, nodes, current = s
    nxt = plan(cameras, nodes, current)
    assert set(nxt) <= set(cameras)
    for node, load in _loads(nxt).items():
        assert not nodes[node].draining and load <= nodes[node].capacity
    room = sum(n.capacity for n in nodes.values() if not n.draining)
    assert len(nxt) == min(len(cameras), room), "a camera left out while a node had room"


@given(situations())
def test_balanced_within_one_among_nodes_with_room(s) -> None:
    cameras, nodes, current = s
    loads = _loads(plan(cameras, nodes, current))
    open_ = [n for n in nodes.values() if not n.draining and n.capacity > 0]
    with_room = [loads.get(n.id, 0) for n in open_ if loads.get(n.id, 0) < n.capacity]
    if with_room:
        assert max(loads.get(n.id, 0) for n in open_) - min(with_room) <= 1


@given(situations())
def test_a_plan_is_stable(s) -> None:
    cameras, nodes, current = s
    once = plan(cameras, nodes, current)
    assert plan(cameras, nodes, once) == once, "planning again moves cameras"


@given(situations())
def test_cameras_on_a_healthy_balanced_cluster_stay_put(s) -> None:
    cameras, nodes, _ = s
    settled = plan(cameras, nodes, {})
    # A node joins with room: the settled cameras move only to even the load out.
    joined = {**nodes, "new": NodeInfo("new", 12)}
    nxt = plan(cameras, joined, settled)
    moved = moves(settled, nxt)
    assert all(target == "new" for target in moved.values()), moved


def test_a_dead_nodes_cameras_go_to_the_least_loaded() -> None:
    nodes = {"a": NodeInfo("a", 10), "b": NodeInfo("b", 10)}
    current = {"c1": "a", "c2": "a", "c3": "b", "c4": "dead", "c5": "dead"}
    nxt = plan(["c1", "c2", "c3", "c4", "c5"], nodes, current)
    assert {c: nxt[c] for c in ("c1", "c2", "c3")} == {"c1": "a", "c2": "a", "c3": "b"}
    assert sorted(_loads(nxt).values()) == [2, 3]
