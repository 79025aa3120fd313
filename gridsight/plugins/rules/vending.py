"""``vending``: street vending occupying the road outside the allowed places and hours.

The condition holds in a frame when, outside the allowed hours,

1. a stall (role ``stall``: stalls, carts, umbrellas) has its anchor in the no-vending
   polygon and is stationary (its box stood in the same place ``stationary_window_s``
   ago — judged from boxes, not track ids, see :class:`BoxHistory`);
2. at least ``min_people`` people attend that stall: a person is at the stall when
   their anchor is within ``near_factor`` stall widths of its box, and attends it when
   they are also stationary (a looser IoU, since a vendor moves about behind a stall)
   or — judged relative to the stall, so a vendor pacing about his stall by more than
   his own width still counts — when their anchor is in the stall's neighbourhood (its
   box grown by ``attend_factor`` of its width and height) and, at each check moment of
   the last ``stationary_window_s`` (ten of them, see :meth:`BoxHistory.stayed_within`),
   some person's anchor was in that neighbourhood within ``roam_factor`` stall sizes
   (the larger side of its box) of where theirs is now. Passers-by do not make a
   stall "manned": one walking past was far away seconds ago, and whoever stood there
   before has walked on (only a crowd passing within a stall's size of each other
   every second could fool it);
3. this has gone on (with gaps up to ``max_gap_s`` tolerated) for ``dwell_s``.

The dwell runs whatever the time, so a stall set up at 07:50 that is still there when
the allowed hours end at 08:00 is a hazard from 08:00 on.

Time of day: the *frame's* wall time (``FrameInfo.wall_time``: a live camera's capture
clock, a synthetic world's own clock, a recording's ``start_time:`` plus stream time)
read in the zone ``utc_offset_h`` (UTC+8, China Standard Time, by default); never the
clock of the machine running the rule, so a recording or a synthetic stream gives the
same events whenever it is processed.

``clock_start`` is no longer a setting: a config that still has it is rejected with a
message saying what to use instead (the camera's ``start_time:`` for a recording; a
synthetic camera's clock is its world's). An error rather than a deprecation warning,
because ignoring it would silently judge the hours at another time of day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta, timezone
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator, model_validator

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.errors import DataError
from gridsight.core.hazards.lifecycle import LifecycleSettings
from gridsight.core.hazards.rule import FrameInfo, HazardRule, Observation, RuleSettings
from gridsight.core.hazards.zones import Zone, anchor_points
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
_ATTEND_CHECKS = 10
"""Check moments of the window for "stayed about the stall" (one a second by default)."""
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
        attend_factor: a person also attends a stationary stall when they have stayed in
            its neighbourhood — its box grown by this fraction of its width left and
            right and of its height above and below — for ``stationary_window_s``, even
            if they moved about more than ``person_iou`` allows (default 0.5).
        roam_factor: how far, in stall sizes (the larger side of the stall's box), the
            person found in the neighbourhood at each earlier check moment may be from
            the person now (default 1.0; a passer-by walks further in a few seconds).
        allowed_hours: ranges ``"HH:MM-HH:MM"`` when vending here is allowed (default
            ``["06:00-08:00"]``, a tolerated morning market — the assumption of
            configs/jingqiao.yaml and of the synthetic world's ground truth); ranges over
            midnight such as ``"22:00-02:00"`` are fine; ``[]`` never allows it.
        utc_offset_h: the time zone the allowed hours are in, hours east of UTC
            (default 8.0, Jingqiao); each frame's wall time is read in it.
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
    attend_factor: float = Field(default=0.5, ge=0.0)
    roam_factor: float = Field(default=1.0, ge=0.0)
    allowed_hours: list[str] = Field(default_factory=lambda: ["06:00-08:00"])
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

    @model_validator(mode="before")
    @classmethod
    def _clock_start_is_gone(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "clock_start" in data:
            raise ValueError(
                "clock_start is no longer a vending setting: the rule reads each frame's "
                "own wall time. For a video file set the camera's start_time: (ISO 8601 "
                "with offset, e.g. 2026-03-01T06:00:00+08:00); a synthetic camera's clock "
                "is its world's (clock=HH:MM in its URI); a live camera's is the capture "
                "clock. Remove clock_start"
            )
        return data


def _inside(
    points: np.ndarray, boxes: np.ndarray, mx: np.ndarray | float, my: np.ndarray | float
) -> np.ndarray:
    """``(n, m)``: whether point i lies in box j grown by ``mx[j]`` sideways, ``my[j]`` up/down."""
    mx = np.broadcast_to(np.asarray(mx, dtype=np.float64), (boxes.shape[0],))
    my = np.broadcast_to(np.asarray(my, dtype=np.float64), (boxes.shape[0],))
    return np.asarray(
        (points[:, None, 0] >= boxes[None, :, 0] - mx[None, :])
        & (points[:, None, 0] <= boxes[None, :, 2] + mx[None, :])
        & (points[:, None, 1] >= boxes[None, :, 1] - my[None, :])
        & (points[:, None, 1] <= boxes[None, :, 3] + my[None, :])
    )


class VendingRule(HazardRule):
    """A manned, stationary stall in the no-vending zone beyond a dwell, outside hours.

    A calendar rule: it implements :meth:`observe_frame` (it needs the frame's wall
    time); :meth:`observe` alone cannot judge the hours and raises.
    """

    hazard: ClassVar[str] = "vending"
    description: ClassVar[str] = "street vending occupying the road outside allowed hours"
    Settings: ClassVar[type[RuleSettings]] = VendingSettings

    def __init__(self, settings: RuleSettings, zones: Mapping[str, Zone]) -> None:
        super().__init__(settings, zones)
        self.cfg = expect_settings(settings, VendingSettings)
        self.zone = polygon_zone(zones, self.cfg.zone, self.hazard, "zone")
        self.hours = parse_hours(self.cfg.allowed_hours)
        self.tz = timezone(timedelta(hours=self.cfg.utc_offset_h))
        self._stalls = BoxHistory(self.cfg.stationary_window_s)
        self._people = BoxHistory(self.cfg.stationary_window_s)
        # People's anchors, checked at many moments: a stream of passers-by could put
        # someone near a spot at a few moments by chance, but not every second or so.
        self._spots = BoxHistory(self.cfg.stationary_window_s, checks=_ATTEND_CHECKS)
        self._dwell = DwellTimer(self.cfg.max_gap_s, max(self.cfg.dwell_s, 1.0))

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        return (settings.zone,) if isinstance(settings, VendingSettings) else ()

    def time_of_day(self, frame: FrameInfo) -> float:
        """Seconds after local midnight (zone ``utc_offset_h``) at the frame's wall time.

        Raises:
            DataError: the wall time has no time zone (it would be ambiguous).
        """
        wall = frame.wall_time
        if wall.tzinfo is None or wall.utcoffset() is None:
            raise DataError(
                f"vending: frame at ts={frame.ts} has a wall time without a time zone "
                f"({wall.isoformat()}); sources must stamp timezone-aware times"
            )
        local = wall.astimezone(self.tz)
        return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6

    def _manned(self, ts: float, detections: Detections) -> tuple[np.ndarray, np.ndarray]:
        """Indices of stationary in-zone stalls with enough stationary people, and the people."""
        cfg = self.cfg
        stalls = occupants(detections, self.zone, cfg.stall_roles, cfg.min_confidence)
        still = self._stalls.stationary(ts, detections.xyxy[stalls], cfg.stall_iou)
        self._stalls.push(ts, detections.xyxy[stalls])

        # People at any stall in the zone (stationary or not yet): their history must
        # build up while the stall's does, or the vendor would be judged a window late.
        people = candidates(detections, cfg.person_roles, cfg.min_confidence)
        p = anchor_points(detections)[people]
        near = np.zeros((people.size, stalls.size), dtype=bool)
        attend = np.zeros((people.size, stalls.size), dtype=bool)
        if people.size and stalls.size:
            sb = detections.xyxy[stalls].astype(np.float64)
            w, h = sb[:, 2] - sb[:, 0], sb[:, 3] - sb[:, 1]
            near = _inside(p, sb, cfg.near_factor * w, cfg.near_factor * w)
            hood = sb + np.stack([-w, -h, w, h], axis=1) * cfg.attend_factor
            pairs = np.argwhere(_inside(p, hood, 0.0, 0.0) & still[None, :])
            if pairs.size:
                radius = cfg.roam_factor * np.maximum(w, h)
                attend[pairs[:, 0], pairs[:, 1]] = self._spots.stayed_within(
                    ts, p[pairs[:, 0]], hood[pairs[:, 1]], radius[pairs[:, 1]]
                )
        self._spots.push(ts, np.concatenate([p, p], axis=1))
        at_stall = (near | attend).any(axis=1)
        people, near, attend = people[at_stall], near[at_stall], attend[at_stall]
        still_p = self._people.stationary(ts, detections.xyxy[people], cfg.person_iou)
        self._people.push(ts, detections.xyxy[people])
        # Vendors: people attending a stationary stall (standing still next to it, or
        # staying about it).
        by = ((near & still_p[:, None]) | attend)[:, still]
        stalls = stalls[still]
        manned = by.sum(axis=0) >= cfg.min_people
        vendors = people[by[:, manned].any(axis=1)]
        return stalls[manned], vendors

    def observe(self, ts: float, detections: Detections) -> Observation:
        """Not enough for this rule: the allowed hours need the frame's wall time.

        Raises:
            DataError: always; call :meth:`observe_frame` (the runner does).
        """
        raise DataError(
            "vending judges allowed hours from the frame's wall time: call "
            "observe_frame(FrameInfo(ts, wall_time), detections), as the runner does"
        )

    def observe_frame(self, frame: FrameInfo, detections: Detections) -> Observation:
        cfg = self.cfg
        ts = frame.ts
        stalls, vendors = self._manned(ts, detections)
        present = stalls.size > 0
        dwell = self._dwell.update(
            ts, present, since=ts - cfg.stationary_window_s if present else None
        )
        if not present or dwell < cfg.dwell_s:
            return Observation.inactive()
        tod = self.time_of_day(frame)
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
