"""An engine node of the cluster: liveness, the assigner lease, camera claims, self-fencing.

Every ``renew_s`` the node

1. renews its liveness key (``<cluster>-nodes``, a bucket whose TTL is the lease);
2. takes or renews the assigner lease (``<cluster>-leader``: create-if-absent, then
   update with the revision it last wrote) and, while it holds it, writes the next
   assignment (:func:`~gridsight.live.cluster.assign.plan`; each write a compare-and-set
   on the key's revision, so a deposed assigner's late write fails);
3. reconciles its cameras with the assignment: it stops the cameras assigned elsewhere
   (then releases their owner keys), and claims the ones assigned to it by a
   compare-and-set on the owner key once their previous owner has released them or is
   no longer alive. The owner key's new revision is the camera's **epoch**, stamped on
   every event the node publishes for it.

A watchdog stops every camera when the liveness key has not been renewed for
``0.75 x lease_s`` (NATS unreachable, the loop stalled): the node gives its cameras up
before the server expires its key and another node claims them. A node that was paused
(SIGSTOP) cannot run its watchdog; when it wakes, its events carry the old epoch and the
order store refuses them (see :mod:`gridsight.orders.fencing`), and its watchdog or its
next reconcile stops the cameras it lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from gridsight.core.config.camera import CameraConfig
from gridsight.live.cluster.assign import NodeInfo, moves, plan
from gridsight.live.cluster.kv import (
    ClusterStore,
    connect,
    dumps,
    get_json,
    open_store_retrying,
    read_all,
)
from gridsight.live.cluster.names import ClusterNames, Timings
from gridsight.live.cluster.runner import CameraRunner

log = logging.getLogger("gridsight.cluster.node")

LEADER_KEY = "assigner"
#: Prefix of the keys (in the owners bucket) that say a node let a camera go.
RELEASED = "released."
#: Fraction of the lease after which a node that could not renew stops its cameras.
SELF_STOP_FRACTION = 0.75


@dataclass(slots=True)
class NodeCounters:
    """What a node has done, for its heartbeat and the tests."""

    claims: int = 0
    releases: int = 0
    lost: int = 0
    self_stops: int = 0
    renewals: int = 0
    renew_failures: int = 0
    assigner_writes: int = 0
    partial_reads: int = 0
    errors: list[str] = field(default_factory=list)


def split_owners(
    entries: Mapping[str, tuple[int, Any]],
) -> tuple[dict[str, tuple[int, Any]], dict[str, int]]:
    """The owners bucket as ``({camera: (epoch, owner)}, {camera: epoch released})``."""
    owners: dict[str, tuple[int, Any]] = {}
    released: dict[str, int] = {}
    for key, (rev, value) in entries.items():
        if key.startswith(RELEASED):
            released[key[len(RELEASED) :]] = int(value.get("epoch", 0))
        else:
            owners[key] = (rev, value)
    return owners, released


class _TickReads:
    """The buckets one tick reads, each read once (a read is a consumer on the server)."""

    def __init__(self, store: ClusterStore) -> None:
        self.store = store
        self._got: dict[str, dict[str, tuple[int, Any]]] = {}

    async def get(self, bucket: str) -> dict[str, tuple[int, Any]]:
        if bucket not in self._got:
            self._got[bucket] = await read_all(getattr(self.store, bucket))
        return self._got[bucket]

    def forget(self, bucket: str) -> None:
        self._got.pop(bucket, None)


class ClusterNode:
    """One engine node (see the module docstring).

    Args:
        url: NATS URL(s).
        runner: runs the cameras (the engine, or a recorder in tests).
        node_id: this node's id (unique in the cluster).
        capacity: the most cameras it takes.
        names: the cluster's names.
        timings: lease and renewal period.
        seed_cameras: cameras written to the cluster's camera bucket when absent there
            (the node's config; later changes come through the bucket).
        on_event_drain: waits (up to the seconds given) until this node's events are
            acknowledged by the server; called before a camera is released so that its
            closing events are published under its epoch.
    """

    def __init__(
        self,
        url: str,
        runner: CameraRunner,
        *,
        node_id: str,
        capacity: int,
        names: ClusterNames | None = None,
        timings: Timings | None = None,
        seed_cameras: Sequence[CameraConfig] = (),
        on_event_drain: Callable[[float], bool] | None = None,
    ) -> None:
        self.url = url
        self.runner = runner
        self.node_id = node_id
        self.capacity = capacity
        self.names = names or ClusterNames()
        self.timings = timings or Timings()
        self.seed_cameras = list(seed_cameras)
        self.on_event_drain = on_event_drain
        self.epochs: dict[str, int] = {}  # every camera this node ever claimed -> epoch
        self.held: dict[str, int] = {}  # running camera -> revision of its config
        self.is_assigner = False
        self.counters = NodeCounters()
        self._lead_rev = 0
        self._last_renewed = time.monotonic()
        self._stop = asyncio.Event()
        self._jobs: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._started = time.time()

    def epoch_of(self, camera: str) -> int:
        """The epoch this node holds (or last held) for ``camera``; 0 if never."""
        return self.epochs.get(camera, 0)

    def stop(self) -> None:
        """Ask :meth:`run` to finish (from the node's event loop)."""
        self._stop.set()

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`stop`: renew, lead, reconcile every ``renew_s``."""
        nc = await connect(self.url, name=f"gridsight-node-{self.node_id}")
        store = await open_store_retrying(nc, self.names, self.timings, stopping=self._stop.is_set)
        if store is None:
            await nc.close()
            return
        await self._seed(store)
        watchdog = asyncio.create_task(self._watchdog())
        worker = asyncio.create_task(self._engine_worker())
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    await asyncio.wait_for(self._tick(store, started), self.timings.lease_s / 2)
                except Exception as exc:
                    self._error(f"tick: {type(exc).__name__}: {exc}")
                left = self.timings.renew_s - (time.monotonic() - started)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), max(left, 0.01))
        finally:
            watchdog.cancel()
            await self._leave(store)
            worker.cancel()
            await nc.close()

    async def _watchdog(self) -> None:
        limit = self.timings.lease_s * SELF_STOP_FRACTION
        while True:
            await asyncio.sleep(self.timings.renew_s / 2)
            silent = time.monotonic() - self._last_renewed
            if silent >= limit and self.held:
                log.error(
                    "liveness not renewed for %.1f s (limit %.1f s): stopping %d cameras",
                    silent,
                    limit,
                    len(self.held),
                )
                self.counters.self_stops += 1
                self._stop_cameras(list(self.held))

    async def _tick(self, store: ClusterStore, started: float) -> None:
        try:
            await store.nodes.put(self.node_id, dumps(self.heartbeat()))
        except Exception:
            self.counters.renew_failures += 1
            raise
        self.counters.renewals += 1
        if time.monotonic() - self._last_renewed >= self.timings.lease_s * SELF_STOP_FRACTION:
            # We were away (paused, or cut off) long enough that others may own our
            # cameras: give them up before looking at anything else.
            self._stop_cameras(list(self.held))
        self._last_renewed = started
        reads = _TickReads(store)
        if await self._lead(store):
            await self._assign(store, reads)
        await self._reconcile(store, reads)

    # -- the assigner ---------------------------------------------------------------------

    async def _lead(self, store: ClusterStore) -> bool:
        from nats.js.errors import KeyWrongLastSequenceError

        current = await get_json(store.leader, LEADER_KEY)
        value = dumps({"node": self.node_id})
        try:
            if current is None:
                self._lead_rev = await store.leader.create(LEADER_KEY, value)
            elif current[1].get("node") == self.node_id:
                self._lead_rev = await store.leader.update(LEADER_KEY, value, last=current[0])
            else:
                self.is_assigner = False
                return False
        except KeyWrongLastSequenceError:
            self.is_assigner = False
            return False
        if not self.is_assigner:
            log.info("node %s is the assigner", self.node_id)
        self.is_assigner = True
        return True

    async def _assign(self, store: ClusterStore, reads: _TickReads) -> None:
        from nats.js.errors import KeyWrongLastSequenceError

        nodes = await reads.get("nodes")
        if self.node_id not in nodes:
            # This tick wrote our own liveness key before reading: a snapshot without it
            # is partial (nats-py's KV watcher may end its initial values too early while
            # keys are being written, nats-io/nats.py#842). Planning on it would take
            # every camera off the nodes it misses.
            self.counters.partial_reads += 1
            log.warning("node %s: partial read of the nodes bucket; no assignment this tick",
                        self.node_id)  # fmt: skip
            return
        drains = await reads.get("drain")
        cameras = await reads.get("cameras")
        assigned = await reads.get("assign")
        infos = {
            nid: NodeInfo(nid, int(v.get("capacity", 0)), draining=nid in drains)
            for nid, (_, v) in nodes.items()
        }
        current = {cam: str(v.get("node")) for cam, (_, v) in assigned.items()}
        nxt = plan(cameras, infos, current)
        changes = moves(current, nxt)
        if changes:
            reads.forget("assign")
        for cam, node in changes.items():
            rev = assigned[cam][0] if cam in assigned else 0
            try:
                if node is None:
                    await store.assign.delete(cam, last=rev)
                elif rev == 0:
                    # create(), not update(last=0): a key deleted before (the camera had
                    # no room) keeps a delete marker that update(last=0) would never pass.
                    await store.assign.create(cam, dumps({"node": node}))
                else:
                    await store.assign.update(cam, dumps({"node": node}), last=rev)
            except KeyWrongLastSequenceError:
                return  # another assigner wrote since we read: it has the lease now
            self.counters.assigner_writes += 1
            log.info("assign %s: %s -> %s", cam, current.get(cam), node)

    # -- this node's cameras --------------------------------------------------------------

    async def _reconcile(self, store: ClusterStore, reads: _TickReads) -> None:
        assigned = await reads.get("assign")
        cameras = await reads.get("cameras")
        owners, released = split_owners(await reads.get("owners"))
        mine = {c for c, (_, v) in assigned.items() if v.get("node") == self.node_id}
        # Cameras lost (claimed by another node) or moved away or removed: stop them.
        lost = [c for c in self.held if c in owners and owners[c][0] != self.epochs.get(c)]
        if lost:
            self.counters.lost += len(lost)
            log.warning("cameras claimed by other nodes: %s; stopping them", ", ".join(lost))
            self._stop_cameras(lost)
        leaving = [c for c in self.held if c not in mine or c not in cameras]
        if leaving:
            self._stop_cameras(leaving, then=lambda: self._release(store, leaving))
        # Changed configs of cameras we run.
        for cam, rev in list(self.held.items()):
            if cameras[cam][0] != rev:
                cfg = self._config(cam, cameras[cam][1])
                if cfg is not None:
                    self._engine_job(f"updating {cam}", self.runner.update, cfg)
                self.held[cam] = cameras[cam][0]
        # New cameras: claim them once their previous owner let go or is gone.
        wanted = sorted(c for c in mine if c not in self.held and c in cameras)
        if not wanted:
            return
        alive = set(await reads.get("nodes"))
        claimed: list[CameraConfig] = []
        for cam in wanted:
            owner = owners.get(cam)
            holder = owner[1].get("node") if owner else None
            let_go = owner is not None and released.get(cam) == owner[0]
            if holder not in (None, self.node_id) and holder in alive and not let_go:
                continue  # still running there; it releases on its next reconcile
            cfg = self._config(cam, cameras[cam][1])
            if cfg is None:
                continue
            if owner is not None and holder == self.node_id and owner[0] == self.epochs.get(cam):
                # Nobody claimed it since we held it (we stopped it when cut off from
                # NATS): resume under the same epoch, so that the events we buffered
                # meanwhile are not refused as stale. It is ours again: no longer let go.
                epoch: int | None = owner[0]
                if let_go:
                    await store.owners.delete(f"{RELEASED}{cam}")
            else:
                epoch = await self._claim(store, cam, owner[0] if owner else 0)
            if epoch is None:
                continue
            self.epochs[cam] = epoch
            self.held[cam] = cameras[cam][0]
            claimed.append(cfg)
        if claimed:
            self._engine_job(f"starting {len(claimed)} cameras", self.runner.start, claimed)

    async def _claim(self, store: ClusterStore, cam: str, last: int) -> int | None:
        from nats.js.errors import KeyWrongLastSequenceError

        value = dumps({"node": self.node_id})
        try:
            if last == 0:
                epoch = await store.owners.create(cam, value)
            else:
                epoch = await store.owners.update(cam, value, last=last)
        except KeyWrongLastSequenceError:
            return None  # someone else claimed it since we looked
        self.counters.claims += 1
        log.info("claimed %s at epoch %d", cam, epoch)
        return int(epoch)

    async def _release(self, store: ClusterStore, cams: Sequence[str]) -> None:
        """Say we let these cameras go, once their last events are acknowledged.

        The release is a key of its own (``released.<camera>`` = the epoch let go), so
        the owner key's revision, the epoch the order store compares with, does not rise
        before the next owner claims it.
        """
        if self.on_event_drain is not None:
            await asyncio.to_thread(self.on_event_drain, 2.0)
        for cam in cams:
            epoch = self.epochs.get(cam)
            if epoch is None:
                continue
            await store.owners.put(
                f"{RELEASED}{cam}", dumps({"node": self.node_id, "epoch": epoch})
            )
            self.counters.releases += 1

    # -- the engine's changes, off the control loop -----------------------------------------

    def _engine_job(self, what: str, fn: Callable[..., Any], *args: Any) -> None:
        """Queue a call into the engine (loading a model, opening a source take seconds:
        the liveness loop never waits for them); jobs run one at a time, in order."""

        async def job() -> None:
            try:
                await asyncio.to_thread(fn, *args)
            except Exception as exc:
                self._error(f"{what}: {type(exc).__name__}: {exc}")

        self._jobs.put_nowait(job)

    async def _engine_worker(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await job()
            finally:
                self._jobs.task_done()

    def _stop_cameras(
        self, cams: Sequence[str], then: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Forget these cameras now and stop them in the engine (then run ``then``)."""
        gone = [cam for cam in cams if self.held.pop(cam, None) is not None]
        for cam in gone:
            self._engine_job(f"stopping {cam}", self.runner.stop, cam)
        if then is not None:

            async def after() -> None:
                try:
                    await then()
                except Exception as exc:
                    self._error(f"after stopping {', '.join(cams)}: {type(exc).__name__}: {exc}")

            self._jobs.put_nowait(after)

    def _config(self, cam: str, data: Mapping[str, Any]) -> CameraConfig | None:
        try:
            return CameraConfig.model_validate(data)
        except ValidationError as exc:
            self._error(f"camera {cam}: bad config in the cluster: {exc}")
            return None

    async def _seed(self, store: ClusterStore) -> None:
        from nats.js.errors import KeyWrongLastSequenceError

        for cfg in self.seed_cameras:
            # Already in the cluster: the bucket is the truth, not this node's config.
            with contextlib.suppress(KeyWrongLastSequenceError):
                await store.cameras.create(cfg.id, dumps(cfg.model_dump(mode="json")))

    async def _leave(self, store: ClusterStore) -> None:
        """A clean exit: stop the cameras, release them, and drop the liveness key."""
        held = list(self.held)
        self._stop_cameras(held)
        try:
            await asyncio.wait_for(self._jobs.join(), 60.0)
            await self._release(store, held)
            await store.nodes.delete(self.node_id)
            if self.is_assigner:
                await store.leader.delete(LEADER_KEY, last=self._lead_rev)
        except Exception as exc:
            log.warning("leaving the cluster: %s", exc)

    # -- reporting ------------------------------------------------------------------------

    def heartbeat(self) -> dict[str, Any]:
        """The liveness key's value: what ``cluster status`` shows of this node."""
        status = self.runner.camera_status()
        return {
            "id": self.node_id,
            "pid": os.getpid(),
            "capacity": self.capacity,
            "load": len(self.held),
            "fps": round(sum(s.get("fps", 0.0) for s in status.values()), 2),
            "cameras": sorted(self.held),
            "camera_status": {c: status[c] for c in sorted(status) if c in self.held},
            "epochs": {c: self.epochs[c] for c in sorted(self.held)},
            "assigner": self.is_assigner,
            "started": self._started,
            "counters": {
                "claims": self.counters.claims,
                "releases": self.counters.releases,
                "lost": self.counters.lost,
                "self_stops": self.counters.self_stops,
                "renew_failures": self.counters.renew_failures,
            },
        }

    def _error(self, message: str) -> None:
        log.warning("node %s: %s", self.node_id, message)
        self.counters.errors.append(message)
        del self.counters.errors[:-20]


__all__ = ["RELEASED", "ClusterNode", "NodeCounters", "split_owners"]
