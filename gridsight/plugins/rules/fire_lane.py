"""``fire_lane``: a fire lane occupied by a stationary vehicle or object beyond a dwell.

Occupancy is measured on the *zone*, not with per-track timers:

1. Occupants are detections of the configured roles (cars, motorbikes, stalls by
   default) whose anchor lies in the fire-lane polygon.
2. An occupant is *stationary* when a box of an earlier frame, ``stationary_window_s``
   ago, overlaps it with IoU >= ``stationary_iou`` (:class:`BoxHistory`). This uses
   boxes, not track ids, so a tracker that switches a parked car's id every 30 s does
   not reset anything; traffic passing through moves more than a box width in that
   window and is never stationary.
3. The zone is *occupied* while at least one stationary occupant is present. The
   occupied run is timed by a :class:`DwellTimer` that tolerates gaps up to
   ``max_gap_s`` (missed detections, occlusion by a passer-by) and is back-dated by the
   stationarity window (the object stood there before it could be judged stationary).
4. The condition holds once the run has lasted ``dwell_s``; a car parked for ten
   minutes with the default 300 s dwell starts one event about 300 s after it stopped.

Observation details: ``dwell_s`` (the run so far), ``occupancy`` (time-weighted fraction
of the last ``dwell_s`` during which the zone held a stationary occupant) and
``occupants``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.hazards.lifecycle import LifecycleSettings
from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings
from gridsight.core.hazards.zones import Zone
from gridsight.plugins.rules.common import (
    BoxHistory,
    DwellTimer,
    RoleTuple,
    expect_settings,
    occupants,
    polygon_zone,
)


class FireLaneSettings(LifecycleSettings):
    """Settings of the ``fire_lane`` rule (``hazards.fire_lane`` in a camera config).

    Attributes:
        zone: name of the fire-lane polygon (default ``fire_lane``).
        roles: roles that can block the lane (default ``[car, motorbike, stall]``).
        min_confidence: detections scored below this are ignored (default 0.35).
        dwell_s: how long the lane must be occupied before it is a hazard (default 300 s:
            a delivery stop of a few minutes is not an alert).
        stationary_window_s: how long an occupant must stay put to count as stationary
            (default 10 s).
        stationary_iou: IoU between the box now and the box ``stationary_window_s`` ago
            for "the same place" (default 0.6; detector jitter on a parked car gives
            0.8-0.95, a car moving a third of its length gives about 0.5).
        confirm_s: default 0.0 — the dwell already confirms the hazard.
        max_gap_s: default 20.0 — gaps in occupancy (missed detections, a truck passing in
            front) shorter than this keep the occupied run and a pending alert alive.
        end_after_s: default 60.0 — the lane has been clear for a minute.
        cooldown_s: default 300.0.
        update_every_s: default 300.0.
    """

    zone: str = "fire_lane"
    roles: RoleTuple = (Role.CAR, Role.MOTORBIKE, Role.STALL)
    min_confidence: float = Field(default=0.35, ge=0.0, le=1.0)
    dwell_s: float = Field(default=300.0, ge=0.0)
    stationary_window_s: float = Field(default=10.0, ge=0.0)
    stationary_iou: float = Field(default=0.6, gt=0.0, le=1.0)
    confirm_s: float = Field(default=0.0, ge=0.0)
    max_gap_s: float = Field(default=20.0, ge=0.0)
    end_after_s: float = Field(default=60.0, ge=0.0)
    cooldown_s: float = Field(default=300.0, ge=0.0)
    update_every_s: float | None = Field(default=300.0, ge=0.0)


class FireLaneRule(HazardRule):
    """The fire-lane zone held by a stationary vehicle or object for longer than a dwell."""

    hazard: ClassVar[str] = "fire_lane"
    description: ClassVar[str] = "a fire lane occupied by a parked vehicle or object"
    Settings: ClassVar[type[RuleSettings]] = FireLaneSettings

    def __init__(self, settings: RuleSettings, zones: Mapping[str, Zone]) -> None:
        super().__init__(settings, zones)
        self.cfg = expect_settings(settings, FireLaneSettings)
        self.zone = polygon_zone(zones, self.cfg.zone, self.hazard, "zone")
        self._history = BoxHistory(self.cfg.stationary_window_s)
        self._dwell = DwellTimer(self.cfg.max_gap_s, max(self.cfg.dwell_s, 1.0))

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        return (settings.zone,) if isinstance(settings, FireLaneSettings) else ()

    def observe(self, ts: float, detections: Detections) -> Observation:
        cfg = self.cfg
        idx = occupants(detections, self.zone, cfg.roles, cfg.min_confidence)
        boxes = detections.xyxy[idx]
        still = self._history.stationary(ts, boxes, cfg.stationary_iou)
        self._history.push(ts, boxes)
        present = bool(still.any())
        dwell = self._dwell.update(
            ts, present, since=ts - cfg.stationary_window_s if present else None
        )
        if not present or dwell < cfg.dwell_s:
            return Observation.inactive()
        hit = idx[still]
        return Observation.involving(
            detections,
            hit,
            {
                "dwell_s": round(dwell, 1),
                "occupancy": round(self._dwell.occupancy(), 3),
                "occupants": int(hit.size),
            },
        )
