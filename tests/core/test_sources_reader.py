"""CameraReader: sampling, drop-oldest queue, reconnect/backoff, failures, pacing, threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from gridsight.core.errors import ConfigError, SourceError
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sources import (
    BackoffPolicy,
    CameraReader,
    CameraState,
    FrameQueue,
    SourceOptions,
)
from gridsight.core.sources.base import Frame, FrameSource
from gridsight.plugins import sources as sources_plugin

from .test_sources import damage_middle

IMG = np.zeros((4, 4, 3), np.uint8)


class FakeClock:
    """A monotonic clock that only moves when slept on (or advanced by a fake source)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


class FakeSource(FrameSource):
    """``n`` frames at ``fps``; a live one may take ``read_cost`` clock seconds per read."""

    def __init__(
        self,
        n: int,
        fps: float = 10.0,
        *,
        live: bool = False,
        clock: FakeClock | None = None,
        read_cost: float = 0.0,
        on_read: Callable[[int], None] | None = None,
        fail_at: int | None = None,
    ) -> None:
        self.uri = "fake://"
        self.n, self._fps, self.live = n, fps, live
        self.clock, self.read_cost, self.on_read, self.fail_at = clock, read_cost, on_read, fail_at
        self.i = 0
        self.closed = False

    def read(self) -> Frame | None:
        if self.on_read is not None:
            self.on_read(self.i)
        if self.fail_at is not None and self.i == self.fail_at:
            raise OSError("decoder crashed")
        if self.i >= self.n:
            return None
        if self.clock is not None:
            self.clock.t += self.read_cost
        f = Frame(image=IMG, ts=self.i / self._fps, index=self.i)
        self.i += 1
        return f

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def is_live(self) -> bool:
        return self.live

    def close(self) -> None:
        self.closed = True


def drain(q: FrameQueue[Frame]) -> list[Frame]:
    out = []
    while (f := q.get_nowait()) is not None:
        out.append(f)
    return out


def make_reader(opener, clock: FakeClock, **kw) -> CameraReader:
    kw.setdefault("queue_size", 10_000)
    return CameraReader("cam-1", "fake://", opener=opener, clock=clock, sleep=clock.sleep, **kw)


# ---------------------------------------------------------------------- sampling
def test_samples_a_30fps_source_to_5fps():
    clock = FakeClock()
    reader = make_reader(
        lambda u, o: FakeSource(300, fps=30.0), clock, options=SourceOptions(fps=5)
    )
    reader.run()
    frames = drain(reader.queue)
    assert len(frames) == 50
    assert [f.ts for f in frames] == pytest.approx([k * 0.2 for k in range(50)])
    assert [f.index for f in frames] == list(range(50))
    s = reader.snapshot()
    assert (s.state, s.frames_read, s.frames_skipped, s.frames_queued) == (
        CameraState.ENDED,
        300,
        250,
        50,
    )
    assert reader.queue.closed


# ---------------------------------------------------------------------- drop-oldest
def test_drop_oldest_under_a_slow_consumer_counts_exactly():
    clock = FakeClock()
    q: FrameQueue[Frame] = FrameQueue(2)
    consumed: list[int] = []

    def consumer_takes_one_every_fourth_read(i: int) -> None:
        if 0 < i < 40 and i % 4 == 0:
            f = q.get_nowait()
            assert f is not None
            consumed.append(f.index)

    reader = make_reader(
        lambda u, o: FakeSource(40, on_read=consumer_takes_one_every_fourth_read),
        clock,
        queue=q,
    )
    reader.run()
    # Frames 0-3 into a queue of 2: two evicted. Then per block of four: the consumer
    # takes the oldest waiting frame, four puts evict three.
    assert consumed == list(range(2, 38, 4))
    assert [f.index for f in drain(q)] == [38, 39]
    snap = reader.snapshot()
    assert snap.queue_drops == q.drops == 2 + 9 * 3
    assert snap.frames_queued == 40 == len(consumed) + snap.queue_drops + 2


