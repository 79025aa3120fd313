"""Motion-gated inference: which frames of a camera go to the detector.

A :class:`MotionGate` sits between a camera's reader and the batcher. Every frame goes
through the camera's :class:`~gridsight.core.engine.motion.MotionDetector` (cheap); the
frame is *admitted* (queued for the detector) when

* the scene moves, or moved less than ``hold_s`` ago (so an object that just stopped is
  seen settling), at the camera's full fps; or
* the scene is still but the last admitted frame is ``interval`` seconds old: the
  *keep-alive*, so that stationary hazards (a car parked in the fire lane, a stall) stay
  tracked and their rules' dwell clocks keep running.

Every other frame is *gated*: dropped before the batcher, counted, and never shown to the
tracker or the rules, which therefore see frames at uneven spacing. Both are made for
that: the tracker predicts motion from each frame's real time step, and the hazard
lifecycles measure gaps in stream time between the frames they do see.

The keep-alive has to respect the rules. A lifecycle tolerates a gap in its condition of
at most ``max_gap_s`` while it confirms a hazard; a rule's dwell timer likewise. A
keep-alive longer than that would reset every confirmation of a person standing still
at the water's edge. So while the camera's tracker holds any track (or a rule has a
hazard pending or open, which the engine reports through :attr:`MotionGate.tracking`),
the interval is ``min(keepalive_s, min max_gap_s - 1/fps)`` over the camera's rules (at
least one frame): the next admitted frame then always falls within ``max_gap_s`` of the
last one, even with a frame's worth of timestamp jitter. With nothing tracked and no
hazard pending, a hazard can only appear through motion, and the plain ``keepalive_s``
applies. ``end_after_s`` is never shorter than ``max_gap_s`` (the rule settings check
it), so an open event is never ended by the gating alone.

:class:`GatedQueue` is the camera's frame queue with the gate in front: the reader's
``put`` runs the motion test on the reader's own thread (OpenCV releases the GIL), so
the engine thread never pays for it; the engine thread's ``get`` makes the decision,
with the tracker's state as it is then.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from gridsight.core.config.camera import MotionConfig
from gridsight.core.engine.motion import MotionDetector, MotionResult
from gridsight.core.errors import ConfigError
from gridsight.core.sources.base import Frame
from gridsight.core.sources.frame_queue import FrameQueue

# Slack in stream-time comparisons (timestamps computed as index / fps).
_EPS = 1e-6


def guard_interval(keepalive_s: float, max_gaps: list[float], fps: float) -> float:
    """The keep-alive while something is tracked: within every rule's ``max_gap_s``.

    Args:
        keepalive_s: the camera's still-scene keep-alive.
        max_gaps: ``max_gap_s`` of each of the camera's rules (empty: no rule).
        fps: the camera's frame rate (one frame of jitter is kept in hand).

    Returns:
        ``min(keepalive_s, min(max_gaps) - 1/fps)``, at least one frame interval.

    Example:
        >>> guard_interval(2.0, [1.0, 20.0], fps=5.0)
        0.8
        >>> guard_interval(2.0, [20.0], fps=5.0)
        2.0
    """
    frame = 1.0 / fps if fps > 0 else 0.0
    limit = min(max_gaps) - frame if max_gaps else math.inf
    return round(max(frame, min(keepalive_s, limit)), 9)


class MotionGate:
    """Decides, frame by frame, whether one camera's frame is inferred.

    Args:
        config: the camera's ``motion:`` settings.
        frame_size: ``(width, height)`` of the camera's frames (its ``resolution``).
        fps: the camera's sampling rate.
        max_gaps: ``max_gap_s`` of the camera's rules (see :func:`guard_interval`).

    Attributes:
        tracking: set by the engine (:meth:`finished`) after each inferred frame: True
            while the camera's tracker holds a track or a rule has a hazard pending or
            open. While an admitted frame has not come back yet, the gate assumes the
            shorter keep-alive: in ``--fast`` runs the batcher takes several frames of a
            camera at once, before the first of them has been tracked.
        pass_from_ts: frames at or after this stream time always pass (the engine sets
            it to a ``--fast`` run's duration, so the frame that ends the camera's run
            reaches it).
    """

    def __init__(
        self,
        config: MotionConfig,
        frame_size: tuple[int, int],
        fps: float,
        max_gaps: list[float],
    ) -> None:
        if not fps > 0:
            raise ConfigError(f"motion gate needs the camera's fps > 0, got {fps}")
        self.config = config
        self.detector = MotionDetector(config, frame_size)
        self.fps = float(fps)
        self.still_interval = float(config.keepalive_s)
        self.tracked_interval = guard_interval(config.keepalive_s, max_gaps, fps)
        self.tracking = False
        self.pass_from_ts = math.inf
        self._lock = threading.Lock()
        self._last_admit: float | None = None
        self._last_motion = -math.inf
        self._last_ts = -math.inf
        self._last_in_run = -math.inf
        self._in_flight = 0
        self.admitted = 0
        self.gated = 0
        self.motion_frames = 0
        self.keepalive_frames = 0

    @property
    def interval(self) -> float:
        """The keep-alive in force now: the shorter one while something is tracked, or
        while an admitted frame is still on its way through the detector (its tracker
        state is not known yet)."""
        if self.tracking or self._in_flight > 0:
            return self.tracked_interval
        return self.still_interval

    def finished(self, tracking: bool) -> None:
        """The engine ran the rules on an admitted frame; ``tracking`` is the camera's
        state after it (a track held, or a hazard pending or open)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self.tracking = tracking

    @property
    def last_ts(self) -> float:
        """Stream time of the last frame before ``pass_from_ts`` the gate saw, admitted
        or not (-inf before the first)."""
        return self._last_in_run

    def observe(self, frame: Frame) -> MotionResult:
        """The motion test on ``frame`` (the reader's thread)."""
        result = self.detector.update(frame.image)
        if result.moving and not result.relit:
            with self._lock:
                self.motion_frames += 1
        return result

    def decide(self, ts: float, motion: MotionResult) -> bool:
        """Whether the frame at ``ts``, whose motion test found ``motion``, is inferred.

        Called by the consumer (the engine thread, through :class:`GatedQueue`), so the
        keep-alive in force is the one for the tracker's state *now*, not when the
        reader queued the frame. A frame that (re)started the background (the first
        one, a lighting change) is inferred once, without the ``hold_s`` of real motion:
        48 cameras starting together then cost one frame each, not ``hold_s`` of frames.
        """
        with self._lock:
            if ts < self._last_ts:
                # A restarted clock (a re-opened stream): start the schedule again.
                self._last_admit = None
                self._last_motion = -math.inf
            self._last_ts = ts
            if ts < self.pass_from_ts - _EPS:
                self._last_in_run = ts
            if motion.moving and not motion.relit:
                self._last_motion = ts
            in_motion = ts - self._last_motion <= self.config.hold_s + _EPS
            due = (
                motion.relit
                or self._last_admit is None
                or ts - self._last_admit >= self.interval - _EPS
            )
            if in_motion or due or ts >= self.pass_from_ts - _EPS:
                if not in_motion:
                    self.keepalive_frames += 1
                self._last_admit = ts
                self.admitted += 1
                self._in_flight += 1
                return True
            self.gated += 1
            return False

    def admit(self, frame: Frame) -> bool:
        """:meth:`observe` then :meth:`decide`, on one thread (tests, simple callers)."""
        return self.decide(frame.ts, self.observe(frame))

    def counts(self) -> tuple[int, int]:
        """``(admitted, gated)`` so far (thread-safe)."""
        with self._lock:
            return self.admitted, self.gated


