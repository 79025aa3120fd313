"""Batcher: size and wait limits, round-robin fairness, wakeups, end of streams."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.engine.batcher import Batcher, BatchItem
from gridsight.core.errors import ConfigError
from gridsight.core.sources import FrameQueue
from gridsight.core.sources.base import Frame

IMG = np.zeros((2, 2, 3), np.uint8)


def frame(i: int) -> Frame:
    return Frame(IMG, ts=i / 10, index=i)


def fill(b: Batcher, camera_id: str, n: int, size: int = 1000) -> FrameQueue[Frame]:
    q = b.queue(camera_id, maxsize=size)
    for i in range(n):
        q.put(frame(i))
    return q


def ids(batch: list[BatchItem]) -> list[tuple[str, int]]:
    return [(it.camera_id, it.frame.index) for it in batch]


def test_full_batch_is_returned_without_waiting():
    b = Batcher(max_batch=4, max_wait_s=60.0)
    fill(b, "a", 10)
    assert ids(b.next_batch(timeout=1.0)) == [("a", 0), ("a", 1), ("a", 2), ("a", 3)]
    assert b.stats.partial_batches == 0


def test_partial_batch_after_max_wait():
    b = Batcher(max_batch=8, max_wait_s=0.01)
    fill(b, "a", 2)
    fill(b, "b", 1)
    assert ids(b.next_batch(timeout=1.0)) == [("a", 0), ("b", 0), ("a", 1)]
    assert b.stats.partial_batches == 1 and b.stats.frames == 3


def test_timeout_without_frames_returns_empty():
    b = Batcher(max_batch=2, max_wait_s=0.0)
    b.queue("a")
    assert b.next_batch(timeout=0.01) == []
    assert b.stats.batches == 0


def test_one_fast_camera_cannot_starve_the_others():
    b = Batcher(max_batch=4, max_wait_s=0.0)
    fill(b, "fast", 100)
    fill(b, "slow-1", 2)
    fill(b, "slow-2", 2)
    first = ids(b.next_batch(timeout=1.0))
    assert {c for c, _ in first} == {"fast", "slow-1", "slow-2"}
    assert [c for c, _ in first].count("fast") == 2


def test_cursor_rotates_the_head_of_the_batch():
    b = Batcher(max_batch=2, max_wait_s=0.0)
    for c in "abcde":
        fill(b, c, 10)
    heads = [ids(b.next_batch(timeout=1.0)) for _ in range(3)]
    assert heads == [
        [("a", 0), ("b", 0)],
        [("c", 0), ("d", 0)],
        [("e", 0), ("a", 1)],
    ]


def test_wakes_up_when_a_frame_arrives_from_another_thread():
    b = Batcher(max_batch=2, max_wait_s=0.0)
    q = b.queue("a")
    t = threading.Timer(0.05, lambda: q.put(frame(7)))
    t.start()
    batch = b.next_batch(timeout=10.0)
    t.join()
    assert ids(batch) == [("a", 7)]


def test_exhausted_cameras_end_iteration():
    b = Batcher(max_batch=3, max_wait_s=10.0)
    qa = fill(b, "a", 4)
    qb = fill(b, "b", 1)
    qa.close()
    qb.close()
    batches = list(b)  # closed queues: partial batches come back at once, then the end
    assert [len(x) for x in batches] == [3, 2]
    assert b.exhausted and b.next_batch() == []


def test_close_wakes_a_waiting_batcher():
    b = Batcher(max_batch=2, max_wait_s=0.0)
    q = b.queue("a")
    got: list[list] = []
    returned = threading.Event()

    def wait() -> None:  # no timeout: only the close can end this wait
        got.append(b.next_batch(timeout=None))
        returned.set()

    threading.Thread(target=wait, daemon=True).start()
    threading.Timer(0.05, q.close).start()  # most likely once the batcher waits
    assert returned.wait(60.0), "the batcher slept through its last queue's close"
    assert got == [[]] and b.exhausted


def test_registration_errors_and_unregister():
    with pytest.raises(ConfigError):
        Batcher(0, 0.1)
    with pytest.raises(ConfigError):
        Batcher(1, -1.0)
    b = Batcher(2, 0.0)
    fill(b, "a", 3)
    with pytest.raises(ConfigError, match="'a'"):
        b.queue("a")
    b.unregister("a")
    assert b.camera_ids == [] and b.next_batch(timeout=0.0) == []


@settings(max_examples=80, deadline=None)
@given(
    counts=st.lists(st.integers(0, 12), min_size=1, max_size=6),
    max_batch=st.integers(1, 7),
)
def test_every_frame_once_in_order_and_fair(counts, max_batch):
    b = Batcher(max_batch=max_batch, max_wait_s=0.0)
    names = [f"c{k}" for k in range(len(counts))]
    for name, n in zip(names, counts, strict=True):
        fill(b, name, n).close()
    remaining = dict(zip(names, counts, strict=True))
    seen: dict[str, list[int]] = {n: [] for n in names}
    for batch in b:
        assert 1 <= len(batch) <= max_batch
        per_cam = {n: 0 for n in names}
        for item in batch:
            seen[item.camera_id].append(item.frame.index)
            per_cam[item.camera_id] += 1
        for n in names:
            remaining[n] -= per_cam[n]
        # Round-robin: cameras that still have frames got at least as many slots in
        # this batch as any other camera, minus one.
        busiest = max(per_cam.values())
        assert all(per_cam[n] >= busiest - 1 for n in names if remaining[n] > 0)
    assert seen == {n: list(range(c)) for n, c in zip(names, counts, strict=True)}
