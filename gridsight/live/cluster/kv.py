"""Connecting to NATS, creating the cluster's buckets and stream, reading a bucket whole."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridsight.core.errors import GridsightError
from gridsight.live.cluster.names import ClusterNames, Timings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js.client import JetStreamContext
    from nats.js.kv import KeyValue

log = logging.getLogger("gridsight.cluster")


class ClusterUnavailable(GridsightError):
    """NATS (or nats-py) is not there: the cluster cannot be reached."""


def require_nats() -> None:
    """Raise :class:`ClusterUnavailable` naming the extra when nats-py is missing."""
    try:
        import nats  # noqa: F401
    except ImportError:  # pragma: no cover - the cluster extra is installed in dev
        raise ClusterUnavailable(
            "the cluster needs nats-py: pip install 'gridsight[cluster]'"
        ) from None


async def _quiet_error(exc: Exception) -> None:
    # nats-py's default prints a traceback for every failed reconnect attempt.
    log.warning("NATS: %s: %s", type(exc).__name__, exc)


async def connect(
    url: str, *, name: str, retry: bool = True, stopping: Callable[[], bool] | None = None
) -> Client:
    """A connection that reconnects for ever (an engine node outlives NATS restarts).

    ``url`` may list several servers, comma-separated. With ``retry`` the first
    connection is tried again every half second until a server answers; without it
    (one-shot commands) a missing server is a :class:`ClusterUnavailable` at once, as it
    is when ``stopping()`` turns true while waiting.
    """
    require_nats()
    import nats

    servers = [u.strip() for u in url.split(",") if u.strip()]
    while True:
        try:
            # nats-py retries a first connection inside connect() when reconnects are
            # unlimited: bound each try so that ``stopping`` is looked at in between.
            return await asyncio.wait_for(
                nats.connect(
                    servers,
                    name=name,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    ping_interval=2,
                    max_outstanding_pings=2,
                    error_cb=_quiet_error,
                ),
                timeout=5.0,
            )
        except Exception as exc:
            if not retry or (stopping is not None and stopping()):
                raise ClusterUnavailable(f"NATS at {url}: {type(exc).__name__}: {exc}") from None
            log.warning("NATS at %s: %s; trying again", url, exc)
            await asyncio.sleep(0.5)


@dataclass(slots=True)
class ClusterStore:
    """The buckets and stream of one cluster, open on one connection."""

    names: ClusterNames
    js: JetStreamContext
    nodes: KeyValue
    leader: KeyValue
    cameras: KeyValue
    assign: KeyValue
    owners: KeyValue
    drain: KeyValue

    @classmethod
    async def open(
        cls, nc: Client, names: ClusterNames, timings: Timings | None = None
    ) -> ClusterStore:
        """Create (or open) the buckets and the event stream."""
        from nats.js.api import KeyValueConfig, StorageType, StreamConfig
        from nats.js.errors import BucketNotFoundError, NotFoundError

        timings = timings or Timings()
        js = nc.jetstream(timeout=5)
        r = timings.replicas

        async def bucket(name: str, ttl: float | None = None) -> KeyValue:
            # The first member to come up creates the buckets; the others open them as
            # they are (a bucket's TTL is the lease in force, whatever one node says).
            try:
                kv = await js.key_value(name)
            except BucketNotFoundError:
                cfg = KeyValueConfig(
                    bucket=name, history=1, ttl=ttl, replicas=r, storage=StorageType.FILE
                )
                return await js.create_key_value(cfg)
            if ttl is not None:
                info = await js.stream_info(f"KV_{name}")
                if info.config.max_age and abs(info.config.max_age - ttl) > 1e-3:
                    log.warning(
                        "bucket %s has a TTL of %.1f s, not the %.1f s asked for; it stays",
                        name,
                        info.config.max_age,
                        ttl,
                    )
            return kv

        store = cls(
            names,
            js,
            nodes=await bucket(names.nodes, timings.lease_s),
            leader=await bucket(names.leader, timings.lease_s),
            cameras=await bucket(names.cameras),
            assign=await bucket(names.assign),
            owners=await bucket(names.owners),
            drain=await bucket(names.drain),
        )
        try:
            await js.stream_info(names.stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=names.stream,
                    subjects=[names.subjects],
                    num_replicas=r,
                    storage=StorageType.FILE,
                    duplicate_window=120.0,
                )
            )
        return store


async def open_store_retrying(
    nc: Client, names: ClusterNames, timings: Timings | None = None, *, stopping: Any = None
) -> ClusterStore | None:
    """:meth:`ClusterStore.open`, tried again every second while JetStream is not ready.

    A NATS cluster that has just started has no JetStream leader for a moment, and a
    server being restarted answers nothing; a long-running member waits it out. Returns
    None when ``stopping()`` turns true first.
    """
    while True:
        try:
            return await ClusterStore.open(nc, names, timings)
        except Exception as exc:
            if stopping is not None and stopping():
                return None
            log.warning("cluster %s: JetStream not ready (%s); trying again", names.name, exc)
            await asyncio.sleep(1.0)


#: How long a read that ended early waits for the entries still due (seconds).
READ_TAIL_S = 0.5


async def read_all(kv: KeyValue) -> dict[str, tuple[int, Any]]:
    """``{key: (revision, JSON value)}`` of every live key of a bucket (one snapshot).

    A watcher delivers the last value of each key, then ``None`` once it has caught up;
    expired keys of a TTL bucket are gone from the stream, so they are not listed.
    nats-py's watcher may send that ``None`` before it has delivered every entry
    (nats-io/nats.py#842), so the stream's message count, taken before the watch, is the
    least the snapshot must have seen (delete markers included); short of it, the read
    goes on until it is reached or nothing comes for :data:`READ_TAIL_S` (keys that
    expired meanwhile).
    """
    import nats.errors

    info = await kv._js.stream_info(kv._stream)
    expected = int(info.state.messages or 0)
    watcher = await kv.watchall()
    out: dict[str, tuple[int, Any]] = {}
    seen = 0
    caught_up = False
    try:
        while True:
            try:
                entry = await watcher.updates(timeout=READ_TAIL_S if caught_up else 5.0)
            except nats.errors.TimeoutError:
                if caught_up:
                    break
                raise
            if entry is None:
                caught_up = True
                if seen >= expected:
                    break
                continue
            seen += 1
            if entry.value is None or entry.operation is not None:
                out.pop(entry.key, None)
                continue  # a delete or purge marker
            try:
                out[entry.key] = (int(entry.revision or 0), json.loads(entry.value))
            except ValueError:
                log.warning("bucket %s: key %s is not JSON; ignored", kv._name, entry.key)
            if caught_up and seen >= expected:
                break
    finally:
        await watcher.stop()
    return out


async def get_json(kv: KeyValue, key: str) -> tuple[int, Any] | None:
    """``(revision, JSON value)`` of one key, or None when it is absent or deleted."""
    from nats.js.errors import KeyNotFoundError

    try:
        entry = await kv.get(key)
    except KeyNotFoundError:  # KeyDeletedError is one too
        return None
    if entry.value is None:
        return None
    return int(entry.revision or 0), json.loads(entry.value)


def dumps(value: Any) -> bytes:
    """Compact JSON bytes of a KV value."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


__all__ = [
    "ClusterStore",
    "ClusterUnavailable",
    "connect",
    "dumps",
    "get_json",
    "open_store_retrying",
    "read_all",
    "require_nats",
]
