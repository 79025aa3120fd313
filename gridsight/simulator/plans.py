"""Actor kinematics: piecewise-linear paths on the ground with stops.

A :class:`Plan` is one actor's whole life in the scene: when it appears, where it walks
or drives (way points on the ground, metres), where it stops and for how long, and when
it leaves. Everything about the actor at time ``t`` — position, facing, walking phase,
moving or not — is a pure function of ``t``, so any frame can be rendered on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridsight.simulator.camera import Camera
from gridsight.simulator.layout import points_in_polygon
from gridsight.simulator.sprites import Look

# Metres travelled per full animation cycle (a walking stride pair, a pedal turn).
_CYCLE_M = {"person": 1.5, "bicycle": 2.2, "ebike": 1.2, "motorbike": 1.6, "car": 1.6, "van": 1.6}


@dataclass(frozen=True, slots=True)
class ActorState:
    """An actor at one instant."""

    x: float
    z: float
    facing: int
    phase: float
    moving: bool


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """One actor's path.

    Attributes:
        look: what it looks like.
        track_ids: the truth track id of each part (the actor, then its rider if any).
        times: ``(k,)`` increasing way-point times in seconds of stream time.
        xz: ``(k, 2)`` way points on the ground (X, Z metres).
        facing: ``(k,)`` +1/-1: the facing on the segment that starts at each way point.
        dist: ``(k,)`` distance travelled up to each way point (drives the animation).
    """

    look: Look
    track_ids: tuple[int, ...]
    times: np.ndarray
    xz: np.ndarray
    facing: np.ndarray
    dist: np.ndarray

    @property
    def t0(self) -> float:
        return float(self.times[0])

    @property
    def t1(self) -> float:
        return float(self.times[-1])

    def state(self, t: float) -> ActorState:
        """Position, facing, animation phase and motion at time ``t`` (``t0 <= t <= t1``)."""
        times = self.times
        i = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2))
        span = times[i + 1] - times[i]
        f = 0.0 if span <= 0 else float(np.clip((t - times[i]) / span, 0.0, 1.0))
        x = float(self.xz[i, 0] + f * (self.xz[i + 1, 0] - self.xz[i, 0]))
        z = float(self.xz[i, 1] + f * (self.xz[i + 1, 1] - self.xz[i, 1]))
        d = float(self.dist[i] + f * (self.dist[i + 1] - self.dist[i]))
        moving = bool(self.dist[i + 1] - self.dist[i] > 1e-6)
        cycle = _CYCLE_M.get(self.look.kind, 1.5)
        return ActorState(x, z, int(self.facing[i]), 2 * np.pi * d / cycle, moving)

    def sample(self, step: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
        """Times every ``step`` seconds over the plan's life and the ground points then."""
        ts = np.arange(self.t0, self.t1, step)
        x = np.interp(ts, self.times, self.xz[:, 0])
        z = np.interp(ts, self.times, self.xz[:, 1])
        return ts, np.column_stack([x, z])

    def intervals_in(self, polygon: np.ndarray, step: float = 0.1) -> list[tuple[float, float]]:
        """The time intervals during which the actor's ground point is inside ``polygon``."""
        ts, pts = self.sample(step)
        if len(ts) == 0:
            return []
        inside = points_in_polygon(pts, polygon)
        out: list[tuple[float, float]] = []
        start: float | None = None
        for t, flag in zip(ts, inside, strict=True):
            if flag and start is None:
                start = float(t)
            elif not flag and start is not None:
                out.append((start, float(t)))
                start = None
        if start is not None:
            out.append((start, self.t1))
        return out


class PathBuilder:
    """Builds a :class:`Plan` leg by leg.

    Example:
        >>> b = PathBuilder(10.0, (0.0, 5.0))
        >>> b.move_to((3.0, 5.0), speed=1.5).wait(4.0).now
        16.0
    """

    def __init__(self, t0: float, start: tuple[float, float]) -> None:
        self.times: list[float] = [float(t0)]
        self.points: list[tuple[float, float]] = [(float(start[0]), float(start[1]))]

    @property
    def now(self) -> float:
        """Time at the end of the path so far."""
        return self.times[-1]

    @property
    def here(self) -> tuple[float, float]:
        """Position at the end of the path so far."""
        return self.points[-1]

    def move_to(self, point: tuple[float, float] | np.ndarray, speed: float) -> PathBuilder:
        """Go straight to ``point`` at ``speed`` metres per second."""
        p = (float(point[0]), float(point[1]))
        d = float(np.hypot(p[0] - self.here[0], p[1] - self.here[1]))
        self.times.append(self.now + max(d / max(speed, 1e-3), 1e-3))
        self.points.append(p)
        return self

    def wait(self, seconds: float) -> PathBuilder:
        """Stand still for ``seconds``."""
        if seconds > 0:
            self.times.append(self.now + float(seconds))
            self.points.append(self.here)
        return self

    def build(self, look: Look, track_ids: tuple[int, ...], camera: Camera) -> Plan:
        """Freeze the path into a plan; facing follows the direction of motion on screen."""
        times = np.asarray(self.times, np.float64)
        xz = np.asarray(self.points, np.float64)
        steps = np.hypot(*np.diff(xz, axis=0).T) if len(xz) > 1 else np.zeros(0)
        dist = np.concatenate([[0.0], np.cumsum(steps)])
        du = np.diff(camera.ground(xz)[:, 0]) if len(xz) > 1 else np.zeros(0)
        facing = np.zeros(len(xz), np.int8)
        last = 0
        for i, delta in enumerate(du):
            if abs(delta) > 1e-6 and steps[i] > 1e-6:
                last = 1 if delta > 0 else -1
            facing[i] = last
        # Stops before the first move take the facing of that move; default right.
        first = next((int(f) for f in facing if f != 0), 1)
        facing[facing == 0] = first
        if len(xz) == 1:
            times = np.array([times[0], times[0] + 1e-3])
            xz = np.vstack([xz, xz])
            dist = np.zeros(2)
            facing = np.array([first, first], np.int8)
        facing[-1] = facing[-2] if len(facing) > 1 else first
        return Plan(look, track_ids, times, xz, facing, dist)
