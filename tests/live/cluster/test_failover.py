"""Real node processes: kill -9 one, pause one past its lease (SIGSTOP/SIGCONT)."""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from gridsight.core.config import load_township

from .checker import check_store
from .harness import LEASE_S, RENEW_S, all_running, start_nodes, wait_for

#: The stated bound on a camera without a running owner after its node dies: the lease,
#: the assigner's and the claimer's ticks, and the engine opening the source again.
UNOWNED_BOUND_S = LEASE_S + 4 * RENEW_S + 30.0

pytestmark = pytest.mark.slow


def _cams_of(st: dict, node: str) -> set[str]:
    return {c["id"] for c in st["cameras"] if c["node"] == node}


def test_kill_9_a_node_its_cameras_run_on_the_others(cluster: dict) -> None:
    nats, names, nodes = cluster["nats"], cluster["names"], cluster["nodes"]
    start_nodes(cluster, "n1", "n2", "n3")
    cams = {"cam-reservoir-01", "cam-reservoir-02", "cam-stairwell-01", "cam-stairwell-02"}
    _, st = wait_for(nats, names, all_running(cams), timeout=120, what="4 cameras running",
                     nodes=nodes)  # fmt: skip
    victim = max(nodes, key=lambda n: len(_cams_of(st, n.node_id)))
    lost = _cams_of(st, victim.node_id)
    assert lost
    epochs = {c["id"]: c["epoch"] for c in st["cameras"]}
    victim.signal(signal.SIGKILL)
    took, after = wait_for(
        nats, names,
        lambda s: all_running(cams)(s) and not (_cams_of(s, victim.node_id) & cams),
        timeout=UNOWNED_BOUND_S, what="the dead node's cameras running elsewhere", nodes=nodes,
    )  # fmt: skip
    print(f"takeover of {sorted(lost)} after kill -9: {took:.1f} s")
    for cam in lost:
        moved = next(c for c in after["cameras"] if c["id"] == cam)
        assert moved["epoch"] > epochs[cam], "a new owner claims with a higher epoch"
    assert victim.node_id not in {n["id"] for n in after["nodes"] if n["alive"]}
    check_store(cluster["store"]).assert_clean()


def test_a_paused_node_is_fenced_and_stops_the_cameras_it_lost(cluster: dict) -> None:
    from gridsight.live.cluster.publisher import JetStreamSink

    nats, names, nodes = cluster["nats"], cluster["names"], cluster["nodes"]
    start_nodes(cluster, "p1", "p2")
    cams = {"cam-reservoir-01", "cam-reservoir-02", "cam-stairwell-01", "cam-stairwell-02"}
    paused = nodes[0]
    _, st = wait_for(
        nats, names,
        lambda s: all_running(cams)(s) and bool(_cams_of(s, paused.node_id)),
        timeout=120, what="cameras running on both nodes", nodes=nodes,
    )  # fmt: skip
    held = _cams_of(st, paused.node_id)
    old = {c["id"]: c["epoch"] for c in st["cameras"] if c["id"] in held}
    paused.signal(signal.SIGSTOP)
    _, moved = wait_for(
        nats, names,
        lambda s: all(
            c["node"] == "p2" and c["state"] == "running" for c in s["cameras"] if c["id"] in held
        ),
        timeout=UNOWNED_BOUND_S, what="p2 taking over the paused node's cameras", nodes=nodes,
    )  # fmt: skip
    new = {c["id"]: c["epoch"] for c in moved["cameras"] if c["id"] in held}
    assert all(new[c] > old[c] for c in held)
    granted_at = time.time()
    # What the paused node publishes when it wakes carries its old epochs; the engine may
    # or may not have an event in flight at that moment, so publish one for each camera
    # exactly as its sink would (its node id, its old epoch) to be sure the path is taken.
    town = load_township(cluster["config"])
    sink = JetStreamSink(nats, names, paused.node_id, lambda c: old.get(c, 0))
    stale_before = cluster["consumer"].counters.stale
    for cam in sorted(held):
        cfg = town.camera(cam)
        from gridsight.core.events import HazardEvent

        sink.write(
            HazardEvent(
                f"{cam}:late:{uuid.uuid4().hex[:6]}",
                cam,
                next(iter(cfg.hazards)),
                "start",
                1.0,
                "2026-07-01T10:00:00.000+08:00",
                cfg.village,
                cfg.grid,
                0.9,
            )
        )
    paused.signal(signal.SIGCONT)
    assert sink.wait_empty(30)
    sink.close()

    # It stops the cameras it lost by itself (and may later be given cameras again, at
    # new epochs, when the assigner evens the load).
    def woke_and_let_go(s: dict) -> bool:
        me = next((n for n in s["nodes"] if n["id"] == paused.node_id), None)
        owners = {c["id"]: c["node"] for c in s["cameras"]}
        taken = {c for c in held if owners.get(c) != paused.node_id}
        return me is not None and me["alive"] and not (set(me["cameras"]) & taken)

    wait_for(nats, names, woke_and_let_go, timeout=60,
             what="the woken node no longer running the cameras it lost", nodes=nodes)  # fmt: skip
    deadline = time.monotonic() + 30
    while cluster["consumer"].counters.stale < stale_before + len(held):
        assert time.monotonic() < deadline, "the stale events were not refused"
        time.sleep(0.1)
    grants = {c: [(new[c], granted_at)] for c in held}
    check_store(cluster["store"], grants).assert_clean()
    assert "liveness not renewed" in paused.log.read_text() or "claimed by other nodes" in (
        paused.log.read_text()
    )
