"""Building blocks shared by the built-in hazard rules (and usable by third-party ones).

* :data:`RoleTuple` — a settings field type accepting role names (``"car"``) or ids.
* :func:`polygon_zone` / :func:`line_zone` — look up a rule's zones with clear errors.
* :func:`candidates` / :func:`occupants` — a rule's detections by role and score (and zone).
* :func:`box_iou` — pairwise IoU of two box arrays (the core's one, re-exported).
* :class:`BoxHistory` — "has something been standing *here* for a while?", answered
  from the boxes of past frames, regardless of track ids (so a tracker's id switches
  cannot reset a parked car's stationarity).
* :class:`DwellTimer` — how long a zone has been continuously occupied, with gap
  tolerance, plus the time-weighted fraction of a recent window it was occupied.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BeforeValidator, ValidationError

from gridsight.core.config.validation import format_validation
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.geometry import box_iou
from gridsight.core.detection.roles import parse_role, role_names
from gridsight.core.errors import ConfigError
from gridsight.core.hazards.rule import RuleSettings
from gridsight.core.hazards.zones import LineZone, PolygonZone, Zone, anchor_points

Float64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.intp]


def _parse_roles(value: Any) -> Any:
    """Accept ``"car"``, ``4``, ``Role.CAR`` or a list of them; names are case-insensitive
    and may be any declared role (a plugin's or the config's ``roles:``), not only the
    built-in six."""
    items = [value] if isinstance(value, str | int) else value
    if not isinstance(items, list | tuple):
        return value  # let pydantic report the type error
    out: list[Any] = []
    for item in items:
        if isinstance(item, str | int) and not isinstance(item, bool):
            try:
                rid = parse_role(item, "role")
            except ConfigError:
                raise ValueError(
                    f"unknown role {item!r}; declared roles: {', '.join(role_names())} "
                    "(declare more in the config's roles: or a plugin's gridsight_register_roles)"
                ) from None
            if rid is None:
                raise ValueError(f"{item!r} is not a role a rule can watch for")
            out.append(rid)
        else:
            out.append(item)
    return tuple(out)


RoleTuple = Annotated[tuple[int, ...], BeforeValidator(_parse_roles)]
"""A settings field holding object role ids, written in YAML as names: ``[car, stall]``."""


S = TypeVar("S", bound=RuleSettings)


def expect_settings(settings: RuleSettings, cls: type[S]) -> S:
    """``settings`` as the rule's own settings model (re-validated if another model)."""
    if isinstance(settings, cls):
        return settings
    try:
        return cls.model_validate(settings.model_dump())
    except ValidationError as exc:
        raise ConfigError(f"{cls.__name__}: {format_validation(exc, cls, noun='setting')}") from exc


def _zone(zones: Mapping[str, Zone], name: str, hazard: str, field: str) -> Zone:
    zone = zones.get(name)
    if zone is None:
        have = ", ".join(sorted(zones)) or "none"
        raise ConfigError(
            f"hazard {hazard!r}: {field} names zone {name!r}, which this camera does not "
            f"define (zones: {have}); add it under the camera's zones or fix the name"
        )
    return zone


Z = TypeVar("Z", PolygonZone, LineZone)


def _zone_of_kind(
    zones: Mapping[str, Zone], name: str, hazard: str, field: str, kind: type[Z]
) -> Z:
    zone = _zone(zones, name, hazard, field)
    if not isinstance(zone, kind):
        wanted = "polygon" if kind is PolygonZone else "line"
        raise ConfigError(
            f"hazard {hazard!r}: {field} must name a {wanted} zone, but {name!r} is a {zone.kind}"
        )
    return zone


def polygon_zone(zones: Mapping[str, Zone], name: str, hazard: str, field: str) -> PolygonZone:
    """The polygon zone ``name``, or a ConfigError naming the hazard's settings field."""
    return _zone_of_kind(zones, name, hazard, field, PolygonZone)


def line_zone(zones: Mapping[str, Zone], name: str, hazard: str, field: str) -> LineZone:
    """The line zone ``name``, or a ConfigError naming the hazard's settings field."""
    return _zone_of_kind(zones, name, hazard, field, LineZone)


