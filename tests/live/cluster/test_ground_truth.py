"""Two real nodes, one killed mid-run: the orders against the synthetic worlds' truth.

Every ground-truth episode (``gridsight world truth``) of a camera's run that a rule could
alert before the run ended gave exactly one order; episodes crossing a move (the killed
node's cameras, and their replay on the node that took them) are counted and reported;
the store's own invariants (no stale epoch accepted, every start attached) hold.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from gridsight.core.config import load_township
from gridsight.core.plugins import build_plugin_manager, hazard_rules
from gridsight.live.cluster.kv import connect

from .checker import CameraRun, check_store, check_truth, event_trail
from .harness import LEASE_S, RENEW_S, start_nodes, status

pytestmark = pytest.mark.slow

#: Stream seconds the cameras that never move run. Each camera of the small config has
#: a real episode that a rule can alert within its first 50 s (seeds 101-104).
RUN_S = 110.0
#: Seconds after all cameras run when the node holding the most is killed.
KILL_AFTER_S = 60.0
#: The stated bound on a camera without a running owner (as in test_failover.py).
UNOWNED_BOUND_S = LEASE_S + 4 * RENEW_S + 30.0


def _drained(nats: str, names) -> bool:
    """The order consumer has every message of the stream acknowledged."""

    async def read() -> bool:
        nc = await connect(nats, name="gridsight-test-drained", retry=False)
        try:
            info = await nc.jetstream().consumer_info(names.stream, names.orders_consumer)
            return int(info.num_pending) == 0 and int(info.num_ack_pending) == 0
        finally:
            await nc.close()

    return asyncio.run(read())


def test_every_episode_outside_a_move_gave_exactly_one_order(cluster: dict) -> None:
    nats, names, nodes = cluster["nats"], cluster["names"], cluster["nodes"]
    town = load_township(cluster["config"])
    cams = {c.id for c in town.cameras}
    start_nodes(cluster, "g1", "g2")
    seen: dict[tuple[str, int], dict] = {}  # (camera, epoch) -> node, first/last running

    def observe() -> dict:
        st = status(nats, names)
        now = time.monotonic()
        for c in st["cameras"]:
            if c["state"] == "running" and c["node"] and c["epoch"]:
                run = seen.setdefault((c["id"], c["epoch"]), {"node": c["node"], "on": now})
                run["off"] = now
        return st

    def poll(check, timeout: float, what: str) -> dict:
        start = time.monotonic()
        while True:
            st = observe()
            if check(st):
                return st
            if time.monotonic() - start > timeout:
                logs = "\n".join(f"--- {n.node_id}\n{n.tail()}" for n in nodes)
                raise AssertionError(f"timed out waiting for {what}: {st}\n{logs}")
            time.sleep(0.2)

    def running_on(st: dict, node: str | None = None) -> set[str]:
        alive = {n["id"] for n in st["nodes"] if n["alive"]}
        return {
            c["id"]
            for c in st["cameras"]
            if c["state"] == "running" and c["node"] in alive and node in (None, c["node"])
        }

    st = poll(
        lambda s: running_on(s) == cams and all(running_on(s, n.node_id) for n in nodes),
        180,
        "every camera running, on both nodes",
    )
    all_on = time.monotonic()
    st = poll(lambda s: time.monotonic() - all_on >= KILL_AFTER_S, KILL_AFTER_S + 30, "run")
    victim = max(nodes, key=lambda n: len(running_on(st, n.node_id)))
    survivor = next(n for n in nodes if n is not victim)
    lost = running_on(st, victim.node_id)
    victim.signal(signal.SIGKILL)
    poll(
        lambda s: running_on(s, survivor.node_id) == cams,
        UNOWNED_BOUND_S,
        "the killed node's cameras running on the other",
    )
    kept = [k for k, r in seen.items() if r["node"] == survivor.node_id and k[0] not in lost]
    poll(
        lambda s: all(time.monotonic() - seen[k]["on"] >= RUN_S for k in kept),
        RUN_S + 30,
        "the survivor's own cameras running long enough",
    )
    survivor.stop()  # SIGTERM: its events are acknowledged before it exits
    deadline = time.monotonic() + 60
    while not _drained(nats, names):
        assert time.monotonic() < deadline, "the order consumer did not catch up"
        time.sleep(0.5)

    # A run ends where it was last seen running (the kill, the stop, or a move the
    # assigner made while the nodes came up); it "moved" when a later run of its camera
    # followed it.
    runs = [
        CameraRun(
            camera,
            epoch,
            run["node"],
            run["off"] - run["on"],
            any(c == camera and e > epoch for c, e in seen),
        )
        for (camera, epoch), run in sorted(seen.items())
    ]
    cameras = {c.id: c for c in town.cameras}
    truth = check_truth(cluster["store"], cameras, runs, hazard_rules(build_plugin_manager()))
    print(f"killed {victim.node_id} holding {sorted(lost)}; runs {runs}\n{truth.report()}")
    check_store(cluster["store"]).assert_clean()
    if truth.missed or truth.doubled:
        for camera in sorted(cameras):
            print(f"--- {camera}\n{event_trail(cluster['store'], camera)}")
    truth.assert_clean()
    assert {r.camera for r in runs if r.moved} >= lost