def test_queue_conservation_with_a_real_thread_and_slow_consumer():
    q: FrameQueue[Frame] = FrameQueue(3)
    reader = CameraReader("cam-t", "fake://", opener=lambda u, o: FakeSource(500), queue=q)
    reader.start()
    got = []
    while (f := q.get(timeout=5.0)) is not None:
        got.append(f.index)
        time.sleep(0.0005)
    assert reader.stop(timeout=5.0)
    snap = reader.snapshot()
    assert snap.state is CameraState.ENDED
    assert got == sorted(got) and got[-1] == 499  # FIFO; the newest frame is never dropped
    assert snap.frames_queued == 500 == len(got) + snap.queue_drops


def test_backpressure_loses_nothing_for_files():
    q: FrameQueue[Frame] = FrameQueue(2)
    reader = CameraReader(
        "cam-b", "fake://", opener=lambda u, o: FakeSource(200), queue=q, backpressure=True
    )
    reader.start()
    got = []
    while (f := q.get(timeout=5.0)) is not None:
        got.append(f.index)
        if len(got) % 50 == 0:
            time.sleep(0.01)
    assert reader.stop(timeout=5.0)
    assert got == list(range(200)) and q.drops == 0


def test_backpressure_never_blocks_a_live_source():
    clock = FakeClock()
    reader = make_reader(
        lambda u, o: FakeSource(20, live=True, clock=clock, read_cost=0.1),
        clock,
        queue_size=3,
        backpressure=True,
        backoff=BackoffPolicy(max_attempts=1),
    )
    reader.run()  # a live stream that ends is "lost": with max_attempts=1 it is given up
    assert reader.snapshot().queue_drops == 17


# ---------------------------------------------------------------------- reconnect
class FlakyOpener:
    """Fails ``fails`` times with SourceError, then opens ``make()``."""

    def __init__(self, fails: int, make: Callable[[], FrameSource]) -> None:
        self.fails, self.make, self.calls = fails, make, 0

    def __call__(self, uri: str, options: SourceOptions) -> FrameSource:
        self.calls += 1
        if self.calls <= self.fails:
            raise SourceError(f"camera offline (try {self.calls})")
        return self.make()


def test_reconnect_with_exponential_backoff_on_a_fake_clock():
    clock = FakeClock()
    opener = FlakyOpener(4, lambda: FakeSource(5))
    backoff = BackoffPolicy(initial_s=0.5, max_s=3.0, factor=2.0, jitter=0.0)
    reader = make_reader(opener, clock, backoff=backoff)
    reader.run()
    assert clock.sleeps == [0.5, 1.0, 2.0, 3.0]  # capped at max_s
    snap = reader.snapshot()
    assert (snap.state, snap.errors, snap.frames_queued, snap.attempt) == (
        CameraState.ENDED,
        4,
        5,
        0,
    )
    assert snap.last_error == "camera offline (try 4)"


def test_backoff_jitter_is_seeded_and_bounded():
    def schedule(seed: int) -> list[float]:
        clock = FakeClock()
        backoff = BackoffPolicy(initial_s=1.0, max_s=100.0, jitter=0.25)
        make_reader(FlakyOpener(6, lambda: FakeSource(1)), clock, backoff=backoff, seed=seed).run()
        return clock.sleeps

    a, b, c = schedule(7), schedule(7), schedule(8)
    assert a == b and a != c
    for k, s in enumerate(a):
        assert 0.75 * 2**k <= s <= 1.25 * 2**k


def test_gives_up_after_max_attempts():
    clock = FakeClock()
    opener = FlakyOpener(100, lambda: FakeSource(1))
    reader = make_reader(opener, clock, backoff=BackoffPolicy(max_attempts=3, jitter=0.0))
    reader.run()
    snap = reader.snapshot()
    assert (snap.state, snap.errors, opener.calls, len(clock.sleeps)) == (
        CameraState.FAILED,
        3,
        3,
        2,
    )
    assert reader.queue.closed


def sequence_opener(*sources: FrameSource) -> Callable[[str, SourceOptions], FrameSource]:
    """Opens the given sources in turn, then fails as an offline camera does."""
    it = iter(sources)

    def opener(uri: str, options: SourceOptions) -> FrameSource:
        for src in it:
            return src
        raise SourceError("camera offline")

    return opener


