"""A bounded frame queue that drops the oldest frame when full, and counts every drop.

Live cameras must never wait for inference: when the consumer falls behind, the stalest
frame is the least useful one, so it goes. A producer that may wait (files and synthetic
cameras run ``--fast``) calls :meth:`FrameQueue.wait_for_space` first, so no frame of a
file is lost just because the detector is slower than the decoder.

Several queues can share one :class:`Doorbell`, which lets a consumer (the batcher)
sleep until *any* camera has a frame instead of polling each queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

from gridsight.core.errors import ConfigError

T = TypeVar("T")


class Doorbell:
    """A condition variable that producers ring and one consumer waits on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0

    def ring(self) -> None:
        """Wake the waiting consumer."""
        with self._cond:
            self._rings += 1
            self._cond.notify_all()

    def wait(self, timeout: float | None, seen: int) -> int:
        """Wait until rung after ``seen`` (a value from :attr:`rings`) or the timeout."""
        with self._cond:
            if self._rings == seen:
                self._cond.wait(timeout)
            return self._rings

    @property
    def rings(self) -> int:
        """How many times the bell was rung; pass it to :meth:`wait` to avoid lost wakeups."""
        with self._cond:
            return self._rings


class FrameQueue(Generic[T]):
    """Bounded FIFO; a non-blocking ``put`` on a full queue evicts the oldest item.

    Args:
        maxsize: capacity (at least 1).
        bell: optional shared doorbell rung on every put and on close.

    Raises:
        ConfigError: ``maxsize`` is smaller than 1.
    """

    def __init__(self, maxsize: int = 4, bell: Doorbell | None = None) -> None:
        if maxsize < 1:
            raise ConfigError(f"frame queue size must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.bell = bell
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.puts = 0
        self.drops = 0

    def put(self, item: T) -> int:
        """Add ``item``, evicting the oldest item if the queue is full.

        Returns:
            The number of items dropped to make room (0 or 1).
        """
        dropped = 0
        with self._cond:
            while len(self._items) >= self.maxsize:
                self._items.popleft()
                dropped += 1
            self._items.append(item)
            self.puts += 1
            self.drops += dropped
            self._cond.notify_all()
        if self.bell is not None:
            self.bell.ring()
        return dropped

    def wait_for_space(self, timeout: float | None = None) -> bool:
        """Wait until a ``put`` would not evict (back-pressure); False on timeout or close."""
        with self._cond:
            deadline = None if timeout is None else time.monotonic() + timeout
            while len(self._items) >= self.maxsize and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return len(self._items) < self.maxsize

    def get_nowait(self) -> T | None:
        """The oldest item, or None if the queue is empty."""
        with self._cond:
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, waiting up to ``timeout`` (None: until an item or close)."""
        with self._cond:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._items and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """Mark the producer finished; blocked producers and consumers wake up."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self.bell is not None:
            self.bell.ring()

    @property
    def closed(self) -> bool:
        """True once the producer has finished."""
        with self._cond:
            return self._closed

    @property
    def exhausted(self) -> bool:
        """Closed and empty: nothing will ever come out again."""
        with self._cond:
            return self._closed and not self._items

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
