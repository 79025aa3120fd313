"""Sampling a stream down to a target frame rate by its timestamps.

A camera may deliver 25 or 30 frames a second while the hazard rules need five. The
sampler decides, from each frame's stream time alone, whether to keep it, so it works
the same for files (exact timestamps), live streams (jittery timestamps) and synthetic
cameras, and it never needs a wall clock.

Example:
    >>> s = FpsSampler(5.0)
    >>> [i for i in range(25) if s.keep(i / 25)]
    [0, 5, 10, 15, 20]
"""

from __future__ import annotations

import math

from gridsight.core.errors import ConfigError

# Timestamps computed as index / fps and due times accumulated by repeated addition
# differ in the last bits; a microsecond of slack keeps an exact 25 -> 5 fps split exact.
_EPSILON_S = 1e-6


class FpsSampler:
    """Keep frames at (on average) ``target_fps``, judged by their stream timestamps.

    Due times advance by exactly one interval per kept frame, so the long-run rate is
    the target even when the source rate is not a multiple of it (30 -> 7 fps keeps 7
    frames a second, not 7.5 or 6). After a gap longer than one interval (a reconnect,
    dropped packets) the schedule restarts at the next frame instead of bursting to
    catch up, and a timestamp that goes backwards (a new stream) restarts it too.

    Args:
        target_fps: frames per second to keep; None or 0 keeps every frame.

    Raises:
        ConfigError: ``target_fps`` is negative or not finite.
    """

    def __init__(self, target_fps: float | None) -> None:
        if target_fps is not None and (not math.isfinite(target_fps) or target_fps < 0):
            raise ConfigError(
                f"target fps must be a positive number (or 0/None for every frame), "
                f"got {target_fps!r}; check the camera's `fps` in the config"
            )
        self.target_fps = target_fps or None
        self.interval = 1.0 / self.target_fps if self.target_fps else 0.0
        self._next_due: float | None = None
        self._last_ts: float | None = None
        self.kept = 0
        self.skipped = 0

    def reset(self) -> None:
        """Forget the schedule; the next frame is kept."""
        self._next_due = None
        self._last_ts = None

    def keep(self, ts: float) -> bool:
        """Whether the frame at stream time ``ts`` (seconds) should be kept."""
        if self.interval == 0.0:
            self.kept += 1
            return True
        if self._last_ts is not None and ts < self._last_ts:
            self._next_due = None
        self._last_ts = ts
        due = self._next_due
        if due is None or ts + _EPSILON_S >= due:
            if due is None or ts - due >= self.interval:
                # First frame, or a gap: restart the schedule at this frame.
                self._next_due = ts + self.interval
            else:
                self._next_due = due + self.interval
            self.kept += 1
            return True
        self.skipped += 1
        return False
