"""Batching frames across cameras for one inference call.

The detector is fastest on a batch, but a camera must not wait long for the others: a
:class:`Batcher` takes frames from every camera's queue round-robin (so one fast camera
cannot starve the rest) into batches of at most ``max_batch``, and hands out a partial
batch once its first frame has waited ``max_wait_s``.

Example:
    >>> b = Batcher(max_batch=8, max_wait_s=0.02)
    >>> q = b.queue("cam-1")
    >>> import numpy as np
    >>> _ = q.put(Frame(np.zeros((2, 2, 3), np.uint8), ts=0.0, index=0))
    >>> [(item.camera_id, item.frame.index) for item in b.next_batch(timeout=0.1)]
    [('cam-1', 0)]
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gridsight.core.errors import ConfigError
from gridsight.core.sources.base import Frame
from gridsight.core.sources.frame_queue import Doorbell, FrameQueue


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One frame of a batch and the camera it came from."""

    camera_id: str
    frame: Frame


@dataclass(frozen=True, slots=True)
class BatcherStats:
    """Counters of a batcher: batches made, frames batched, batches cut short by the wait."""

    batches: int
    frames: int
    partial_batches: int

    @property
    def mean_batch(self) -> float:
        """Average frames per batch (0 before the first batch)."""
        return self.frames / self.batches if self.batches else 0.0


class Batcher:
    """Collects frames from many camera queues into batches.

    Args:
        max_batch: most frames per batch (the model's batch size).
        max_wait_s: once a batch has its first frame, wait at most this long for more
            before returning it partial. 0 returns whatever is ready at once.
        clock: monotonic clock (injectable).

    Raises:
        ConfigError: ``max_batch < 1`` or a negative/non-finite ``max_wait_s``.
    """

    def __init__(
        self,
        max_batch: int,
        max_wait_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1:
            raise ConfigError(f"batcher max_batch must be at least 1, got {max_batch}")
        if not math.isfinite(max_wait_s) or max_wait_s < 0:
            raise ConfigError(f"batcher max_wait_s must be >= 0 seconds, got {max_wait_s}")
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._bell = Doorbell()
        self._lock = threading.Lock()
        self._queues: dict[str, FrameQueue[Frame]] = {}
        self._cursor = 0
        self._batches = 0
        self._frames = 0
        self._partial = 0

    # ------------------------------------------------------------------ cameras
    def queue(self, camera_id: str, maxsize: int = 4) -> FrameQueue[Frame]:
        """A new drop-oldest queue for ``camera_id``, registered with this batcher."""
        q: FrameQueue[Frame] = FrameQueue(maxsize)
        self.register(camera_id, q)
        return q

    def register(self, camera_id: str, queue: FrameQueue[Frame]) -> None:
        """Take frames from ``queue`` (e.g. a :class:`CameraReader`'s) for ``camera_id``.

        Raises:
            ConfigError: the camera id is already registered.
        """
        with self._lock:
            if camera_id in self._queues:
                raise ConfigError(f"camera {camera_id!r} is registered twice with the batcher")
            queue.bell = self._bell
            self._queues[camera_id] = queue
        self._bell.ring()

    def unregister(self, camera_id: str) -> None:
        """Stop taking frames from a camera (frames still queued are discarded)."""
        with self._lock:
            queue = self._queues.pop(camera_id, None)
        if queue is not None:
            queue.bell = None

    @property
    def camera_ids(self) -> list[str]:
        """Registered cameras, in round-robin order."""
        with self._lock:
            return list(self._queues)

    @property
    def exhausted(self) -> bool:
        """True when every queue is closed and empty (no camera will deliver again)."""
        with self._lock:
            queues = list(self._queues.values())
        return all(q.exhausted for q in queues)

    @property
    def stats(self) -> BatcherStats:
        """Counters so far."""
        with self._lock:
            return BatcherStats(self._batches, self._frames, self._partial)

    # ------------------------------------------------------------------ batching
    def _collect(self, batch: list[BatchItem]) -> None:
        """Add ready frames round-robin, one per camera per pass, until full or none left."""
        with self._lock:
            items = list(self._queues.items())
            start = self._cursor
        n = len(items)
        if n == 0:
            return
        last_served = None
        progress = True
        while progress and len(batch) < self.max_batch:
            progress = False
            for k in range(n):
                idx = (start + k) % n
                camera_id, queue = items[idx]
                frame = queue.get_nowait()
                if frame is None:
                    continue
                batch.append(BatchItem(camera_id, frame))
                last_served = idx
                progress = True
                if len(batch) >= self.max_batch:
                    break
        if last_served is not None:
            with self._lock:
                # The next batch starts after the last camera served, so under load
                # every camera gets its turn at the head of a batch.
                self._cursor = (last_served + 1) % max(1, len(self._queues))

    def next_batch(self, timeout: float | None = None) -> list[BatchItem]:
        """The next batch (frames of each camera in stream order).

        Args:
            timeout: wait at most this long for the first frame (None: until a frame
                arrives or every camera has finished).

        Returns:
            1..max_batch items, or an empty list on timeout or when :attr:`exhausted`.
        """
        batch: list[BatchItem] = []
        started = self._clock()
        first_at: float | None = None
        while True:
            seen = self._bell.rings  # read before polling, so no ring is missed
            self._collect(batch)
            if len(batch) >= self.max_batch:
                return self._done(batch, partial=False)
            now = self._clock()
            if batch:
                if first_at is None:
                    first_at = now
                remaining: float | None = first_at + self.max_wait_s - now
                if (remaining is not None and remaining <= 0) or self.exhausted:
                    return self._done(batch, partial=True)
            else:
                if self.exhausted:
                    return batch
                remaining = None if timeout is None else started + timeout - now
                if remaining is not None and remaining <= 0:
                    return batch
            self._bell.wait(remaining, seen)

    def _done(self, batch: list[BatchItem], partial: bool) -> list[BatchItem]:
        with self._lock:
            self._batches += 1
            self._frames += len(batch)
            self._partial += int(partial)
        return batch

    def __iter__(self) -> Iterator[list[BatchItem]]:
        """Batches until every camera has finished (blocks while cameras are live)."""
        while True:
            batch = self.next_batch()
            if not batch:
                return
            yield batch