def test_live_stream_drop_reconnects_with_continuous_timestamps():
    clock = FakeClock()
    opener = sequence_opener(
        *(FakeSource(10, fps=10.0, live=True, clock=clock, read_cost=0.1) for _ in range(3))
    )
    backoff = BackoffPolicy(initial_s=2.0, jitter=0.0, max_attempts=3)
    reader = make_reader(opener, clock, backoff=backoff)
    reader.run()
    frames = drain(reader.queue)
    snap = reader.snapshot()
    # Three connections of 10 frames, each ending in a drop; then two failed opens and
    # the third consecutive failure gives the camera up.
    assert (snap.frames_queued, snap.reconnects, snap.errors, snap.state) == (
        30,
        2,
        5,
        CameraState.FAILED,
    )
    assert clock.sleeps == [2.0, 2.0, 2.0, 4.0]
    ts = np.array([f.ts for f in frames])
    assert np.all(np.diff(ts) > 0)
    # Stream time goes on through the outage: the 2 s the camera was away show.
    assert ts[10] - ts[9] == pytest.approx(2.0)
    assert ts[20] - ts[19] == pytest.approx(2.0)
    assert snap.last_error == "camera offline"


def test_no_frame_timeout_reconnects_a_stalled_live_stream():
    clock = FakeClock()
    opener = sequence_opener(
        FakeSource(3, live=True, clock=clock, read_cost=15.0),  # every read takes 15 s
        FakeSource(4, live=True, clock=clock, read_cost=0.1),
    )
    reader = make_reader(
        opener,
        clock,
        options=SourceOptions(no_frame_timeout_s=10.0),
        backoff=BackoffPolicy(max_attempts=2, jitter=0.0),
    )
    reader.run()
    snap = reader.snapshot()
    assert snap.reconnects == 1
    assert snap.frames_queued == 4  # the stalled connection's late frame is not trusted
    # The stall, the second stream's end, then a failed open.
    assert snap.errors == 3 and snap.state is CameraState.FAILED


def test_read_exception_on_a_file_resumes_without_duplicates():
    clock = FakeClock()
    sources = iter([FakeSource(10, fail_at=6), FakeSource(10)])
    reader = make_reader(lambda u, o: next(sources), clock, backoff=BackoffPolicy(jitter=0.0))
    reader.run()
    assert [round(f.ts * 10) for f in drain(reader.queue)] == list(range(10))
    snap = reader.snapshot()
    assert (snap.state, snap.errors, snap.reconnects) == (CameraState.ENDED, 1, 1)
    assert "decoder crashed" in (snap.last_error or "")


# ---------------------------------------------------------------------- real files
def _pm():
    return build_plugin_manager(load_entrypoints=False, plugins=[sources_plugin])


def test_missing_file_is_reported_and_retried_without_raising(tmp_path):
    missing = tmp_path / "gone.mp4"
    reader = CameraReader(
        "cam-missing",
        str(missing),
        pm=_pm(),
        backoff=BackoffPolicy(initial_s=0.01, max_s=0.02),
    )
    reader.start()
    deadline = time.monotonic() + 5.0
    while reader.snapshot().errors < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    snap = reader.snapshot()
    assert snap.state in (CameraState.RECONNECTING, CameraState.CONNECTING)
    assert snap.errors >= 3 and str(missing) in (snap.last_error or "")
    assert reader.stop(timeout=5.0)
    assert reader.snapshot().state is CameraState.STOPPED


