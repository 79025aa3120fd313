"""``ebike``: an e-bike taken into a residential stairwell or lobby (fire risk when charged).

The condition holds in a frame when an e-bike (role ``ebike`` by default — never a
bicycle or a pedestrian) either

* has its anchor inside the lobby polygon (``zone``), or
* has crossed the entrance line (``line``) inward within the last ``crossing_hold_s``.

The line catches e-bikes that disappear into the building right after the doorway (the
polygon may only see them for a moment). A crossing needs the track's previous anchor,
so the rule keeps a small per-track memory — the last anchor and its time for every
e-bike track seen in the last ``track_memory_s`` — in sorted arrays, matched to the
frame's tracks with ``searchsorted``. An outward crossing (the e-bike taken back out)
cancels that track's hold. Without track ids only the polygon test applies.

A COCO-class detector has no e-bike class; such deployments can add ``motorbike`` to
``roles`` (and accept that motorbikes will alert too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.hazards.lifecycle import LifecycleSettings
from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings
from gridsight.core.hazards.zones import LineZone, PolygonZone, Zone, anchor_points
from gridsight.plugins.rules.common import (
    RoleTuple,
    candidates,
    expect_settings,
    line_zone,
    polygon_zone,
)


class EbikeSettings(LifecycleSettings):
    """Settings of the ``ebike`` rule (``hazards.ebike`` in a camera config).

    Attributes:
        zone: name of the lobby/stairwell polygon (default ``lobby``); null to use only
            the line.
        line: name of the entrance line, directed so that ``inward`` points into the
            building (default ``lobby_entrance``); null to use only the polygon.
        roles: roles that count as e-bikes (default ``[ebike]``).
        min_confidence: detections scored below this are ignored (default 0.4).
        crossing_hold_s: an inward crossing keeps the condition true this long, so that
            it can confirm after the e-bike has vanished indoors (default 3.0).
        track_memory_s: how long a track's last anchor is remembered to detect a crossing
            across missed frames (default 2.0).
        confirm_s: default 0.5.
        max_gap_s: default 1.0.
        end_after_s: default 10.0.
        cooldown_s: default 60.0.
        update_every_s: default 60.0.
    """

    zone: str | None = "lobby"
    line: str | None = "lobby_entrance"
    roles: RoleTuple = (Role.EBIKE,)
    min_confidence: float = Field(default=0.4, ge=0.0, le=1.0)
    crossing_hold_s: float = Field(default=3.0, ge=0.0)
    track_memory_s: float = Field(default=2.0, gt=0.0)
    confirm_s: float = Field(default=0.5, ge=0.0)
    max_gap_s: float = Field(default=1.0, ge=0.0)
    end_after_s: float = Field(default=10.0, ge=0.0)
    cooldown_s: float = Field(default=60.0, ge=0.0)
    update_every_s: float | None = Field(default=60.0, ge=0.0)

    @model_validator(mode="after")
    def _needs_a_zone(self) -> EbikeSettings:
        if self.zone is None and self.line is None:
            raise ValueError("set at least one of zone (the lobby polygon) or line (entrance)")
        return self


class EbikeRule(HazardRule):
    """An e-bike inside the lobby polygon, or having just crossed the entrance inward."""

    hazard: ClassVar[str] = "ebike"
    description: ClassVar[str] = "an e-bike taken into a stairwell or lobby"
    Settings: ClassVar[type[RuleSettings]] = EbikeSettings

    def __init__(self, settings: RuleSettings, zones: Mapping[str, Zone]) -> None:
        super().__init__(settings, zones)
        self.cfg = expect_settings(settings, EbikeSettings)
        self.lobby: PolygonZone | None = (
            None if self.cfg.zone is None else polygon_zone(zones, self.cfg.zone, "ebike", "zone")
        )
        self.entrance: LineZone | None = (
            None if self.cfg.line is None else line_zone(zones, self.cfg.line, "ebike", "line")
        )
        # Per-track memory, sorted by id: last anchor and when it was seen.
        self._mem_ids = np.zeros(0, np.int64)
        self._mem_pts = np.zeros((0, 2), np.float64)
        self._mem_ts = np.zeros(0, np.float64)
        # Tracks that crossed inward recently: id -> (ts, box, confidence).
        self._crossed: dict[int, tuple[float, npt.NDArray[np.float32], float]] = {}

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        if not isinstance(settings, EbikeSettings):
            return ()
        return tuple(n for n in (settings.zone, settings.line) if n is not None)

    def _crossings(
        self, ts: float, ids: npt.NDArray[np.int64], pts: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int8]:
        """Crossings of the entrance since each track's remembered anchor; updates memory."""
        out = np.zeros(ids.size, np.int8)
        if self.entrance is None:
            return out
        mem_ids = self._mem_ids
        if mem_ids.size and ids.size:
            pos = np.clip(np.searchsorted(mem_ids, ids), 0, mem_ids.size - 1)
            found = (mem_ids[pos] == ids) & (ts - self._mem_ts[pos] <= self.cfg.track_memory_s)
            if found.any():
                out[found] = self.entrance.crossings(self._mem_pts[pos[found]], pts[found])
        # Memory = this frame's tracks + remembered tracks not seen now and not stale.
        uniq, first = np.unique(ids, return_index=True)
        if uniq.size and mem_ids.size:
            at = np.clip(np.searchsorted(uniq, mem_ids), 0, uniq.size - 1)
            seen_now = uniq[at] == mem_ids
        else:
            seen_now = np.zeros(mem_ids.size, dtype=bool)
        keep = ~seen_now & (ts - self._mem_ts <= self.cfg.track_memory_s)
        all_ids = np.concatenate([mem_ids[keep], uniq])
        order = np.argsort(all_ids, kind="stable")
        self._mem_ids = all_ids[order]
        self._mem_pts = np.concatenate([self._mem_pts[keep], pts[first]])[order]
        self._mem_ts = np.concatenate([self._mem_ts[keep], np.full(uniq.size, ts)])[order]
        return out

    def observe(self, ts: float, detections: Detections) -> Observation:
        cfg = self.cfg
        idx = candidates(detections, cfg.roles, cfg.min_confidence)
        pts = anchor_points(detections)[idx]
        in_lobby = self.lobby.contains(pts) if self.lobby is not None else np.zeros(idx.size, bool)
        tids = detections.tracker_id
        ids = tids[idx] if tids is not None else None
        if ids is not None:
            crossed = self._crossings(ts, ids, pts)
            for k in np.flatnonzero(crossed):
                tid = int(ids[k])
                if crossed[k] > 0:
                    i = idx[k]
                    self._crossed[tid] = (
                        ts,
                        detections.xyxy[i].copy(),
                        float(detections.confidence[i]),
                    )
                else:
                    self._crossed.pop(tid, None)
        stale = [t for t, (when, _, _) in self._crossed.items() if ts - when > cfg.crossing_hold_s]
        for t in stale:
            del self._crossed[t]
        if not in_lobby.any() and not self._crossed:
            return Observation.inactive()

        hit = idx[in_lobby]
        boxes = [detections.xyxy[hit]]
        confs = [detections.confidence[hit].astype(np.float64)]
        track_ids = [] if ids is None else [int(t) for t in ids[in_lobby]]
        for tid, (_, box, conf) in sorted(self._crossed.items()):
            if tid in track_ids:
                continue
            # Prefer where the e-bike is now; fall back to where it crossed.
            now = np.flatnonzero(ids == tid) if ids is not None else np.zeros(0, np.int64)
            boxes.append(detections.xyxy[idx[now[:1]]] if now.size else box[None, :])
            confs.append(np.array([conf]))
            track_ids.append(tid)
        all_boxes = np.concatenate(boxes)
        return Observation(
            active=True,
            confidence=float(np.concatenate(confs).max()),
            boxes=all_boxes,
            track_ids=tuple(track_ids),
            detail={"in_lobby": int(hit.size), "crossed_inward": len(self._crossed)},
        )