class GatedQueue(FrameQueue[Frame]):
    """A camera's drop-oldest frame queue with the motion gate in front of the detector.

    ``put`` (the reader's thread) runs the motion test and queues the frame with its
    result; ``get``/``get_nowait`` (the engine's thread) decide, frame by frame, and
    hand out only the frames to infer, counting the others as gated. Deciding at the
    consumer matters: the keep-alive depends on whether the camera's tracker holds a
    track, which only the engine thread knows, and a reader that decided for itself
    could run seconds of stream time ahead of it (``--fast``). Undecided frames take
    queue space, so a back-pressured reader stays at most ``maxsize`` frames ahead.

    Args:
        gate: the camera's :class:`MotionGate`.
        maxsize: capacity (see :class:`FrameQueue`).
    """

    def __init__(self, gate: MotionGate, maxsize: int = 4) -> None:
        super().__init__(maxsize)
        self.gate = gate
        self._moving: deque[MotionResult] = deque()

    def put(self, item: Frame) -> int:
        """Run the motion test and queue ``item``, evicting the oldest frame if full.

        Returns:
            The number of queued frames evicted to make room (0 or 1).
        """
        moving = self.gate.observe(item)
        dropped = 0
        with self._cond:
            while len(self._items) >= self.maxsize:
                self._items.popleft()
                self._moving.popleft()
                dropped += 1
            self._items.append(item)
            self._moving.append(moving)
            self.puts += 1
            self.drops += dropped
            self._cond.notify_all()
        if self.bell is not None:
            self.bell.ring()
        return dropped

    def _next_admitted(self) -> Frame | None:
        """Pop frames (lock held) until one is admitted; None when none is left."""
        while self._items:
            frame = self._items.popleft()
            moving = self._moving.popleft()
            self._cond.notify_all()
            if self.gate.decide(frame.ts, moving):
                return frame
        return None

    def get_nowait(self) -> Frame | None:
        """The oldest frame the gate admits, or None (the gated ones are discarded)."""
        with self._cond:
            return self._next_admitted()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The oldest admitted frame, waiting up to ``timeout`` (None: until one or close)."""
        with self._cond:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                frame = self._next_admitted()
                if frame is not None or self._closed:
                    return frame
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
