"""Looking at and steering a running cluster: status, drain, camera changes.

:func:`cluster_status` reads the buckets once and returns the ``cluster status --json``
shape::

    {"nodes": [{"id", "alive", "cameras": [ids], "capacity", "load", "fps",
                "assigner", "draining"}],
     "cameras": [{"id", "node", "epoch", "state", "assigned", "fps"}]}

A camera's ``node`` is its owner (the node that claimed it; ``null`` when none has or it
let go), ``epoch`` its owner key's revision, ``state`` the owner's engine state
(``running``, ``retrying``, ...) or, for a camera no live node runs, ``unassigned`` (no
node has room), ``moving`` (assigned, not yet claimed) or ``orphaned`` (its owner is
dead and the assigner has not moved it yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridsight.core.config.camera import CameraConfig
from gridsight.live.cluster.kv import ClusterStore, dumps, read_all
from gridsight.live.cluster.names import ClusterNames, Timings
from gridsight.live.cluster.node import LEADER_KEY, split_owners


async def cluster_status(store: ClusterStore) -> dict[str, Any]:
    """The cluster as ``cluster status --json`` prints it (see the module docstring)."""
    alive = await read_all(store.nodes)
    drains = await read_all(store.drain)
    cameras = await read_all(store.cameras)
    assigned = {c: v.get("node") for c, (_, v) in (await read_all(store.assign)).items()}
    owners, released = split_owners(await read_all(store.owners))
    leader = await read_all(store.leader)
    assigner = leader.get(LEADER_KEY, (0, {}))[1].get("node")
    known = set(alive) | {n for n in assigned.values() if n} | set(drains)
    known |= {v.get("node") for _, v in owners.values() if v.get("node")}
    nodes = []
    for nid in sorted(known):
        beat: Mapping[str, Any] = alive[nid][1] if nid in alive else {}
        nodes.append(
            {
                "id": nid,
                "alive": nid in alive,
                "cameras": list(beat.get("cameras", [])),
                "capacity": beat.get("capacity"),
                "load": beat.get("load", 0),
                "fps": beat.get("fps", 0.0),
                "assigner": nid == assigner and nid in alive,
                "draining": nid in drains,
            }
        )
    cams = []
    for cid in sorted(set(cameras) | set(owners)):
        rev, owner = owners.get(cid, (0, {}))
        holder = owner.get("node")
        if holder is not None and released.get(cid) == rev:
            holder = None  # it let go of the camera
        beat = alive[holder][1] if holder in alive else {}
        run = beat.get("camera_status", {}).get(cid, {}) if cid in beat.get("cameras", []) else {}
        if cid not in cameras:
            state = "removed"
        elif run:
            state = str(run.get("state", "running"))
        elif holder is not None and holder not in alive:
            state = "orphaned"
        elif assigned.get(cid):
            state = "moving"
        else:
            state = "unassigned"
        cams.append(
            {
                "id": cid,
                "node": holder,
                "epoch": rev or None,
                "state": state,
                "assigned": assigned.get(cid),
                "fps": run.get("fps", 0.0),
            }
        )
    return {"nodes": nodes, "cameras": cams}


async def set_drain(store: ClusterStore, node_id: str, drain: bool = True) -> None:
    """Drain ``node_id`` (the assigner moves its cameras away) or stop draining it."""
    if drain:
        await store.drain.put(node_id, dumps({"node": node_id}))
    else:
        await store.drain.delete(node_id)


async def put_camera(store: ClusterStore, config: CameraConfig) -> int:
    """Add or replace a camera in the cluster (its node picks the change up)."""
    return int(await store.cameras.put(config.id, dumps(config.model_dump(mode="json"))))


async def remove_camera(store: ClusterStore, camera_id: str) -> None:
    """Remove a camera from the cluster (its node stops it)."""
    await store.cameras.delete(camera_id)


async def open_store(
    url: str, names: ClusterNames, timings: Timings | None = None
) -> tuple[Any, ClusterStore]:
    """A one-shot connection (no reconnect loop) and the cluster's store on it."""
    from gridsight.live.cluster.kv import connect

    nc = await connect(url, name="gridsight-cluster-cli", retry=False)
    return nc, await ClusterStore.open(nc, names, timings)


__all__ = ["cluster_status", "open_store", "put_camera", "remove_camera", "set_drain"]