def role_mask(class_id: npt.NDArray[np.int64], roles: tuple[int, ...]) -> BoolArray:
    """Which detections have one of ``roles``."""
    if not roles:
        return np.zeros(class_id.shape[0], dtype=bool)
    # A rule names one to three roles: a few comparisons beat np.isin's sort by far.
    mask = class_id == int(roles[0])
    for role in roles[1:]:
        mask |= class_id == int(role)
    return np.asarray(mask)


def candidates(detections: Detections, roles: tuple[int, ...], min_confidence: float) -> IndexArray:
    """Indices of the detections with one of ``roles``, scored at least ``min_confidence``."""
    return np.flatnonzero(
        role_mask(detections.class_id, roles) & (detections.confidence >= min_confidence)
    )


def occupants(
    detections: Detections, zone: PolygonZone, roles: tuple[int, ...], min_confidence: float
) -> IndexArray:
    """The :func:`candidates` whose anchor lies in ``zone``."""
    idx = candidates(detections, roles, min_confidence)
    if idx.size:
        idx = idx[zone.contains(anchor_points(detections)[idx])]
    return idx


class BoxHistory:
    """Recent frames' boxes of one kind of object, to judge stationarity without track ids.

    A box is *stationary* when, at each of ``checks`` moments spread over the last
    ``window_s`` (ages ``window_s * i / checks``, i = 1..checks), some box of that time
    overlaps it with IoU >= the threshold: the object (or one just like it) has stood in
    the same place all along. Passing traffic moves well over a box width in the window
    and never matches; a regular stream of look-alikes (pedestrians every 15 s along the
    same line) could match at one moment by chance, but not at all of them.

    Each check looks at the first and the last frame within a short span of ages
    (``window_s / (2 * checks)``) before its moment, so one dropped frame or missed
    detection does not break it. A check that finds no box at all is skipped (the
    detector missed everything then), except the oldest, which must prove the object
    was there ``window_s`` ago. All checks share one IoU matrix per call.

    Args:
        window_s: how long an object must stay put to count as stationary.
        checks: how many moments of the window the box must match (default 3).
    """

    def __init__(self, window_s: float, checks: int = 3) -> None:
        self.window_s = float(window_s)
        self.checks = max(1, int(checks))
        self._span_s = self.window_s / (2 * self.checks)
        self._times: list[float] = []
        self._boxes: list[Float64Array] = []

    def stationary(self, ts: float, boxes: npt.ArrayLike, iou: float) -> BoolArray:
        """Which of ``boxes`` (this frame, at ``ts``) have stood still for ``window_s``.

        Call before :meth:`push` of the same frame.
        """
        cur = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        found = self._window(ts, cur.shape[0])
        if isinstance(found, np.ndarray):
            return found
        refs, starts = found
        match = box_iou(cur, refs) >= iou
        # A box is stationary when every check holds a match for it.
        per_check = np.logical_or.reduceat(match, starts, axis=1)
        return np.asarray(per_check.all(axis=1))

    def stayed_within(
        self, ts: float, points: npt.ArrayLike, regions: npt.ArrayLike, radius: npt.ArrayLike
    ) -> BoolArray:
        """Which of ``points`` have had a past box centre near them all along the window.

        For point ``k`` (this frame, at ``ts``), every check moment of the window (the
        same moments and spans as :meth:`stationary`) must hold a remembered box whose
        centre lies inside the xyxy ``regions[k]`` and within ``radius[k]`` of
        ``points[k]``: something has stayed in that region, near here, all along, though
        not necessarily in one place. Push zero-size boxes ``(x, y, x, y)`` to remember
        points. Call before :meth:`push` of the same frame.
        """
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        n = pts.shape[0]
        found = self._window(ts, n)
        if isinstance(found, np.ndarray):
            return found
        refs, starts = found
        reg = np.asarray(regions, dtype=np.float64).reshape(-1, 4)
        rad = np.broadcast_to(np.asarray(radius, dtype=np.float64), (n,))
        cx = (refs[:, 0] + refs[:, 2]) / 2
        cy = (refs[:, 1] + refs[:, 3]) / 2
        inside = (
            (cx[None, :] >= reg[:, 0:1])
            & (cx[None, :] <= reg[:, 2:3])
            & (cy[None, :] >= reg[:, 1:2])
            & (cy[None, :] <= reg[:, 3:4])
        )
        close = np.hypot(cx[None, :] - pts[:, 0:1], cy[None, :] - pts[:, 1:2]) <= rad[:, None]
        per_check = np.logical_or.reduceat(inside & close, starts, axis=1)
        return np.asarray(per_check.all(axis=1))

    def _window(self, ts: float, n: int) -> BoolArray | tuple[Float64Array, list[int]]:
        """The answer for all ``n`` queries when it needs no matching (none asked, no
        window, no history yet), else the references to match against."""
        if n == 0:
            return np.zeros(0, dtype=bool)
        if self.window_s <= 0:
            return np.ones(n, dtype=bool)
        found = self._references(ts)
        return np.zeros(n, dtype=bool) if found is None else found

    def _references(self, ts: float) -> tuple[Float64Array, list[int]] | None:
        """The boxes of each check moment, concatenated, and where each check's begin.

        None when the oldest check finds no box (nothing proves a presence then).
        """
        refs: list[Float64Array] = []
        starts: list[int] = []
        total = 0
        for i in range(self.checks, 0, -1):
            newest = ts - self.window_s * i / self.checks
            lo = bisect.bisect_left(self._times, newest - self._span_s)
            hi = bisect.bisect_right(self._times, newest)
            picked = [self._boxes[j] for j in {lo, hi - 1} if lo <= j < hi]
            found = sum(b.shape[0] for b in picked)
            if found == 0:
                if i == self.checks:
                    return None
                continue
            starts.append(total)
            refs.extend(picked)
            total += found
        return np.concatenate(refs), starts

    def push(self, ts: float, boxes: npt.ArrayLike) -> None:
        """Remember this frame's boxes; forget frames too old to be a reference."""
        self._times.append(ts)
        self._boxes.append(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
        old = bisect.bisect_left(self._times, ts - self.window_s - self._span_s)
        if old:
            del self._times[:old]
            del self._boxes[:old]


class DwellTimer:
    """How long a zone has been occupied, tolerating short gaps.

    An occupied *run* starts at the first occupied frame (or earlier, at ``since``, when
    the caller knows the occupant was already there — e.g. a box found stationary has
    stood there for the stationarity window) and continues while gaps between occupied
    frames are at most ``max_gap_s``. Alongside, it keeps the time-weighted fraction of
    the last ``window_s`` during which the zone was occupied (reported, not decided on).

    Args:
        max_gap_s: the longest gap in occupancy that does not break a run.
        window_s: the window of the occupancy fraction.
    """

    def __init__(self, max_gap_s: float, window_s: float) -> None:
        self.max_gap_s = float(max_gap_s)
        self.window_s = float(window_s)
        self._run_start: float | None = None
        self._last_present = float("-inf")
        # Sample-and-hold intervals (t0, t1, occupied) covering the recent window, with
        # running totals so the fraction costs O(1) per frame however long the window.
        self._intervals: deque[tuple[float, float, bool]] = deque()
        self._total = 0.0
        self._on = 0.0
        self._prev: tuple[float, bool] | None = None

    def update(self, ts: float, present: bool, since: float | None = None) -> float:
        """Record one frame; return the dwell (seconds of the current run, 0 if none)."""
        if present:
            if self._run_start is None or ts - self._last_present > self.max_gap_s:
                self._run_start = ts if since is None else min(ts, since)
            self._last_present = ts
        elif self._run_start is not None and ts - self._last_present > self.max_gap_s:
            self._run_start = None
        if self._prev is not None and ts > self._prev[0]:
            t0, was = self._prev
            self._intervals.append((t0, ts, was))
            self._total += ts - t0
            self._on += (ts - t0) if was else 0.0
        self._prev = (ts, present)
        horizon = ts - self.window_s
        while self._intervals and self._intervals[0][1] <= horizon:
            t0, t1, was = self._intervals.popleft()
            self._total -= t1 - t0
            self._on -= (t1 - t0) if was else 0.0
        return 0.0 if self._run_start is None else ts - self._run_start

    def occupancy(self) -> float:
        """Fraction of the last ``window_s`` (as far as frames cover it) that was occupied.

        Each frame's state holds until the next frame (sample-and-hold), so dropped frames
        do not bias the fraction.
        """
        if self._prev is None:
            return 0.0
        if not self._intervals:
            return float(self._prev[1])
        t0, _, was = self._intervals[0]
        excess = max(0.0, (self._prev[0] - self.window_s) - t0)
        total = self._total - excess
        on = self._on - (excess if was else 0.0)
        if total <= 1e-12:
            return float(self._prev[1])
        return min(1.0, max(0.0, on / total))
