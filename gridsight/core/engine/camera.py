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

from gridsight.core.detection.detections import Detections
from gridsight.core.events import HazardEvent
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import zones_from_config
from gridsight.core.sources.reader import CameraReader
from gridsight.core.sources.state import CameraState
from gridsight.core.tracking.bytetrack import ByteTracker, TrackerSettings

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
        tracker_settings: ByteTrack parameters (defaults if None).

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
        self.tracker = ByteTracker(tracker_settings or TrackerSettings())
        self.reader: CameraReader | None = None
        #: Stream time of the last frame processed (-inf before the first).
        self.last_ts = -math.inf
        #: The camera reached the run's duration: its frames are no longer wanted.
        self.done = False
        self.frames = 0

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
        return self.hazards.process(ts, tracked, wall_time)

    def skip(self, ts: float, wall_time: datetime | None = None) -> list[HazardEvent]:
        """A frame the tracker failed on: every rule's lifecycle counts it as unjudged."""
        self.last_ts = ts
        self.frames += 1
        return self.hazards.skip(ts, wall_time)

    def flush(self) -> list[HazardEvent]:
        """End the camera's open events at its last frame (end of the run)."""
        if self.frames == 0:
            return []
        return self.hazards.flush(self.last_ts)

    def state(self) -> CameraState:
        """The camera's state for the status table (its reader's, in the same words)."""
        if self.done:
            return CameraState.ENDED
        if self.reader is None:
            return CameraState.STARTING
        return self.reader.snapshot().state
