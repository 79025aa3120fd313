"""The hazard rule interface.

A rule looks at one camera's tracked detections frame by frame and says whether its
hazard is present *now* (an :class:`Observation`). The per-camera, per-hazard lifecycle
(``gridsight.core.hazards.lifecycle``) turns that stream of observations into start / update /
end events with confirmation, gap tolerance, cooldown and end delay.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from gridsight.core.config.base import StrictModel
from gridsight.core.detection.detections import Detections

if TYPE_CHECKING:
    from gridsight.core.hazards.zones import Zone


class RuleSettings(StrictModel):
    """Base of every rule's settings model: strict (a typo is an error), immutable, and
    carrying the event lifecycle's timing (all in seconds of stream time).

    Every rule's settings model derives from this and may set its own defaults; a
    camera's config may override any of them per hazard.

    Attributes:
        confirm_s: how long the condition must hold before ``start`` (default 2.0).
            0 starts on the first active frame.
        max_gap_s: the longest gap in the condition tolerated while confirming (default
            1.0). A longer gap restarts the confirmation.
        end_after_s: the event ends once the condition has been absent for more than this
            (default 10.0). Must be at least ``max_gap_s``, so that a gap tolerated while
            confirming never ends a started event.
        cooldown_s: after an ``end``, no new ``start`` for this long (default 60.0).
        update_every_s: periodic ``update`` interval while active (default 60.0); None or 0
            turns periodic updates off (updates for newly involved tracks still happen).
    """

    confirm_s: float = Field(default=2.0, ge=0.0)
    max_gap_s: float = Field(default=1.0, ge=0.0)
    end_after_s: float = Field(default=10.0, ge=0.0)
    cooldown_s: float = Field(default=60.0, ge=0.0)
    update_every_s: float | None = Field(default=60.0, ge=0.0)

    @model_validator(mode="after")
    def _end_after_covers_gap(self) -> RuleSettings:
        if self.end_after_s < self.max_gap_s:
            raise ValueError(
                f"end_after_s ({self.end_after_s}) must be >= max_gap_s ({self.max_gap_s}): "
                "a gap tolerated while confirming must not end a started event"
            )
        return self


@dataclass(frozen=True, slots=True)
class Observation:
    """What a rule sees in one frame.

    Attributes:
        active: the hazard condition holds in this frame (before confirmation/dwell logic
            that the lifecycle applies, unless the rule measures dwell itself).
        confidence: strength of the evidence in [0, 1] (e.g. the best detection score).
        boxes: ``(k, 4)`` boxes of the objects involved.
        track_ids: track ids of the objects involved.
        detail: rule-specific numbers for the event's ``extra`` (e.g. occupancy).
    """

    active: bool
    confidence: float = 0.0
    boxes: np.ndarray | None = None
    track_ids: tuple[int, ...] = ()
    detail: Mapping[str, Any] | None = None

    @classmethod
    def inactive(cls) -> Observation:
        return cls(active=False)

    @classmethod
    def involving(
        cls,
        detections: Detections,
        idx: npt.NDArray[np.intp],
        detail: Mapping[str, Any],
        confidence: float | None = None,
    ) -> Observation:
        """An active observation of the detections at indices ``idx`` (not empty).

        ``confidence`` defaults to the best score among them.
        """
        tids = detections.tracker_id
        return cls(
            active=True,
            confidence=float(detections.confidence[idx].max())
            if confidence is None
            else confidence,
            boxes=detections.xyxy[idx],
            track_ids=() if tids is None else tuple(int(t) for t in tids[idx]),
            detail=detail,
        )


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """When a frame was taken: what a rule may know about it besides its detections.

    Attributes:
        ts: stream time in seconds (what ``observe`` gets as ``ts``).
        wall_time: the frame's timezone-aware wall-clock time (``Frame.wall_time``: a
            live camera's capture clock, a synthetic world's clock, a recording's
            ``start_time`` plus ``ts``), never the clock of the machine running the
            rule. Calendar rules (allowed hours, night-only hazards) read this.
    """

    ts: float
    wall_time: datetime


class HazardRule(ABC):
    """A hazard rule for one camera.

    The runner calls :meth:`observe_frame` once per frame, in stream-time order. Its
    default calls :meth:`observe` with the frame's stream time, so a rule that only
    measures durations implements ``observe(ts, detections)`` and nothing else (every
    rule written before frames carried their wall time keeps working unchanged).

    A rule that needs the time of day or the date (a calendar rule, e.g. ``vending``'s
    allowed hours) overrides :meth:`observe_frame` and reads ``frame.wall_time``, the
    wall-clock time the *frame* was taken at: never ``datetime.now()``, which would make
    a recording or a synthetic stream alert or not depending on when it is processed.

    Class attributes:
        hazard: the hazard id (unique across plugins).
        description: one line for ``gridsight plugins``.
        Settings: the settings model, validated from the camera's ``hazards.<id>`` config.
        required_zones: names of zones (from the camera config) the settings refer to.
    """

    hazard: ClassVar[str]
    description: ClassVar[str] = ""
    Settings: ClassVar[type[RuleSettings]] = RuleSettings

    def __init__(self, settings: RuleSettings, zones: Mapping[str, Zone]) -> None:
        self.settings = settings
        self.zones = zones

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        """The zone names these settings refer to (checked against the camera's zones)."""
        return ()

    @abstractmethod
    def observe(self, ts: float, detections: Detections) -> Observation:
        """Evaluate one frame of tracked detections (``class_id`` holds role ids)."""

    def observe_frame(self, frame: FrameInfo, detections: Detections) -> Observation:
        """Evaluate one frame knowing its wall time; the runner calls this.

        Default: ``observe(frame.ts, detections)``. Override it in calendar rules.
        """
        return self.observe(frame.ts, detections)
