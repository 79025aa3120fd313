"""One camera inside the engine: its reader, tracker, zones and hazard rules.

The engine batches frames of all cameras through one detector; everything after the
detector is per camera and lives here: :class:`CameraPipeline` takes one frame's role
detections, tracks them, runs the camera's hazard rules and returns the events.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gridsight.core.config.camera import MotionConfig
from gridsight.core.detection.detections import Detections
from gridsight.core.engine.gate import MotionGate
from gridsight.core.events import HazardEvent
from gridsight.core.hazards.lifecycle import State
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import zones_from_config
from gridsight.core.sources.reader import CameraReader
from gridsight.core.sources.state import CameraState
from gridsight.core.tracking.base import Tracker, make_tracker
from gridsight.core.tracking.bytetrack import TrackerSettings

if TYPE_CHECKING:
    from gridsight.core.config.camera import CameraConfig
    from gridsight.core.hazards.rule import HazardRule


@dataclass(slots=True)
class FrameResult:
    """What one frame of one camera produced after the detector."""

    tracked: Detections
    events: list[HazardEvent]


class CameraPipeline:
    """Tracker + hazard rules of one camera, fed frame by frame in stream-time order.

    Args:
        config: the camera's config.
        rule_classes: ``{hazard id: HazardRule class}`` from the plugins.
        tracker_settings: the tracker's parameters (ByteTrack's defaults if None); the
            tracker itself is the camera config's ``tracker``.

    Raises:
        ConfigError: the camera's zones or hazard settings are invalid (names camera
            and field).
    """

    def __init__(
        self,
        config: CameraConfig,
        rule_classes: Mapping[str, type[HazardRule]],
        tracker_settings: TrackerSettings | None = None,
    ) -> None:
        self.config = config
        self.id = config.id
        self.zone_dicts: list[dict[str, Any]] = config.zone_dicts()
        self.hazards = CameraHazards.from_config(
            config.id,
            config.village,
            config.grid,
            zones_from_config(self.zone_dicts),
            config.hazards,
            rule_classes,
            anchor=config.anchor,
        )
        settings = tracker_settings or TrackerSettings()
        if settings.frame_interval_s is None:
            # One motion step is one frame at the camera's fps, however the frames it
            # gets are spaced: a motion-gated camera skips the frames of still scenes,
            # and a median of recent intervals would drift with the gating.
            settings = settings.model_copy(update={"frame_interval_s": 1.0 / config.fps})
        self.tracker: Tracker = make_tracker(config.tracker, settings, config.tracker_settings)
        self.reader: CameraReader | None = None
        #: Stream time of the last frame processed (-inf before the first).
        self.last_ts = -math.inf
        #: The camera reached the run's duration: its frames are no longer wanted.
        self.done = False
        self.frames = 0
        #: Frames in a row on which this camera's pipeline raised (engine isolation).
        self.failures = 0
        #: 0 for the camera's first pipeline in a run, k for the k-th that replaced it
        #: (set by the engine; it keeps event ids unique within the run).
        self.generation = 0
        #: The motion gate in front of the detector (motion-gated runs only).
        self.gate: MotionGate | None = None

    def make_gate(self) -> MotionGate:
        """The camera's :class:`MotionGate` (its ``motion:`` block, or the defaults).

        The keep-alive while something is tracked stays within every rule's
        ``max_gap_s`` (see :mod:`gridsight.core.engine.gate`).
        """
        gaps = [float(lc.settings.max_gap_s) for lc in self.hazards.lifecycles.values()]
        self.gate = MotionGate(
            self.config.motion or MotionConfig(), self.config.resolution, self.config.fps, gaps
        )
        return self.gate

    def _update_gate(self) -> None:
        """Tell the gate whether anything is tracked or a hazard is pending or open."""
        gate = self.gate
        if gate is None:
            return
        gate.finished(
            self.tracker.track_count > 0
            or any(lc.state is not State.IDLE for lc in self.hazards.lifecycles.values())
        )

    def track(self, ts: float, detections: Detections) -> Detections:
        """Assign track ids to one frame's detections (``ts`` gives the motion model dt)."""
        return self.tracker.update(detections, ts)

    def rules(
        self, ts: float, tracked: Detections, wall_time: datetime | None = None
    ) -> list[HazardEvent]:
        """Run the hazard rules on one frame of tracked detections.

        ``wall_time`` is the frame's (``Frame.wall_time``): what calendar rules and the
        events' ``wall_time`` read.
        """
        self.last_ts = ts
        self.frames += 1
        events = self.hazards.process(ts, tracked, wall_time)
        self._update_gate()
        return events

    def skip(self, ts: float, wall_time: datetime | None = None) -> list[HazardEvent]:
        """A frame the tracker failed on: every rule's lifecycle counts it as unjudged."""
        self.last_ts = ts
        self.frames += 1
        events = self.hazards.skip(ts, wall_time)
        self._update_gate()
        return events

    def flush(self) -> list[HazardEvent]:
        """End the camera's open events at its last frame (end of the run)."""
        if self.frames == 0:
            return []
        # Frames after the last inferred one may have been gated (a still scene): the
        # stream went on until the last frame the gate saw.
        last = self.last_ts
        if self.gate is not None and self.gate.last_ts > last:
            last = self.gate.last_ts
        return self.hazards.flush(last)

    def state(self) -> CameraState:
        """The camera's state for the status table (its reader's, in the same words)."""
        if self.done:
            return CameraState.ENDED
        if self.reader is None:
            return CameraState.STARTING
        return self.reader.snapshot().state
