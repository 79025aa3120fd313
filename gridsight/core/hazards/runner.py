"""Running one camera's hazard rules: detections in, hazard events out.

:class:`CameraHazards` owns, for one camera, an instance of every hazard rule the camera's
config asks for and one :class:`~gridsight.core.hazards.lifecycle.HazardLifecycle` per rule.
Per frame it computes the anchors once (the camera's ``anchor`` point of every box,
stored in ``Detections.data["anchor"]`` so all rules agree on it), asks each rule for its
observation and lets the lifecycles turn observations into events.

Example:
    >>> from gridsight.core.hazards.zones import PolygonZone
    >>> from gridsight.plugins.rules.near_water import NearWaterRule
    >>> cam = CameraHazards.from_config(
    ...     "cam-1", "ruijia", "ruijia-g01",
    ...     zones={"water_edge": PolygonZone("water_edge", [[0, 0], [100, 0], [100, 100]])},
    ...     hazards={"near_water": {"confirm_s": 0}},
    ...     rule_classes={"near_water": NearWaterRule},
    ... )
    >>> [r.hazard for r in cam.rules]
    ['near_water']
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from gridsight.core.config.validation import format_validation
from gridsight.core.detection.detections import ANCHORS, Detections
from gridsight.core.errors import ConfigError, DataError, GridsightError, PluginError, origin
from gridsight.core.events import HazardEvent
from gridsight.core.hazards.lifecycle import Clock, HazardLifecycle, utc_now
from gridsight.core.hazards.rule import FrameInfo, HazardRule, RuleSettings
from gridsight.core.hazards.zones import ANCHOR_DATA_KEY, Zone


@dataclass(slots=True)
class _Slot:
    rule: HazardRule
    lifecycle: HazardLifecycle


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """A rule (or the tracker before it) that raised on one frame.

    Attributes:
        camera: the camera id.
        hazard: the hazard id whose rule raised.
        ts: stream time of the frame.
        error: the exception, wrapped in a :class:`PluginError` naming camera, hazard and
            the rule's class (the original is its ``__cause__``).
    """

    camera: str
    hazard: str
    ts: float
    error: GridsightError


class CameraHazards:
    """All hazard rules of one camera with their event lifecycles.

    Build it with :meth:`from_config`; call :meth:`process` once per frame with tracked
    detections (``class_id`` = role ids) in stream-time order, and :meth:`flush` at the
    end of the stream.

    Attributes:
        camera: the camera id.
        rules: the rule instances, in config order.
    """

    def __init__(
        self,
        camera: str,
        slots: list[_Slot],
        *,
        anchor: str = "bottom_center",
        clock: Clock = utc_now,
    ) -> None:
        self.camera = camera
        self.anchor = anchor
        self._clock = clock
        self._slots = slots
        self._last_ts: float | None = None
        self._failures: list[RuleFailure] = []

    @property
    def rules(self) -> list[HazardRule]:
        return [s.rule for s in self._slots]

    @property
    def lifecycles(self) -> dict[str, HazardLifecycle]:
        """``{hazard id: lifecycle}`` (read their state, e.g. the open event id)."""
        return {s.rule.hazard: s.lifecycle for s in self._slots}

    @classmethod
    def from_config(
        cls,
        camera_id: str,
        village: str,
        grid: str,
        zones: Mapping[str, Zone],
        hazards: Mapping[str, Mapping[str, Any] | None],
        rule_classes: Mapping[str, type[HazardRule]],
        anchor: str = "bottom_center",
        *,
        clock: Clock = utc_now,
    ) -> CameraHazards:
        """Build the camera's rules from its ``hazards:`` config.

        Args:
            camera_id: the camera id (in events and error messages).
            village: village id of the camera (copied into events).
            grid: grid id of the camera (copied into events).
            zones: the camera's zones (``zones_from_config``).
            hazards: ``{hazard id: settings mapping}``; a null/empty mapping takes the
                rule's defaults.
            rule_classes: ``{hazard id: HazardRule class}`` (``plugins.hazard_rules(pm)``).
            anchor: which box point decides "in zone" (see ``Detections.anchors``).
            clock: wall clock for frames that come without a wall time (the engine's
                always carry one, see :meth:`process`).

        Raises:
            ConfigError: an unknown hazard id or anchor, settings that do not validate, or
                a zone the settings name that the camera lacks; the message names the
                camera, the hazard and the field.
        """
        if anchor not in ANCHORS:
            raise ConfigError(
                f"camera {camera_id!r}: anchor {anchor!r} is unknown; "
                f"expected one of {', '.join(ANCHORS)}"
            )
        slots: list[_Slot] = []
        for hazard, raw in hazards.items():
            where = f"camera {camera_id!r}, hazards.{hazard}"
            rule_cls = rule_classes.get(hazard)
            if rule_cls is None:
                have = ", ".join(sorted(rule_classes)) or "none"
                raise ConfigError(
                    f"{where}: no plugin provides hazard {hazard!r} (available: {have}); "
                    "check the spelling or install the plugin"
                )
            try:
                settings = rule_cls.Settings.model_validate(dict(raw or {}))
            except ValidationError as exc:
                raise ConfigError(
                    f"{where}: {format_validation(exc, rule_cls.Settings, noun='setting')}"
                ) from exc
            if not isinstance(settings, RuleSettings):
                raise ConfigError(
                    f"{where}: the rule's Settings model {rule_cls.Settings.__name__} must "
                    "derive from gridsight.RuleSettings"
                )
            missing = [z for z in rule_cls.zone_names(settings) if z not in zones]
            if missing:
                have = ", ".join(sorted(zones)) or "none"
                raise ConfigError(
                    f"{where}: needs zone(s) {', '.join(missing)} that the camera does not "
                    f"define (zones: {have})"
                )
            try:
                rule = rule_cls(settings, zones)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from exc
            lifecycle = HazardLifecycle(
                camera_id, hazard, settings, village=village, grid=grid, clock=clock
            )
            slots.append(_Slot(rule, lifecycle))
        return cls(camera_id, slots, anchor=anchor, clock=clock)

    def process(
        self, ts: float, detections: Detections, wall_time: datetime | None = None
    ) -> list[HazardEvent]:
        """Run every rule on one frame and return the events it causes.

        Each rule runs in isolation: one that raises is recorded as a
        :class:`RuleFailure` (collect them with :meth:`take_failures`), its lifecycle is
        told the frame could not be judged (:meth:`HazardLifecycle.fail`), and the other
        rules' events of the frame are returned as if nothing had happened.

        Each rule gets the frame through :meth:`HazardRule.observe_frame` (its stream
        time and wall time, :class:`FrameInfo`), and the events carry the frame's wall
        time.

        Args:
            ts: stream time in seconds, non-decreasing from call to call.
            detections: the frame's tracked detections, ``class_id`` holding role ids.
            wall_time: the frame's wall-clock time (``Frame.wall_time``); None takes the
                runner's ``clock`` (for callers without frames, e.g. tests).

        Raises:
            DataError: ``ts`` goes backwards.
        """
        self._check_order(ts)
        frame = FrameInfo(ts, wall_time if wall_time is not None else self._clock())
        if len(detections):
            # A shallow copy with one more data array: the caller's object is untouched and
            # the arrays, validated when the detections were built, are not checked again.
            shared = copy.copy(detections)
            shared.data = {**detections.data, ANCHOR_DATA_KEY: detections.anchors(self.anchor)}
            detections = shared
        events: list[HazardEvent] = []
        for slot in self._slots:
            try:
                obs = slot.rule.observe_frame(frame, detections)
            except Exception as exc:
                self._failures.append(
                    RuleFailure(
                        self.camera, slot.rule.hazard, ts, _wrap(slot, self.camera, ts, exc)
                    )
                )
                events.extend(slot.lifecycle.fail(ts, frame.wall_time))
                continue
            events.extend(slot.lifecycle.step(ts, obs, frame.wall_time))
        return events

    def skip(self, ts: float, wall_time: datetime | None = None) -> list[HazardEvent]:
        """A frame no rule can judge (the tracker raised on it; the caller reports that):
        every lifecycle is told so (:meth:`HazardLifecycle.fail`).

        Raises:
            DataError: ``ts`` goes backwards.
        """
        self._check_order(ts)
        wall = wall_time if wall_time is not None else self._clock()
        events: list[HazardEvent] = []
        for slot in self._slots:
            events.extend(slot.lifecycle.fail(ts, wall))
        return events

    def take_failures(self) -> list[RuleFailure]:
        """The failures recorded since the last call (and forget them)."""
        failures, self._failures = self._failures, []
        return failures

    def _check_order(self, ts: float) -> None:
        if self._last_ts is not None and ts < self._last_ts:
            raise DataError(
                f"camera {self.camera!r}: frame time {ts} is before the previous frame "
                f"({self._last_ts}); frames must arrive in stream-time order"
            )
        self._last_ts = ts

    def flush(self, ts: float | None = None) -> list[HazardEvent]:
        """End every open event (end of stream); ``ts`` defaults to the last frame's time."""
        when = ts if ts is not None else self._last_ts
        events: list[HazardEvent] = []
        for slot in self._slots:
            events.extend(slot.lifecycle.flush(when))
        return events


def _wrap(slot: _Slot, camera: str, ts: float, exc: Exception) -> GridsightError:
    """A rule's exception as a PluginError naming camera, hazard and rule class."""
    if isinstance(exc, GridsightError):
        return exc
    rule = type(slot.rule)
    wrapped = PluginError(
        f"camera {camera!r}: hazard rule {slot.rule.hazard!r} "
        f"({rule.__module__}.{rule.__qualname__}) failed at ts={ts}: {exc!r} "
        f"(at {origin(exc)})"
    )
    wrapped.__cause__ = exc
    return wrapped
