"""A node's events into the cluster's JetStream stream, each acknowledged by the server.

:class:`JetStreamSink` is an :class:`~gridsight.core.sinks.base.EventSink`: ``write``
stamps the event with its camera's epoch (the fencing token the node holds for it) and
puts it in a bounded buffer; a thread of its own publishes the buffer in order and takes
an event out only once the server has acknowledged it (stored, replicated where the
stream is). While NATS is unreachable the events wait in the buffer and the outage is
logged; when the buffer is full, ``update`` events go first (they only refresh boxes),
then the oldest event, each counted in ``dropped`` and logged as an error: never a
silent loss.

Message id (``Nats-Msg-Id``): ``<event id>/<phase>/<stream ms>``. The event id alone is
shared by a hazard's start, updates and end, so it would make the server drop all but
the first; with the phase and stream time a re-sent event (no ack seen, sent again) has
the same id, and the server and the order store both drop the copy.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from gridsight.core.events import HazardEvent
from gridsight.core.sinks.base import EventSink
from gridsight.live.cluster.kv import ClusterUnavailable, connect, open_store_retrying
from gridsight.live.cluster.names import ClusterNames, Timings

log = logging.getLogger("gridsight.cluster.publisher")


def message_id(event: HazardEvent) -> str:
    """The ``Nats-Msg-Id`` of one event (see the module docstring)."""
    return f"{event.id}/{event.phase}/{round(event.ts * 1000)}"


def encode(event: HazardEvent, epoch: int, node: str) -> bytes:
    """The message body: the alert contract's object plus ``epoch`` and ``node``."""
    body = event.to_dict()
    body["epoch"] = int(epoch)
    body["node"] = node
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(slots=True)
class _Pending:
    subject: str
    msg_id: str
    body: bytes
    phase: str


class JetStreamSink(EventSink):
    """Publishes events to ``<cluster>.events.<village>.<camera>`` (see the module).

    Args:
        url: NATS server URL(s), comma-separated.
        names: the cluster's names.
        node_id: this node (written into each event).
        epoch_of: the epoch this node holds for a camera (0 when it holds none: such an
            event is refused by the order store unless nothing newer was ever seen).
        max_buffer: events held while NATS is unreachable or slow.
        ack_timeout_s: how long one publish waits for the server's acknowledgement.
        timings: the cluster's timings (the stream's replicas, if this sink creates it).

    Attributes:
        written: events the engine handed to this sink.
        published: events acknowledged by the server.
        dropped: events dropped because the buffer was full (each logged).
        retries: publishes that failed and were tried again.
        last_error: the latest publish error, or None.
    """

    name: ClassVar[str] = "jetstream"

    def __init__(
        self,
        url: str,
        names: ClusterNames,
        node_id: str,
        epoch_of: Callable[[str], int],
        *,
        max_buffer: int = 10_000,
        ack_timeout_s: float = 5.0,
        timings: Timings | None = None,
    ) -> None:
        self.url = url
        self.names = names
        self.node_id = node_id
        self.epoch_of = epoch_of
        self.max_buffer = max_buffer
        self.ack_timeout_s = ack_timeout_s
        self.timings = timings or Timings()
        self.written = 0
        self.published = 0
        self.dropped = 0
        self.retries = 0
        self.last_error: str | None = None
        self._buffer: collections.deque[_Pending] = collections.deque()
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._main, name="jetstream-sink", daemon=True)
        self._thread.start()

    # -- the engine's side ---------------------------------------------------------------

    def write(self, event: HazardEvent) -> None:
        """Buffer one event for publishing (never blocks on the network)."""
        item = _Pending(
            self.names.subject(event.village, event.camera),
            message_id(event),
            encode(event, self.epoch_of(event.camera), self.node_id),
            event.phase,
        )
        with self._cond:
            if len(self._buffer) >= self.max_buffer:
                self._make_room(item)
            self._buffer.append(item)
            self.written += 1
            self._cond.notify_all()

    def _make_room(self, item: _Pending) -> None:
        for i, queued in enumerate(self._buffer):
            if i and queued.phase == "update":  # index 0 may be in flight
                del self._buffer[i]
                self.dropped += 1
                log.error("jetstream buffer full: dropped update %s", queued.msg_id)
                return
        lost = self._buffer[1] if len(self._buffer) > 1 else self._buffer[0]
        self._buffer.remove(lost)
        self.dropped += 1
        log.error("jetstream buffer full (%d): dropped %s", self.max_buffer, lost.msg_id)

    @property
    def pending(self) -> int:
        """Events not yet acknowledged by the server."""
        with self._cond:
            return len(self._buffer)

    def wait_empty(self, timeout: float) -> bool:
        """Wait until every buffered event is acknowledged; False on time-out."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.1))
        return True

    def close(self, drain_s: float = 10.0) -> None:
        """Publish what is buffered (up to ``drain_s``) and stop."""
        self.wait_empty(drain_s)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=self.ack_timeout_s + 2.0)
        left = self.pending
        if left:
            log.error("jetstream sink closed with %d events unacknowledged", left)

    def stats(self) -> dict[str, Any]:
        """Counters for status views."""
        return {
            "written": self.written,
            "published": self.published,
            "pending": self.pending,
            "dropped": self.dropped,
            "retries": self.retries,
            "last_error": self.last_error,
        }

    # -- the publishing thread -----------------------------------------------------------

    def _main(self) -> None:
        asyncio.run(self._publish_loop())

    def _next(self) -> _Pending | None:
        with self._cond:
            while not self._buffer and not self._stop:
                self._cond.wait(timeout=0.2)
            return self._buffer[0] if self._buffer and not self._stop else None

    async def _publish_loop(self) -> None:
        try:
            nc = await connect(
                self.url,
                name=f"gridsight-node-{self.node_id}-events",
                stopping=lambda: self._stop,
            )
        except ClusterUnavailable:
            return  # closed before NATS was ever reached; close() reports what is left
        # The stream may not exist yet (this node came up first): create it as any member
        # would, so the first events are not refused for want of a stream.
        await open_store_retrying(nc, self.names, self.timings, stopping=lambda: self._stop)
        js = nc.jetstream(timeout=self.ack_timeout_s)
        pause = 0.0
        outage_since: float | None = None
        try:
            while True:
                item = await asyncio.to_thread(self._next)
                if item is None:
                    if self._stop:
                        break
                    continue
                if pause:
                    await asyncio.sleep(pause)
                try:
                    await js.publish(
                        item.subject,
                        item.body,
                        headers={"Nats-Msg-Id": item.msg_id},
                        timeout=self.ack_timeout_s,
                    )
                except Exception as exc:
                    self.retries += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    if outage_since is None:
                        outage_since = time.monotonic()
                        log.warning("jetstream publish failing (%s); buffering", self.last_error)
                    pause = min(max(pause * 2, 0.1), 2.0)
                    continue
                if outage_since is not None:
                    log.warning(
                        "jetstream publishing again after %.1f s; %d buffered",
                        time.monotonic() - outage_since,
                        self.pending,
                    )
                    outage_since = None
                pause = 0.0
                with self._cond:
                    if self._buffer and self._buffer[0] is item:
                        self._buffer.popleft()
                    self.published += 1
                    self._cond.notify_all()
        finally:
            await nc.close()


__all__ = ["JetStreamSink", "encode", "message_id"]
