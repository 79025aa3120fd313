"""``near_water``: a person at the water's edge of a reservoir or pond (drowning risk).

The condition holds in a frame when a detection with a person role, scored at least
``min_confidence``, has its anchor (the camera's ``anchor``, by default the bottom centre
of the box: the feet) inside the water-edge polygon. It is life-critical, so the
confirmation is short (2 s: long enough to ignore a single false detection, short enough
that the grid worker is called at once), and a person walking along a path *outside* the
zone never triggers it.
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
from gridsight.plugins.rules.common import RoleTuple, expect_settings, occupants, polygon_zone


class NearWaterSettings(LifecycleSettings):
    """Settings of the ``near_water`` rule (``hazards.near_water`` in a camera config).

    Attributes:
        zone: name of the water-edge polygon (default ``water_edge``).
        roles: roles that count as people (default ``[person]``).
        min_confidence: detections scored below this are ignored (default 0.4).
        confirm_s: default 2.0 — a person must be at the edge for 2 s.
        max_gap_s: default 1.0.
        end_after_s: default 10.0 — the person has left the edge for 10 s.
        cooldown_s: default 30.0 — short: a person returning to the water is news.
        update_every_s: default 30.0.
    """

    zone: str = "water_edge"
    roles: RoleTuple = (Role.PERSON,)
    min_confidence: float = Field(default=0.4, ge=0.0, le=1.0)
    confirm_s: float = Field(default=2.0, ge=0.0)
    max_gap_s: float = Field(default=1.0, ge=0.0)
    end_after_s: float = Field(default=10.0, ge=0.0)
    cooldown_s: float = Field(default=30.0, ge=0.0)
    update_every_s: float | None = Field(default=30.0, ge=0.0)


class NearWaterRule(HazardRule):
    """A person whose feet are in the water-edge zone."""

    hazard: ClassVar[str] = "near_water"
    description: ClassVar[str] = "a person at the water's edge (reservoir, pond)"
    Settings: ClassVar[type[RuleSettings]] = NearWaterSettings

    def __init__(self, settings: RuleSettings, zones: Mapping[str, Zone]) -> None:
        super().__init__(settings, zones)
        self.cfg = expect_settings(settings, NearWaterSettings)
        self.zone = polygon_zone(zones, self.cfg.zone, self.hazard, "zone")

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        return (settings.zone,) if isinstance(settings, NearWaterSettings) else ()

    def observe(self, ts: float, detections: Detections) -> Observation:
        hit = occupants(detections, self.zone, self.cfg.roles, self.cfg.min_confidence)
        if not hit.size:
            return Observation.inactive()
        return Observation.involving(detections, hit, {"people": int(hit.size)})
