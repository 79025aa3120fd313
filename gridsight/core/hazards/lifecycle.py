"""The hazard event lifecycle: from per-frame observations to start / update / end events.

A rule says, frame by frame, whether its hazard condition holds *now* (an
:class:`~gridsight.core.hazards.rule.Observation`). People want one alert per real hazard, not
one per frame, and not a storm of alerts when a detector flickers. :class:`HazardLifecycle`
is the per-camera, per-hazard state machine that does this:

* **confirmation** — the condition must hold for ``confirm_s`` before ``start``;
* **gap tolerance** — while confirming, a gap in the condition (missed detections or
  dropped frames) of at most ``max_gap_s`` does not reset the confirmation clock;
* **updates** — while active, an ``update`` every ``update_every_s`` and whenever a track
  id joins the event that was not part of it before (e.g. a second person at the water);
* **end** — once no active observation has been seen for more than ``end_after_s``;
* **cooldown** — after an ``end``, no new ``start`` for ``cooldown_s``.

The machine is keyed on the (camera, hazard) *condition*, never on track ids: a tracker
that switches the id of a parked car every 30 s changes the event's ``track_ids`` but the
event stays one event with one id.

Time is the stream time ``ts`` of the frames (seconds); gaps are measured between active
observations, so frames that never arrive and frames where the condition is absent count
the same. A camera that delivers no frames for longer than ``end_after_s`` therefore ends
its open events at its next frame: nobody can vouch that the hazard went on meanwhile.

Event ids are ``<camera>:<hazard>:<start ts in ms>:<n>`` where ``n`` counts this
lifecycle's events from 1; they are unique per camera and hazard within a run and
reproducible for a replayed stream. Every ``update`` and ``end`` carries its start's id.

What the events carry:

* ``wall_time``: the wall-clock time of the frame that caused the event, as the caller
  passes it from the frame (``Frame.wall_time``: capture clock, synthetic world clock,
  recording start + ``ts``); the injected ``clock`` is only a fallback for callers that
  pass none. An ``end`` at the end of a stream carries the last frame's wall time.

* ``ts``: the stream time of the frame that caused the event. For an ``end`` that is the
  frame at which the absence exceeded ``end_after_s`` (``extra.last_seen_ts`` says when
  the hazard was last seen), so events of one camera come in stream-time order.
* ``confidence``: the best observation confidence since the confirmation began.
* ``boxes`` / ``track_ids``: those of the current observation; an ``end`` repeats the
  last active observation's boxes and lists every track id the event involved (a
  tracker's id switches show up here).
* ``extra``: the rule's ``detail`` plus ``first_seen_ts`` (start), ``reason``
  (``periodic`` | ``new_tracks`` for updates, ``cleared`` | ``end_of_stream`` |
  ``rule_failed`` for ends, see :meth:`HazardLifecycle.fail`),
  ``last_seen_ts``, ``duration_s`` and ``updates`` (end).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from gridsight.core.events import HazardEvent, Phase
from gridsight.core.hazards.rule import Observation, RuleSettings
from gridsight.core.jsonutil import jsonable

Clock = Callable[[], datetime]

# Slack in time comparisons, so that frames exactly max_gap_s apart (0.2 s at 5 fps, which
# is 0.20000000000000018 in binary) count as "at most max_gap_s" apart.
_EPS = 1e-6


def utc_now() -> datetime:
    """The default wall clock: the current time in UTC."""
    return datetime.now(UTC)


#: The lifecycle's timing fields live on :class:`RuleSettings` itself, so every rule's
#: settings model has them; this name is kept for code that reads better with it.
LifecycleSettings = RuleSettings


class State(enum.Enum):
    """Where a lifecycle is: nothing seen, confirming, or an event is open."""

    IDLE = "idle"
    PENDING = "pending"
    ACTIVE = "active"


def _boxes(obs: Observation) -> tuple[tuple[float, float, float, float], ...]:
    if obs.boxes is None:
        return ()
    arr = np.asarray(obs.boxes, dtype=np.float64).reshape(-1, 4)
    return tuple((float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in arr)


class HazardLifecycle:
    """The event state machine of one hazard on one camera.

    Args:
        camera: camera id (goes into events and ids).
        hazard: hazard id.
        settings: the timing (any :class:`LifecycleSettings`, usually a rule's settings).
        village: village id of the camera (copied into events).
        grid: grid id of the camera (copied into events).
        clock: wall clock for ``wall_time`` when a frame comes without one (default
            :func:`utc_now`); the engine always passes the frame's own.

    Example:
        >>> lc = HazardLifecycle("cam", "near_water", LifecycleSettings(confirm_s=1))
        >>> [e.phase for t in (0.0, 0.5, 1.0) for e in lc.step(t, Observation(True, 0.9))]
        ['start']
    """

    def __init__(
        self,
        camera: str,
        hazard: str,
        settings: LifecycleSettings,
        *,
        village: str = "",
        grid: str = "",
        clock: Clock = utc_now,
    ) -> None:
        self.camera = camera
        self.hazard = hazard
        self.settings = settings
        self.village = village
        self.grid = grid
        self.clock = clock
        self.state = State.IDLE
        self._count = 0
        self._first_seen = 0.0  # start of the current confirmation / event
        self._last_seen = 0.0  # last active observation
        self._last_ts: float | None = None
        self._cooldown_until = float("-inf")
        self._max_conf = 0.0
        # Open event (valid while ACTIVE)
        self._event_id = ""
        self._start_ts = 0.0
        self._last_emit_ts = 0.0
        self._tracks: set[int] = set()
        self._updates = 0
        self._last_obs = Observation.inactive()
        # Wall time of the last frame seen and its stream time (None: none given yet).
        self._wall: datetime | None = None
        self._wall_ts = 0.0

    # ------------------------------------------------------------------ public API
    @property
    def event_id(self) -> str | None:
        """Id of the open event, or None when no event is open."""
        return self._event_id if self.state is State.ACTIVE else None

    def step(
        self, ts: float, obs: Observation, wall_time: datetime | None = None
    ) -> list[HazardEvent]:
        """Feed one frame's observation; return the events it causes.

        Usually zero or one event; an ``end`` and a new ``start`` when the hazard is back
        after a gap longer than ``end_after_s`` (and confirmation and cooldown allow).

        Args:
            ts: stream time of the frame in seconds, non-decreasing across calls.
            obs: what the rule saw in this frame.
            wall_time: the frame's wall-clock time (goes into the events' ``wall_time``).
        """
        self._last_ts = ts
        self._see_wall(ts, wall_time)
        events: list[HazardEvent] = []
        if self.state is State.ACTIVE:
            ended = self._step_active(ts, obs)
            if ended is None or not obs.active:
                return [] if ended is None else [ended]
            # The hazard is back after a gap long enough to end the event: it may confirm
            # again as a new occurrence (cooldown permitting), starting from this frame.
            events.append(ended)
        self._step_confirming(ts, obs)
        if (
            self.state is State.PENDING
            and obs.active
            and ts - self._first_seen >= self.settings.confirm_s - _EPS
            and ts >= self._cooldown_until - _EPS
        ):
            events.append(self._start(ts, obs))
        return events

    def fail(self, ts: float, wall_time: datetime | None = None) -> list[HazardEvent]:
        """A frame the rule could not judge (it raised): no observation at ``ts``.

        The frame counts as one without the condition, exactly like a dropped frame: it
        never confirms a start, a confirmation tolerates it up to ``max_gap_s``, and an
        open event ends once the hazard has not been seen for more than ``end_after_s``
        (``extra.reason = "rule_failed"`` when the frame that ends it is a failure). So
        a rule that keeps failing while its event is open ends that event cleanly, and
        every ``update``/``end`` still follows a written ``start``.
        """
        self._last_ts = ts
        self._see_wall(ts, wall_time)
        if self.state is State.ACTIVE:
            ended = self._step_active(ts, Observation.inactive(), end_reason="rule_failed")
            return [] if ended is None else [ended]
        self._step_confirming(ts, Observation.inactive())
        return []

    def flush(self, ts: float | None = None) -> list[HazardEvent]:
        """End an open event at the end of a stream (``extra.reason = "end_of_stream"``).

        Args:
            ts: stream time of the end; defaults to the last frame seen.
        """
        when = ts if ts is not None else (self._last_ts if self._last_ts is not None else 0.0)
        if self.state is State.ACTIVE:
            return [self._end(when, "end_of_stream")]
        self.state = State.IDLE
        return []

    # ------------------------------------------------------------------ wall time
    def _see_wall(self, ts: float, wall_time: datetime | None) -> None:
        if wall_time is not None:
            self._wall, self._wall_ts = wall_time, ts

    def _wall_at(self, ts: float) -> datetime:
        """The wall time at stream time ``ts``: the last frame's, advanced to ``ts``."""
        if self._wall is None:
            return self.clock()
        return self._wall + timedelta(seconds=ts - self._wall_ts)

    # ------------------------------------------------------------------ transitions
    def _step_confirming(self, ts: float, obs: Observation) -> None:
        """IDLE / PENDING: track the confirmation clock with gap tolerance."""
        if obs.active:
            if self.state is State.IDLE or ts - self._last_seen > self.settings.max_gap_s + _EPS:
                self.state = State.PENDING
                self._first_seen = ts
                self._max_conf = 0.0
            self._last_seen = ts
            self._max_conf = max(self._max_conf, float(obs.confidence))
        elif self.state is State.PENDING and ts - self._last_seen > self.settings.max_gap_s + _EPS:
            self.state = State.IDLE

    def _step_active(
        self, ts: float, obs: Observation, end_reason: str = "cleared"
    ) -> HazardEvent | None:
        """ACTIVE: the end (if the condition has been gone too long) or an update."""
        if ts - self._last_seen > self.settings.end_after_s + _EPS:
            return self._end(ts, end_reason)
        if not obs.active:
            return None
        self._last_seen = ts
        self._max_conf = max(self._max_conf, float(obs.confidence))
        self._last_obs = obs
        new_tracks = set(obs.track_ids) - self._tracks
        self._tracks |= new_tracks
        every = self.settings.update_every_s
        if new_tracks:
            return self._emit("update", ts, obs, {"reason": "new_tracks"})
        if every and ts - self._last_emit_ts >= every - _EPS:
            return self._emit("update", ts, obs, {"reason": "periodic"})
        return None

    def _start(self, ts: float, obs: Observation) -> HazardEvent:
        self._count += 1
        self.state = State.ACTIVE
        self._event_id = f"{self.camera}:{self.hazard}:{round(ts * 1000)}:{self._count}"
        self._start_ts = ts
        self._tracks = set(obs.track_ids)
        self._updates = 0
        self._last_obs = obs
        return self._emit("start", ts, obs, {"first_seen_ts": round(self._first_seen, 3)})

    def _end(self, ts: float, reason: str) -> HazardEvent:
        self.state = State.IDLE
        self._cooldown_until = ts + self.settings.cooldown_s
        last = self._last_obs
        extra = {
            "reason": reason,
            "first_seen_ts": round(self._first_seen, 3),
            "last_seen_ts": round(self._last_seen, 3),
            "duration_s": round(self._last_seen - self._first_seen, 3),
            "updates": self._updates,
        }
        return self._emit("end", ts, last, extra, track_ids=tuple(sorted(self._tracks)))

    def _emit(
        self,
        phase: Phase,
        ts: float,
        obs: Observation,
        extra: dict[str, Any],
        track_ids: tuple[int, ...] | None = None,
    ) -> HazardEvent:
        if phase == "update":
            self._updates += 1
        self._last_emit_ts = ts
        detail = jsonable(dict(obs.detail)) if obs.detail else {}
        detail.update(extra)
        return HazardEvent(
            id=self._event_id,
            camera=self.camera,
            hazard=self.hazard,
            phase=phase,
            ts=float(ts),
            wall_time=self._wall_at(ts).isoformat(timespec="milliseconds"),
            village=self.village,
            grid=self.grid,
            confidence=self._max_conf,
            boxes=_boxes(obs),
            track_ids=track_ids if track_ids is not None else tuple(int(t) for t in obs.track_ids),
            extra=detail,
        )
