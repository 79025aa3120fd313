"""One thread per camera: open, sample, pace, queue, and reconnect with backoff.

A :class:`CameraReader` owns everything that can go wrong with one camera, so that a
missing file, a corrupt video or a dead RTSP stream is reported in that camera's status
and retried, and the other cameras never wait for it.

Example:
    >>> reader = CameraReader("cam-1", "/data/cam1.mp4", SourceOptions(fps=5))  # doctest: +SKIP
    >>> reader.start()                                                          # doctest: +SKIP
    >>> frame = reader.queue.get(timeout=1.0)                                   # doctest: +SKIP
    >>> reader.stop()                                                           # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pluggy

from gridsight.core.errors import ConfigError, GridsightError
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions, capture_clock
from gridsight.core.sources.frame_queue import FrameQueue
from gridsight.core.sources.registry import open_source
from gridsight.core.sources.sampler import FpsSampler
from gridsight.core.sources.state import CameraState

log = logging.getLogger("gridsight.sources")

Opener = Callable[[str, SourceOptions], FrameSource]

# Behind the stream clock by more than this, realtime pacing restarts from "now" rather
# than replaying the backlog at full speed.
_MAX_PACING_LAG_S = 1.0
# How long a back-pressured put waits before re-checking for stop().
_SPACE_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Exponential backoff with jitter between attempts to (re)open a source.

    Attributes:
        initial_s: wait before the first retry.
        max_s: the wait never exceeds this (jitter included).
        factor: growth per consecutive failure.
        jitter: relative spread, e.g. 0.2 draws the wait from +-20 % of the nominal
            value, so twelve cameras behind one dead switch do not retry in lockstep.
        max_attempts: consecutive failures before the camera is given up (state
            ``failed``); None retries for ever. A connection that delivers a frame
            resets the count, so a flaky stream is reconnected for as long as it runs.
    """

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.max_s < self.initial_s or self.factor < 1:
            raise ConfigError(
                f"backoff needs 0 <= initial_s <= max_s and factor >= 1, got "
                f"initial_s={self.initial_s}, max_s={self.max_s}, factor={self.factor}"
            )
        if not 0 <= self.jitter < 1:
            raise ConfigError(f"backoff jitter must be in [0, 1), got {self.jitter}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ConfigError(f"backoff max_attempts must be >= 1 or None, got {self.max_attempts}")

    def nominal(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1-based), without jitter."""
        return float(min(self.max_s, self.initial_s * self.factor ** max(0, attempt - 1)))

    def delay(self, attempt: int, rng: np.random.Generator) -> float:
        """The jittered wait before retry number ``attempt``, within ``[0, max_s]``."""
        spread = 1.0 + self.jitter * (2.0 * float(rng.random()) - 1.0)
        return float(min(self.max_s, self.nominal(attempt) * spread))


@dataclass(frozen=True, slots=True)
class ReaderStats:
    """A consistent snapshot of one camera reader's counters (for status and metrics).

    Attributes:
        camera_id: the camera.
        state: see :class:`CameraState`.
        frames_read: frames the source delivered.
        frames_skipped: frames dropped by the reader's own fps sampling.
        frames_queued: frames put on the queue.
        queue_drops: frames evicted from the full queue (never processed).
        queue_len: frames waiting now.
        reconnects: successful re-opens after a failure or a lost stream.
        errors: failures to open or read.
        attempt: consecutive failures so far (0 while healthy).
        last_error: the most recent error message, or None.
        last_ts: stream time of the newest queued frame, or None.
        fps: measured rate of queued frames over the last few seconds.
    """

    camera_id: str
    state: CameraState
    frames_read: int
    frames_skipped: int
    frames_queued: int
    queue_drops: int
    queue_len: int
    reconnects: int
    errors: int
    attempt: int
    last_error: str | None
    last_ts: float | None
    fps: float

    def as_dict(self) -> dict[str, Any]:
        """Plain values (state as its string) for JSON, tables and metrics."""
        out = asdict(self)
        out["state"] = str(self.state)
        return out


_Outcome = Literal["ended", "lost", "stopped"]


class CameraReader:
    """Reads one camera on its own thread into a bounded, drop-oldest queue.

    Args:
        camera_id: the camera's id (names the thread and the errors).
        uri: source URI, opened through :func:`open_source` (or ``opener``).
        options: target fps, realtime pacing, loop, no-frame timeout; passed to the
            source too, so a source that can sample itself (cheaper) does.
        pm: plugin manager for ``open_source`` (required unless ``opener`` is given).
        opener: replaces ``open_source`` (tests, or an engine with its own registry).
        queue: the output queue (e.g. one registered with a batcher); else a new one.
        queue_size: capacity of the new queue.
        backoff: retry policy for failed opens and lost streams.
        backpressure: for files and synthetic sources, wait for queue space instead of
            dropping the oldest frame (``--fast`` over files); live sources always drop.
        seed: seeds the backoff jitter (reproducible retry schedules).
        clock: monotonic clock (injectable for tests).
        sleep: ``sleep(seconds)``; the default wakes early on :meth:`stop`.
    """

    def __init__(
        self,
        camera_id: str,
        uri: str,
        options: SourceOptions | None = None,
        *,
        pm: pluggy.PluginManager | None = None,
        opener: Opener | None = None,
        queue: FrameQueue[Frame] | None = None,
        queue_size: int = 4,
        backoff: BackoffPolicy | None = None,
        backpressure: bool = False,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.uri = uri
        self.options = options or SourceOptions()
        if pm is None and opener is None:
            raise TypeError("CameraReader needs the plugin manager (pm=) or an opener")
        self._pm = pm
        self._opener = opener
        self.queue: FrameQueue[Frame] = queue if queue is not None else FrameQueue(queue_size)
        self.backoff = backoff or BackoffPolicy()
        self.backpressure = backpressure
        self._rng = np.random.default_rng(seed)
        self._clock = clock
        self._stop_event = threading.Event()
        self._sleep: Callable[[float], Any] = sleep or self._stop_event.wait
        self._sampler = FpsSampler(self.options.fps)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Counters, guarded by _lock.
        self._state = CameraState.CONNECTING
        self._frames_read = 0
        self._frames_skipped = 0
        self._frames_queued = 0
        self._reconnects = 0
        self._errors = 0
        self._attempt = 0
        self._last_error: str | None = None
        self._last_ts: float | None = None
        self._recent: deque[float] = deque(maxlen=32)
        # Stream-clock bookkeeping (reader thread only).
        self._ts_offset = 0.0
        self._last_wall: float | None = None
        self._out_index = 0
        self._native_size: tuple[int, int] | None = None  # (w, h) of the last connection

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Start the reader thread (a daemon: a stuck ``read`` never blocks exit)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self.run, name=f"gridsight-reader-{self.camera_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to finish and wait up to ``timeout`` s; True if it finished.

        A source blocked inside a native ``read`` cannot be interrupted; its thread is
        left to finish on its own (it is a daemon) and False is returned.
        """
        self._stop_event.set()
        self.queue.close()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop_event.is_set()

    def snapshot(self) -> ReaderStats:
        """Thread-safe copy of the counters."""
        with self._lock:
            recent = list(self._recent)
            fps = 0.0
            if len(recent) >= 2 and recent[-1] > recent[0]:
                fps = (len(recent) - 1) / (recent[-1] - recent[0])
            return ReaderStats(
                camera_id=self.camera_id,
                state=self._state,
                frames_read=self._frames_read,
                frames_skipped=self._frames_skipped,
                frames_queued=self._frames_queued,
                queue_drops=self.queue.drops,
                queue_len=len(self.queue),
                reconnects=self._reconnects,
                errors=self._errors,
                attempt=self._attempt,
                last_error=self._last_error,
                last_ts=self._last_ts,
                fps=fps,
            )

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        """The reader loop; runs until end of stream, giving up, or :meth:`stop`.

        Never raises: every failure becomes an error count, ``last_error`` and a retry.
        Callable directly (without a thread) for deterministic tests.
        """
        opened_before = False
        try:
            while not self.stopped:
                source = self._try_open(opened_before)
                if source is None:
                    if self._give_up_or_wait():
                        return
                    continue
                if opened_before:
                    with self._lock:
                        self._reconnects += 1
                opened_before = True
                outcome = self._pump_safely(source)
                if outcome == "ended":
                    self._set_state(CameraState.ENDED)
                    return
                if outcome == "stopped" or self._give_up_or_wait():
                    return
        finally:
            with self._lock:
                if self._state not in (CameraState.ENDED, CameraState.FAILED):
                    self._state = CameraState.STOPPED
            self.queue.close()

    def _try_open(self, reconnecting: bool) -> FrameSource | None:
        if not reconnecting:
            with self._lock:
                reconnecting = self._attempt > 0
        self._set_state(CameraState.RECONNECTING if reconnecting else CameraState.CONNECTING)
        try:
            if self._opener is not None:
                return self._opener(self.uri, self.options)
            return open_source(self.uri, self.options, self._pm)  # type: ignore[arg-type]
        except Exception as exc:
            self._record_error(exc, "open")
            return None

    def _give_up_or_wait(self) -> bool:
        """After a failure: True if the camera is given up (or stopped), else back off."""
        with self._lock:
            self._attempt += 1
            attempt = self._attempt
        limit = self.backoff.max_attempts
        if limit is not None and attempt >= limit:
            self._set_state(CameraState.FAILED)
            log.error("camera %s: giving up after %d failed attempts", self.camera_id, attempt)
            return True
        self._set_state(CameraState.RECONNECTING)
        self._sleep(self.backoff.delay(attempt, self._rng))
        return self.stopped

    def _pump_safely(self, source: FrameSource) -> _Outcome:
        try:
            return self._pump(source)
        except Exception as exc:
            self._record_error(exc, "read")
            return "lost"
        finally:
            try:
                source.close()
            except Exception as exc:  # a failing close must not kill the reader
                log.warning("camera %s: closing the source failed: %r", self.camera_id, exc)

    def _pump(self, source: FrameSource) -> _Outcome:
        live = source.is_live
        if live and self._last_ts is not None and self._last_wall is not None:
            # A new live connection restarts its clock at 0: continue from where the
            # last one stopped, plus the time the camera was away.
            self._ts_offset = self._last_ts + (self._clock() - self._last_wall)
        resume_after = None if live else self._last_ts
        pace_anchor: tuple[float, float] | None = None
        waited_since = self._clock()
        self._check_native_size(source)
        self._set_state(CameraState.RUNNING)
        while not self.stopped:
            frame = source.read()
            now = self._clock()
            if frame is None:
                problem = source.end_problem
                if not live:
                    if problem is not None:
                        # A file damaged part-way: nothing to retry, but say so.
                        self._record_error(None, "read", problem)
                    return "ended"
                waited = now - waited_since
                if problem is None and waited >= self.options.no_frame_timeout_s:
                    # FFmpeg's read timeout fired: the connection is up, the frames are not.
                    problem = self._no_frame_message(waited)
                self._record_error(None, "read", problem or "the stream stopped delivering frames")
                return "lost"
            if live and now - waited_since >= self.options.no_frame_timeout_s:
                # A frozen stream: OpenCV hands back its last frame once the read times out.
                self._record_error(None, "read", self._no_frame_message(now - waited_since))
                return "lost"
            waited_since = now
            ts = frame.ts + self._ts_offset if live else frame.ts
            with self._lock:
                self._frames_read += 1
                self._attempt = 0
            if resume_after is not None and ts <= resume_after:
                continue  # a file re-opened after a failure: skip what was already sent
            if not self._sampler.keep(ts):
                with self._lock:
                    self._frames_skipped += 1
                continue
            if self.options.realtime and not live:
                pace_anchor = self._pace(ts, pace_anchor)
            if self.backpressure and not live:
                while not self.stopped and not self.queue.wait_for_space(_SPACE_POLL_S):
                    pass
                if self.stopped:
                    return "stopped"
            # The frame's wall time travels with it; a source plugin that sets none gets
            # the time it was read (the closest thing to a capture time we have).
            taken = frame.wall_time if frame.wall_time is not None else capture_clock()
            out = Frame(image=frame.image, ts=ts, index=self._out_index, wall_time=taken)
            self._out_index += 1
            self.queue.put(out)
            wall = self._clock()
            with self._lock:
                self._frames_queued += 1
                self._last_ts = ts
                self._recent.append(wall)
            self._last_wall = wall
        return "stopped"

    def _pace(self, ts: float, anchor: tuple[float, float] | None) -> tuple[float, float]:
        """Sleep until the wall clock reaches the frame's stream time (``--realtime``)."""
        now = self._clock()
        if anchor is None:
            return (now, ts)
        wall0, ts0 = anchor
        wait = wall0 + (ts - ts0) - now
        if wait > 0:
            self._sleep(wait)
            return anchor
        if -wait > _MAX_PACING_LAG_S:
            return (now, ts)
        return anchor

    def _no_frame_message(self, waited: float) -> str:
        return (
            f"no frame for {waited:.1f} s "
            f"(no_frame_timeout_s={self.options.no_frame_timeout_s:g}); reconnecting"
        )

    def _check_native_size(self, source: FrameSource) -> None:
        """Report a stream that comes back at another resolution than before.

        OpenCV's FFmpeg capture scales a resolution change mid-stream to the size the
        connection opened at, so the change is only visible on the next connection.
        """
        size = getattr(source, "native_size", None)
        if size is None:
            return
        previous, self._native_size = self._native_size, size
        if previous is not None and previous != size:
            self._record_error(
                None,
                "open",
                f"stream resolution changed from {previous[0]}x{previous[1]} to "
                f"{size[0]}x{size[1]}; frames are scaled to the configured resolution, "
                "check that the camera's zones still fit",
            )

    # ------------------------------------------------------------------ bookkeeping
    def _set_state(self, state: CameraState) -> None:
        with self._lock:
            self._state = state

    def _record_error(self, exc: BaseException | None, during: str, message: str = "") -> None:
        if exc is not None:
            message = str(exc) if isinstance(exc, GridsightError) else f"{exc!r}"
        with self._lock:
            self._errors += 1
            self._last_error = message
        log.warning("camera %s: %s failed: %s", self.camera_id, during, message)
