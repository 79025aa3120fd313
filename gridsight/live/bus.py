"""Fan-out of live messages (events, work-order changes, camera status) to SSE clients.

The engine thread, the outbox relay and request handlers publish from any thread;
each subscriber is an :class:`asyncio.Queue` on the server's event loop, filled through
``loop.call_soon_threadsafe``. A slow client never blocks a publisher: its queue is
bounded and, when full, the oldest message is dropped and counted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    """One live message.

    Attributes:
        id: increasing message number (the SSE ``id:``).
        topic: ``event`` | ``work_order`` | ``camera``.
        data: the JSON-able body.
        at: wall time it was published (epoch seconds).
    """

    id: int
    topic: str
    data: dict[str, Any]
    at: float

    def sse(self) -> str:
        """The message as one server-sent-events frame."""
        body = json.dumps({**self.data, "published_at": self.at}, ensure_ascii=False)
        return f"id: {self.id}\nevent: {self.topic}\ndata: {body}\n\n"


@dataclass(slots=True)
class Subscription:
    """One client's queue (and what it has lost to a full queue)."""

    queue: asyncio.Queue[Message | None]  # None: the bus closed, end the stream
    loop: asyncio.AbstractEventLoop
    topics: frozenset[str] | None = None
    dropped: int = 0
    closed: bool = field(default=False)

    def _offer(self, msg: Message) -> None:
        if self.closed:
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(msg)

    def _end(self) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class LiveBus:
    """Thread-safe publish, asyncio subscribe.

    Args:
        maxsize: messages buffered per subscriber.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.published = 0

    def publish(self, topic: str, data: dict[str, Any]) -> Message:
        """Send ``data`` under ``topic`` to every subscriber; safe from any thread."""
        msg = Message(next(self._ids), topic, data, time.time())
        with self._lock:
            subs = list(self._subs)
            self.published += 1
        for sub in subs:
            if sub.topics is not None and topic not in sub.topics:
                continue
            try:
                sub.loop.call_soon_threadsafe(sub._offer, msg)
            except RuntimeError:
                # The subscriber's loop has closed (server shutting down).
                sub.closed = True
        return msg

    def subscribe(self, topics: frozenset[str] | None = None) -> Subscription:
        """A new subscription on the running event loop (call from a coroutine)."""
        sub = Subscription(asyncio.Queue(self.maxsize), asyncio.get_running_loop(), topics)
        with self._lock:
            self._subs.append(sub)
        return sub

    def close(self) -> None:
        """End every subscriber's stream (the server is shutting down): each queue gets
        a final ``None``, so SSE responses finish instead of keeping the drain waiting."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub._end)
            except RuntimeError:
                sub.closed = True

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub``."""
        sub.closed = True
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        """How many clients are listening."""
        with self._lock:
            return len(self._subs)
