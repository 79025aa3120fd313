"""Scripted detection streams for the rule scenario tests.

An :class:`Actor` is one real object: a role, a box size, a piecewise-linear path of its
anchor (bottom centre) over time and a track id (which may change over time, to play a
tracker's id switches). :func:`stream` renders actors into per-frame ``Detections`` at a
frame rate, optionally dropping frames or single detections; :func:`run` feeds a stream
through :class:`CameraHazards` with one rule and returns the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.events import HazardEvent
from gridsight.core.hazards.rule import HazardRule
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import zones_from_config


@dataclass
class Actor:
    """One object of the scene.

    Attributes:
        role: its role.
        size: box width and height in pixels.
        path: ``[(t, x, y), ...]`` anchor (bottom centre) waypoints, linear in between;
            the actor exists from the first waypoint's time to the last one's.
        track: a fixed track id, or a function of time (id switches).
        conf: detection confidence.
        jitter: standard deviation of box-corner noise in pixels (detector jitter).
    """

    role: Role
    size: tuple[float, float]
    path: Sequence[tuple[float, float, float]]
    track: int | Callable[[float], int] = 1
    conf: float = 0.9
    jitter: float = 0.0
    _t: np.ndarray = field(init=False, repr=False)
    _xy: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        arr = np.asarray(self.path, dtype=float)
        self._t, self._xy = arr[:, 0], arr[:, 1:]

    def box(self, t: float) -> tuple[float, float, float, float] | None:
        if t < self._t[0] or t > self._t[-1]:
            return None
        x = float(np.interp(t, self._t, self._xy[:, 0]))
        y = float(np.interp(t, self._t, self._xy[:, 1]))
        w, h = self.size
        return (x - w / 2, y - h, x + w / 2, y)

    def track_at(self, t: float) -> int:
        return self.track(t) if callable(self.track) else self.track


def stay(x: float, y: float, t0: float, t1: float) -> list[tuple[float, float, float]]:
    """A path standing still at (x, y) from t0 to t1."""
    return [(t0, x, y), (t1, x, y)]


def stream(
    actors: Sequence[Actor],
    duration: float,
    *,
    fps: float = 5.0,
    drop_frames: float = 0.0,
    miss: float = 0.0,
    seed: int = 0,
) -> Iterator[tuple[float, Detections]]:
    """Frames ``(ts, Detections)`` from 0 to ``duration``.

    Args:
        drop_frames: probability that a whole frame never arrives.
        miss: probability that one detection is missed in a frame.
    """
    rng = np.random.default_rng(seed)
    for i in range(round(duration * fps) + 1):
        t = round(i / fps, 6)
        if rng.random() < drop_frames:
            continue
        rows, conf, cls, tid = [], [], [], []
        for a in actors:
            box = a.box(t)
            if box is None or rng.random() < miss:
                continue
            b = np.asarray(box) + (rng.normal(0, a.jitter, 4) if a.jitter else 0.0)
            rows.append(b)
            conf.append(a.conf)
            cls.append(int(a.role))
            tid.append(a.track_at(t))
        yield (
            t,
            Detections(
                xyxy=np.asarray(rows, dtype=np.float32).reshape(-1, 4),
                confidence=np.asarray(conf, dtype=np.float32),
                class_id=np.asarray(cls, dtype=np.int64),
                tracker_id=np.asarray(tid, dtype=np.int64),
            ),
        )


def run(
    rule_cls: type[HazardRule],
    zones: list[dict[str, Any]],
    settings: Mapping[str, Any] | None,
    frames: Iterator[tuple[float, Detections]],
    *,
    flush: bool = True,
    setup: Callable[[CameraHazards], None] | None = None,
    start: datetime | None = None,
) -> list[HazardEvent]:
    """Run one rule over a stream; returns all events (with a final flush).

    Frames carry the wall time ``start + ts`` (default :data:`START`, a weekday 10:00 in
    Jingqiao, outside vending's default allowed hours).
    """
    start = start if start is not None else START
    cam = CameraHazards.from_config(
        "cam-test",
        "ruijia",
        "ruijia-g01",
        zones_from_config(zones),
        {rule_cls.hazard: dict(settings or {})},
        {rule_cls.hazard: rule_cls},
    )
    if setup is not None:
        setup(cam)
    events: list[HazardEvent] = []
    last = 0.0
    for ts, det in frames:
        events.extend(cam.process(ts, det, start + timedelta(seconds=ts)))
        last = ts
    if flush:
        events.extend(cam.flush(last))
    return events


CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 2, 10, 0, 0, tzinfo=CST)


def at(hhmm: str, tz: timezone = CST) -> datetime:
    """A wall time ``HH:MM[:SS]`` on the test day in ``tz`` (default Jingqiao, UTC+8)."""
    parts = [int(p) for p in hhmm.split(":")] + [0]
    return datetime(2026, 3, 2, parts[0], parts[1], parts[2], tzinfo=tz)


def phases(events: Sequence[HazardEvent]) -> list[str]:
    return [e.phase for e in events]


def starts(events: Sequence[HazardEvent]) -> list[HazardEvent]:
    return [e for e in events if e.phase == "start"]
