"""Nodes sharing cameras through a real NATS KV: balance, drain, camera changes, claims."""

from __future__ import annotations

import asyncio

import pytest

from gridsight.live.cluster.control import (
    cluster_status,
    open_store,
    put_camera,
    remove_camera,
    set_drain,
)
from gridsight.live.cluster.names import Timings
from gridsight.live.cluster.node import ClusterNode

from ...services import require_nats
from .helpers import RecordingRunner, fresh_names, town_cameras, until

FAST = Timings(lease_s=2.0, renew_s=0.25)


@pytest.fixture
def nats_url() -> str:
    return require_nats()


def test_nodes_share_drain_and_follow_camera_changes(nats_url: str) -> None:
    async def scenario() -> None:
        names = fresh_names()
        cams = town_cameras()
        runners = {n: RecordingRunner() for n in ("a", "b", "c")}
        nodes = {
            n: ClusterNode(
                nats_url, r, node_id=n, capacity=6, names=names, timings=FAST, seed_cameras=cams
            )
            for n, r in runners.items()
        }
        tasks = [asyncio.create_task(node.run()) for node in nodes.values()]
        nc, store = await open_store(nats_url, names, FAST)
        try:

            def spread() -> bool:
                loads = sorted(len(r.running) for r in runners.values())
                return sum(loads) == len(cams) and loads[-1] - loads[0] <= 1

            await until(spread, what="12 cameras spread over 3 nodes")
            every = [c for r in runners.values() for c in r.running]
            assert len(every) == len(set(every)), "a camera runs on two nodes"
            status = await cluster_status(store)
            assert {n["id"] for n in status["nodes"] if n["alive"]} == {"a", "b", "c"}
            assert all(c["epoch"] and c["node"] for c in status["cameras"])

            await set_drain(store, "a")
            await until(lambda: not runners["a"].running, what="node a drained")
            await until(spread_over(runners, ("b", "c"), len(cams)), what="b and c take a's")

            await remove_camera(store, cams[0].id)
            await until(
                lambda: all(cams[0].id not in r.running for r in runners.values()),
                what="a removed camera stopped",
            )
            changed = cams[1].model_copy(update={"fps": cams[1].fps + 1})
            await put_camera(store, changed)
            await until(
                lambda: any(r.running.get(changed.id) == changed for r in runners.values()),
                what="a changed camera updated in place",
            )
        finally:
            for node in nodes.values():
                node.stop()
            await asyncio.gather(*tasks)
            await nc.close()

    asyncio.run(scenario())


def spread_over(runners, which, total):
    def check() -> bool:
        loads = sorted(len(runners[n].running) for n in which)
        return sum(loads) == total - 0 and loads[-1] - loads[0] <= 1

    return check


def test_a_camera_left_without_room_is_assigned_again_when_room_comes(nats_url: str) -> None:
    async def scenario() -> None:
        names = fresh_names()
        cams = town_cameras()[:3]
        small = RecordingRunner()
        node = ClusterNode(nats_url, small, node_id="s", capacity=2, names=names,
                           timings=FAST, seed_cameras=cams)  # fmt: skip
        tasks = [asyncio.create_task(node.run())]
        try:
            await until(lambda: len(small.running) == 2, what="two cameras on a node of two")
            await asyncio.sleep(3 * FAST.renew_s)
            assert len(small.running) == 2  # the third has no room: it stays unassigned
            # Draining the only node leaves no room at all: the assignments are deleted...
            nc, store = await open_store(nats_url, names, FAST)
            await set_drain(store, "s")
            await until(lambda: not small.running, what="the drained node stopping")
            await set_drain(store, "s", drain=False)
            # ... and written again once there is room (a deleted key leaves a marker);
            # the node resumes them under the epochs it released, and owns them again.
            await until(lambda: len(small.running) == 2, what="cameras back after the drain")

            async def owned_by_s() -> bool:
                st = await cluster_status(store)
                return sorted(c["node"] or "-" for c in st["cameras"]) == ["-", "s", "s"]

            await until(owned_by_s, what="status showing the resumed cameras owned")
            await nc.close()
            big = RecordingRunner()
            other = ClusterNode(nats_url, big, node_id="t", capacity=4, names=names,
                                timings=FAST)  # fmt: skip
            tasks.append(asyncio.create_task(other.run()))
            await until(
                lambda: len(small.running) + len(big.running) == 3,
                what="the third camera assigned once a node has room",
            )
        finally:
            node.stop()
            if len(tasks) > 1:
                other.stop()
            await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_the_assigner_moves_nothing_on_a_read_that_lacks_its_own_key() -> None:
    """A partial snapshot of the nodes bucket (nats-io/nats.py#842) plans nothing."""

    class Reads:
        def __init__(self, nodes: dict) -> None:
            self.buckets = {
                "nodes": nodes,
                "drain": {},
                "cameras": {"cam-a": (1, {"id": "cam-a"})},
                "assign": {"cam-a": (3, {"node": "c"})},  # c is dead
            }

        async def get(self, bucket: str) -> dict:
            return self.buckets[bucket]

        def forget(self, bucket: str) -> None:
            pass

    class Assign:
        def __init__(self) -> None:
            self.writes: list[tuple] = []

        async def delete(self, key, last=None):
            self.writes.append(("delete", key))

        async def create(self, key, value):
            self.writes.append(("create", key))

        async def update(self, key, value, last=None):
            self.writes.append(("update", key))

    class Store:
        assign = Assign()

    node = ClusterNode("nats://unused", RecordingRunner(), node_id="a", capacity=2)
    asyncio.run(node._assign(Store(), Reads({})))  # type: ignore[arg-type]
    assert Store.assign.writes == [] and node.counters.partial_reads == 1
    # With its own key read it plans as usual: the dead node's camera moves.
    alive = {"a": (5, {"capacity": 2}), "b": (6, {"capacity": 2})}
    asyncio.run(node._assign(Store(), Reads(alive)))  # type: ignore[arg-type]
    assert Store.assign.writes == [("update", "cam-a")] and node.counters.partial_reads == 1
