"""``loitering``: a person staying inside a zone for longer than a dwell time.

Each person track whose anchor (the camera's ``anchor``, by default the feet) lies in the
zone gets an entry time; a track that leaves the zone, or is not seen, for more than
``leave_after_s`` loses it. The hazard holds while some track has been in the zone for
``dwell_s`` or more. People walking through never reach the dwell.

Detections without track ids cannot be told apart: they are counted as one anonymous
person, so the rule still works (less precisely) behind a detector without a tracker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from pydantic import Field

from gridsight import (
    ConfigError,
    Detections,
    HazardRule,
    Observation,
    PolygonZone,
    Role,
    RuleSettings,
    Zone,
    anchor_points,
)

# The track id given to detections that have none (see the module docstring).
ANONYMOUS = -1


class LoiteringSettings(RuleSettings):
    """Settings of ``loitering`` (``hazards.loitering`` in a camera config).

    Attributes:
        zone: name of the polygon people should not linger in (default ``loitering``).
        dwell_s: how long one person must stay before it is a hazard (default 120 s).
        leave_after_s: a person out of the zone (or unseen) this long has left; shorter
            gaps, e.g. a missed detection, keep their entry time (default 5 s).
        min_confidence: person detections scored below this are ignored (default 0.4).
        confirm_s: default 0 — the dwell already confirms the hazard.
        max_gap_s: default 5.0.
        end_after_s: default 15.0.
        cooldown_s: default 120.0.
        update_every_s: default 60.0.
    """

    zone: str = "loitering"
    dwell_s: float = Field(default=120.0, ge=0.0)
    leave_after_s: float = Field(default=5.0, ge=0.0)
    min_confidence: float = Field(default=0.4, ge=0.0, le=1.0)
    confirm_s: float = Field(default=0.0, ge=0.0)
    max_gap_s: float = Field(default=5.0, ge=0.0)
    end_after_s: float = Field(default=15.0, ge=0.0)
    cooldown_s: float = Field(default=120.0, ge=0.0)
    update_every_s: float | None = Field(default=60.0, ge=0.0)


class LoiteringRule(HazardRule):
    """A person staying in the zone beyond ``dwell_s``."""

    hazard: ClassVar[str] = "loitering"
    description: ClassVar[str] = "a person staying in a zone beyond a dwell time (example plugin)"
    Settings: ClassVar[type[RuleSettings]] = LoiteringSettings

    def __init__(self, settings: RuleSettings, zones: Mapping[str, Zone]) -> None:
        super().__init__(settings, zones)
        if not isinstance(settings, LoiteringSettings):
            settings = LoiteringSettings.model_validate(settings.model_dump())
        self.cfg: LoiteringSettings = settings
        zone = zones.get(self.cfg.zone)
        if not isinstance(zone, PolygonZone):
            raise ConfigError(
                f"hazard 'loitering': zone {self.cfg.zone!r} must be a polygon zone of the "
                f"camera (zones: {', '.join(sorted(zones)) or 'none'})"
            )
        self.zone = zone
        # track id -> (entered the zone at, last seen in the zone at)
        self._tracks: dict[int, tuple[float, float]] = {}

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        return (settings.zone,) if isinstance(settings, LoiteringSettings) else ()

    def observe(self, ts: float, detections: Detections) -> Observation:
        hit = np.zeros(0, dtype=np.intp)
        if len(detections):
            person = (detections.class_id == int(Role.PERSON)) & (
                detections.confidence >= self.cfg.min_confidence
            )
            idx = np.flatnonzero(person)
            if idx.size:
                hit = idx[self.zone.contains(anchor_points(detections)[idx])]
        tids = detections.tracker_id
        ids = [ANONYMOUS] * hit.size if tids is None else [int(t) for t in tids[hit]]
        for tid in ids:
            entered, _ = self._tracks.get(tid, (ts, ts))
            self._tracks[tid] = (entered, ts)
        self._tracks = {
            tid: (entered, seen)
            for tid, (entered, seen) in self._tracks.items()
            if ts - seen <= self.cfg.leave_after_s
        }
        here = {tid: ts - self._tracks[tid][0] for tid in ids}
        longest = max(here.values(), default=0.0)
        if longest < self.cfg.dwell_s:
            return Observation.inactive()
        loiterers = [k for k, tid in enumerate(ids) if here[tid] >= self.cfg.dwell_s]
        rows = hit[loiterers]
        return Observation(
            active=True,
            confidence=float(detections.confidence[rows].max()),
            boxes=detections.xyxy[rows],
            track_ids=tuple(ids[k] for k in loiterers if ids[k] != ANONYMOUS),
            detail={"people": len(loiterers), "longest_s": round(longest, 1)},
        )