def test_corrupt_file_fails_after_retries(tmp_path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00garbage" * 512)
    reader = CameraReader(
        "cam-bad",
        str(bad),
        pm=_pm(),
        backoff=BackoffPolicy(initial_s=0.0, max_s=0.0, max_attempts=2),
    )
    reader.run()
    snap = reader.snapshot()
    assert snap.state is CameraState.FAILED and snap.errors == 2
    assert "cannot open video file" in (snap.last_error or "") and "x.mp4" in (
        snap.last_error or ""
    )


def test_file_damaged_part_way_ends_with_the_problem_shown(tmp_path):
    path = tmp_path / "mid.mp4"
    damage_middle(path)
    reader = CameraReader("cam-mid", str(path), pm=_pm(), queue_size=64, backpressure=True)
    reader.run()
    snap = reader.snapshot()
    assert snap.state is CameraState.ENDED and snap.errors == 1
    assert 0 < snap.frames_queued < 36
    assert "mid.mp4 stopped at frame" in (snap.last_error or "")


def test_real_file_through_a_reader_thread(tmp_path: Path):
    path = tmp_path / "cam a.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20.0, (32, 24))
    for i in range(30):
        writer.write(np.full((24, 32, 3), 8 * i, np.uint8))
    writer.release()
    reader = CameraReader(
        "cam-a", path.as_uri(), SourceOptions(fps=5), pm=_pm(), queue_size=64, backpressure=True
    )
    reader.start()
    frames = []
    while (f := reader.queue.get(timeout=5.0)) is not None:
        frames.append(f)
    assert reader.stop()
    assert [f.ts for f in frames] == pytest.approx([0.2 * k for k in range(8)])
    assert [round(float(f.image.mean()) / 8) for f in frames] == list(range(0, 30, 4))
    assert reader.snapshot().state is CameraState.ENDED


# ---------------------------------------------------------------------- pacing, stop, stats
def test_realtime_pacing_sleeps_to_the_stream_clock():
    clock = FakeClock()
    reader = make_reader(
        lambda u, o: FakeSource(11, fps=10.0), clock, options=SourceOptions(realtime=True)
    )
    reader.run()
    assert sum(clock.sleeps) == pytest.approx(1.0)
    assert len(drain(reader.queue)) == 11


def test_fast_mode_never_sleeps():
    clock = FakeClock()
    reader = make_reader(lambda u, o: FakeSource(11, fps=10.0), clock)
    reader.run()
    assert clock.sleeps == []


def test_stop_interrupts_a_long_backoff():
    reader = CameraReader(
        "cam-s",
        "fake://",
        opener=FlakyOpener(10**6, lambda: FakeSource(1)),
        backoff=BackoffPolicy(initial_s=60.0, max_s=60.0),
    )
    reader.start()
    deadline = time.monotonic() + 30.0
    while reader.snapshot().errors < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert reader.snapshot().errors >= 1, "the reader never failed into its backoff"
    # Well under the 60 s backoff, with room for a loaded machine.
    assert reader.stop(timeout=30.0)


def test_other_cameras_do_not_wait_for_a_dead_one():
    gate = threading.Event()

    class Hanging(FakeSource):
        def read(self) -> Frame | None:
            gate.wait(10.0)  # a native read stuck on a dead network camera
            return None

    dead = CameraReader("dead", "fake://", opener=lambda u, o: Hanging(1, live=True))
    alive = CameraReader("alive", "fake://", opener=lambda u, o: FakeSource(30), queue_size=64)
    dead.start()
    alive.start()
    got = []
    while (f := alive.queue.get(timeout=5.0)) is not None:
        got.append(f)
    assert len(got) == 30 and alive.stop()
    deadline = time.monotonic() + 5.0
    while dead.snapshot().state is not CameraState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.005)
    assert dead.snapshot().state is CameraState.RUNNING  # stuck inside read, reported running
    assert not dead.stop(timeout=0.05)  # stuck in read: reported, not waited for
    gate.set()
    assert dead.stop(timeout=5.0)


def test_snapshot_as_dict_and_backoff_validation():
    reader = CameraReader("c", "fake://", opener=lambda u, o: FakeSource(2))
    d = reader.snapshot().as_dict()
    assert d["state"] == "starting" and d["camera_id"] == "c" and d["queue_drops"] == 0
    with pytest.raises(ConfigError):
        BackoffPolicy(initial_s=5.0, max_s=1.0)
    with pytest.raises(ConfigError):
        BackoffPolicy(jitter=1.5)
    with pytest.raises(ConfigError):
        FrameQueue(0)
