"""``vending``: street vending occupying the road outside the allowed places and hours.

The condition holds in a frame when, outside the allowed hours,

1. a stall (role ``stall``: stalls, carts, umbrellas) has its anchor in the no-vending
   polygon and is stationary (its box stood in the same place ``stationary_window_s``
   ago — judged from boxes, not track ids, see :class:`BoxHistory`);
2. at least ``min_people`` people are at that stall — anchor within ``near_factor``
   stall widths of its box — and are themselves stationary (a looser IoU, since a
   vendor moves about behind a stall): passers-by do not make a stall "manned";
3. this has gone on (with gaps up to ``max_gap_s`` tolerated) for ``dwell_s``.

The dwell runs whatever the time, so a stall set up at 07:50 that is still there when
the allowed hours end at 08:00 is a hazard from 08:00 on.

Time of day: with ``clock_start`` set (``"HH:MM[:SS]"`` at stream time 0, for recorded
or synthetic streams) it is ``clock_start + ts``; otherwise the wall clock in the zone
``utc_offset_h`` (UTC+8, China Standard Time, by default).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator

from gridsight.core.detections import Detections
from gridsight.core.hazard import HazardRule, Observation, RuleSettings
from gridsight.core.lifecycle import LifecycleSettings, utc_now
from gridsight.core.roles import Role
from gridsight.core.zones import Zone, anchor_points
from gridsight.plugins.rules.common import (
    BoxHistory,
    DwellTimer,
    RoleTuple,
    candidates,
    expect_settings,
    occupants,
    polygon_zone,
)

DAY_S = 86_400
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_time_of_day(text: str, *, allow_24: bool = False) -> int:
    """``"HH:MM"`` or ``"HH:MM:SS"`` to seconds after midnight (``"24:00"`` if allowed).

    Raises:
        ValueError: the text is not a valid time of day.
    """
    m = _TIME.match(text.strip())
    if m is None:
        raise ValueError(f"expected a time of day HH:MM or HH:MM:SS, got {text!r}")
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if allow_24 and (h, mi, s) == (24, 0, 0):
        return DAY_S
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"time of day out of range: {text!r}")
    return h * 3600 + mi * 60 + s


def parse_hours(ranges: list[str]) -> list[tuple[int, int]]:
    """``["06:00-08:00", "22:00-02:00"]`` to ``[(start_s, end_s), ...]``.

    A range includes its start and excludes its end; a range whose end is before its
    start runs over midnight. ``"00:00-24:00"`` is the whole day.

    Raises:
        ValueError: a malformed range, or one that starts where it ends (ambiguous).
    """
    out: list[tuple[int, int]] = []
    for text in ranges:
        parts = text.split("-")
        if len(parts) != 2:
            raise ValueError(f"expected a range 'HH:MM-HH:MM', got {text!r}")
        start = parse_time_of_day(parts[0])
        end = parse_time_of_day(parts[1], allow_24=True)
        if start == end % DAY_S and end != DAY_S:
            raise ValueError(
                f"range {text!r} starts where it ends; write '00:00-24:00' for the whole day"
            )
        out.append((start, end))
    return out


def in_hours(tod_s: float, ranges: list[tuple[int, int]]) -> bool:
    """Whether a time of day (seconds after midnight) falls in any of the ranges."""
    for start, end in ranges:
        if start < end:
            if start <= tod_s < end:
                return True
        elif tod_s >= start or tod_s < end:
            return True
    return False


class VendingSettings(LifecycleSettings):
    """Settings of the ``vending`` rule (``hazards.vending`` in a camera config).

    Attributes:
        zone: name of the no-vending polygon (default ``no_vending``).
        stall_roles: roles that count as stalls (default ``[stall]``).
        person_roles: roles that count as vendors (default ``[person]``).
        min_confidence: detections scored below this are ignored (default 0.35).
        min_people: stationary people needed at a stall (default 1; 0 alerts on an
            unattended stall too).
        near_factor: a person is "at" a stall when their anchor is within this many stall
            widths of the stall's box (default 1.0).
        dwell_s: how long the manned stall must stay before it is a hazard (default 120).
        stationary_window_s: how long stall and people must stay put to count as
            stationary (default 10).
        stall_iou: IoU for "the stall is where it was" (default 0.6).
        person_iou: IoU for "the person is where they were" (default 0.3; vendors move
            about behind their stall).
        allowed_hours: ranges ``"HH:MM-HH:MM"`` when vending here is allowed (default
            ``["06:00-08:00"]``, a tolerated morning market — the assumption of
            configs/jingqiao.yaml and of the synthetic world's ground truth); ranges over
            midnight such as ``"22:00-02:00"`` are fine; ``[]`` never allows it.
        clock_start: time of day at stream time 0, ``"HH:MM[:SS]"``, for recorded and
            synthetic streams (default null: use the wall clock).
        utc_offset_h: the cameras' time zone for the wall clock (default 8.0, Jingqiao).
        confirm_s: default 0.0 — the dwell already confirms.
        max_gap_s: default 20.0.
        end_after_s: default 60.0.
        cooldown_s: default 180.0 — the 120 s dwell already keeps a stall that is packed
            and unpacked from re-alerting; a new stall after a few minutes is news.
        update_every_s: default 300.0.
    """

    zone: str = "no_vending"
    stall_roles: RoleTuple = (Role.STALL,)
    person_roles: RoleTuple = (Role.PERSON,)
    min_confidence: float = Field(default=0.35, ge=0.0, le=1.0)
    min_people: int = Field(default=1, ge=0)
    near_factor: float = Field(default=1.0, ge=0.0)
    dwell_s: float = Field(default=120.0, ge=0.0)
    stationary_window_s: float = Field(default=10.0, ge=0.0)
    stall_iou: float = Field(default=0.6, gt=0.0, le=1.0)
    person_iou: float = Field(default=0.3, gt=0.0, le=1.0)
    allowed_hours: list[str] = Field(default_factory=lambda: ["06:00-08:00"])
    clock_start: str | None = None
    utc_offset_h: float = Field(default=8.0, ge=-14.0, le=14.0)
    confirm_s: float = Field(default=0.0, ge=0.0)
    max_gap_s: float = Field(default=20.0, ge=0.0)
    end_after_s: float = Field(default=60.0, ge=0.0)
    cooldown_s: float = Field(default=180.0, ge=0.0)
    update_every_s: float | None = Field(default=300.0, ge=0.0)

    @field_validator("allowed_hours")
    @classmethod
    def _check_hours(cls, value: list[str]) -> list[str]:
        parse_hours(value)
        return value

    @field_validator("clock_start")
    @classmethod
    def _check_clock(cls, value: str | None) -> str | None:
        if value is not None:
            parse_time_of_day(value)
        return value


class VendingRule(HazardRule):
    """A manned, stationary stall in the no-vending zone beyond a dwell, outside hours.

    Attributes:
        now: the wall clock used when ``clock_start`` is not set (inject one in tests).
    """

    hazard: ClassVar[str] = "vending"
    description: ClassVar[str] = "street vending occupying the road outside allowed hours"
    Settings: ClassVar[type[RuleSettings]] = VendingSettings

    def __init__(self, settings: RuleSettings, zones: Mapping[str, Zone]) -> None:
        super().__init__(settings, zones)
        self.cfg = expect_settings(settings, VendingSettings)
        self.zone = polygon_zone(zones, self.cfg.zone, self.hazard, "zone")
        self.hours = parse_hours(self.cfg.allowed_hours)
        self._clock_start = (
            None if self.cfg.clock_start is None else parse_time_of_day(self.cfg.clock_start)
        )
        self.now: Callable[[], datetime] = utc_now
        self._stalls = BoxHistory(self.cfg.stationary_window_s)
        self._people = BoxHistory(self.cfg.stationary_window_s)
        self._dwell = DwellTimer(self.cfg.max_gap_s, max(self.cfg.dwell_s, 1.0))

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        return (settings.zone,) if isinstance(settings, VendingSettings) else ()

    def time_of_day(self, ts: float) -> float:
        """Seconds after midnight at stream time ``ts``."""
        if self._clock_start is not None:
            return (self._clock_start + ts) % DAY_S
        local = self.now() + timedelta(hours=self.cfg.utc_offset_h)
        return float(local.hour * 3600 + local.minute * 60 + local.second)

    def _manned(self, ts: float, detections: Detections) -> tuple[np.ndarray, np.ndarray]:
        """Indices of stationary in-zone stalls with enough stationary people, and the people."""
        cfg = self.cfg
        stalls = occupants(detections, self.zone, cfg.stall_roles, cfg.min_confidence)
        still = self._stalls.stationary(ts, detections.xyxy[stalls], cfg.stall_iou)
        self._stalls.push(ts, detections.xyxy[stalls])

        # People at any stall in the zone (stationary or not yet): their history must
        # build up while the stall's does, or the vendor would be judged a window late.
        people = candidates(detections, cfg.person_roles, cfg.min_confidence)
        near = np.zeros((people.size, stalls.size), dtype=bool)
        if people.size and stalls.size:
            sb = detections.xyxy[stalls].astype(np.float64)
            margin = cfg.near_factor * (sb[:, 2] - sb[:, 0])
            p = anchor_points(detections)[people]
            near = (
                (p[:, None, 0] >= sb[None, :, 0] - margin)
                & (p[:, None, 0] <= sb[None, :, 2] + margin)
                & (p[:, None, 1] >= sb[None, :, 1] - margin)
                & (p[:, None, 1] <= sb[None, :, 3] + margin)
            )
        at_stall = near.any(axis=1)
        people, near = people[at_stall], near[at_stall]
        still_p = self._people.stationary(ts, detections.xyxy[people], cfg.person_iou)
        self._people.push(ts, detections.xyxy[people])
        # Vendors: stationary people next to a stationary stall.
        near = near[still_p][:, still]
        people, stalls = people[still_p], stalls[still]
        manned = near.sum(axis=0) >= cfg.min_people
        vendors = people[near[:, manned].any(axis=1)]
        return stalls[manned], vendors

    def observe(self, ts: float, detections: Detections) -> Observation:
        cfg = self.cfg
        stalls, vendors = self._manned(ts, detections)
        present = stalls.size > 0
        dwell = self._dwell.update(
            ts, present, since=ts - cfg.stationary_window_s if present else None
        )
        if not present or dwell < cfg.dwell_s:
            return Observation.inactive()
        tod = self.time_of_day(ts)
        if in_hours(tod, self.hours):
            return Observation.inactive()
        tod_i = int(tod)
        return Observation.involving(
            detections,
            np.concatenate([stalls, vendors]),
            {
                "dwell_s": round(dwell, 1),
                "occupancy": round(self._dwell.occupancy(), 3),
                "stalls": int(stalls.size),
                "people": int(vendors.size),
                "time_of_day": f"{tod_i // 3600:02d}:{tod_i // 60 % 60:02d}:{tod_i % 60:02d}",
            },
            # The stall is the evidence; a vendor's score says nothing about vending.
            confidence=float(detections.confidence[stalls].max()),
        )
