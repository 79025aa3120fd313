"""The tracker interface the engine calls, and the trackers it can build by name.

A tracker gives the detections of one camera's frames track ids that persist across
frames. The engine builds one per camera (``tracker:`` in the camera config, default
``bytetrack``, with the camera's ``tracker_settings:``) and calls :meth:`Tracker.update`
once per inferred frame, in stream-time order; frames may be unevenly spaced (motion
gating, drops), so a tracker must use ``ts`` for its motion model rather than count
frames.

Trackers are plugins: ``gridsight_register_trackers`` returns classes with a ``name``, a
``Settings`` model (pydantic, validated from the camera's ``tracker_settings:``) and a
constructor taking that settings object; ``gridsight.core.plugins.trackers`` registers
them here. ByteTrack is built in.

Example (a camera's YAML)::

    tracker: bytetrack
    tracker_settings: {high_thresh: 0.4, lost_buffer_s: 4}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from gridsight.core.errors import ConfigError

if TYPE_CHECKING:
    from gridsight.core.detection.detections import Detections


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


TrackerFactory = Callable[[Any], Tracker]


def _bytetrack_settings() -> type[BaseModel]:
    from gridsight.core.tracking.bytetrack import TrackerSettings

    return TrackerSettings


def _bytetrack(settings: Any) -> Tracker:
    from gridsight.core.tracking.bytetrack import ByteTracker

    return ByteTracker(settings)


#: Trackers by the name a camera config uses: ``(factory, settings model)``.
TRACKERS: dict[str, tuple[TrackerFactory, Callable[[], type[BaseModel]]]] = {
    "bytetrack": (_bytetrack, _bytetrack_settings)
}


def register_tracker(cls: type) -> None:
    """Make a plugin's tracker class buildable by its ``name`` (idempotent).

    Raises:
        ConfigError: the class has no ``name``/``Settings``, or another class has the name.
    """
    name = getattr(cls, "name", None)
    settings = getattr(cls, "Settings", None)
    if not isinstance(name, str) or not (
        isinstance(settings, type) and issubclass(settings, BaseModel)
    ):
        raise ConfigError(
            f"tracker class {cls!r} needs a 'name' string and a 'Settings' pydantic model"
        )
    known = TRACKERS.get(name)
    if known is not None and known[0] is not cls:
        raise ConfigError(f"two trackers are called {name!r}")
    TRACKERS[name] = (cls, lambda: settings)


def tracker_settings(
    name: str, base: Any = None, overrides: Mapping[str, Any] | None = None
) -> Any:
    """The settings object of tracker ``name``: ``base`` (the engine's, for ByteTrack)
    with a camera's ``overrides`` over it, validated by the tracker's ``Settings``.

    Raises:
        ConfigError: an unknown tracker, or overrides its Settings refuses (naming them).
    """
    entry = TRACKERS.get(name)
    if entry is None:
        raise ConfigError(
            f"unknown tracker {name!r}; known trackers: {', '.join(sorted(TRACKERS))} "
            "(a plugin adds one with gridsight_register_trackers)"
        )
    model = entry[1]()
    start = base.model_dump() if isinstance(base, model) else {}
    try:
        return model.model_validate({**start, **dict(overrides or {})})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"tracker_settings for {name!r}: {problems}") from exc


def make_tracker(
    name: str, settings: Any = None, overrides: Mapping[str, Any] | None = None
) -> Tracker:
    """A new tracker called ``name``, with ``settings`` and a camera's ``overrides``.

    Raises:
        ConfigError: ``name`` is not a known tracker (the message lists them), or the
            overrides do not fit its settings model.
    """
    if name not in TRACKERS or overrides or not isinstance(settings, TRACKERS[name][1]()):
        settings = tracker_settings(name, settings, overrides)
    return TRACKERS[name][0](settings)
