"""The tracker interface the engine calls, and the trackers it can build by name.

A tracker gives the detections of one camera's frames track ids that persist across
frames. The engine builds one per camera (``tracker:`` in the camera config, default
``bytetrack``) and calls :meth:`Tracker.update` once per inferred frame, in stream-time
order; frames may be unevenly spaced (motion gating, drops), so a tracker must use ``ts``
for its motion model rather than count frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from gridsight.core.errors import ConfigError

if TYPE_CHECKING:
    from gridsight.core.detection.detections import Detections
    from gridsight.core.tracking.bytetrack import TrackerSettings


@runtime_checkable
class Tracker(Protocol):
    """What the engine needs of a tracker (as Frigate's ``ObjectTracker`` base)."""

    def update(self, detections: Detections, ts: float | None = None) -> Detections:
        """The frame's detections with ``tracker_id`` set (a new object; the input is
        untouched). ``ts`` is the frame's stream time in seconds."""
        ...

    def reset(self) -> None:
        """Forget every track (e.g. after the camera reconnected)."""
        ...

    @property
    def track_count(self) -> int:
        """Tracks alive now (confirmed or not); 0 means nothing is being followed."""
        ...


TrackerFactory = Callable[["TrackerSettings | None"], Tracker]


def _bytetrack(settings: TrackerSettings | None) -> Tracker:
    from gridsight.core.tracking.bytetrack import ByteTracker

    return ByteTracker(settings)


#: Trackers by the name a camera config uses.
TRACKERS: dict[str, TrackerFactory] = {"bytetrack": _bytetrack}


def make_tracker(name: str, settings: TrackerSettings | None = None) -> Tracker:
    """A new tracker called ``name``.

    Raises:
        ConfigError: ``name`` is not a known tracker (the message lists them).
    """
    factory = TRACKERS.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown tracker {name!r}; known trackers: {', '.join(sorted(TRACKERS))}"
        )
    return factory(settings)
