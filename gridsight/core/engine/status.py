"""What the engine is doing now: per-camera state and counters, failing sinks and plugins.

:class:`StatusBoard` is the engine's mutable record (updated on the engine thread, read
from others under a lock); :meth:`StatusBoard.snapshot` returns an immutable
:class:`EngineStatus` that the live table, the end-of-run summary, the REST service and
the tests read. Nothing in here knows how to run a camera: it only records.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gridsight.core.sources.state import CameraState


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """One camera as the status table shows it.

    Attributes:
        camera: camera id.
        state: a :class:`~gridsight.core.sources.state.CameraState` (``starting`` |
            ``running`` | ``retrying`` | ``ended`` | ``failed`` | ``stopped``).
        frames: frames processed by the pipeline.
        drops: frames dropped by the bounded queue (or never processed).
        gated: frames the motion gate kept from the detector (still scene; see
            ``gridsight.core.engine.gate``): seen, not lost, and not counted in ``drops``.
        events: hazard events emitted (all phases).
        reconnects: reconnect attempts.
        errors: errors seen (open failures, read failures, a corrupt file).
        fps: processed frames per second of wall time, over the last few seconds.
        stream_ts: stream time of the last processed frame.
        last_frame_at: wall-clock time (epoch s) the last frame was processed, or None
            before the first: how long ago a camera was last seen, whatever its stream's
            own clock says.
        last_error: the last error's message, or None.
        view: ``ok`` | ``moved`` | ``covered`` | ``blinded``: the camera's view against
            its reference (``gridsight.core.sources.view_check``).
        isolated: why the engine took the camera out of the run because its pipeline
            kept failing (its state is then ``failed``), or None.
    """

    camera: str
    state: str = CameraState.STARTING
    frames: int = 0
    drops: int = 0
    gated: int = 0
    events: int = 0
    reconnects: int = 0
    errors: int = 0
    fps: float = 0.0
    stream_ts: float = 0.0
    last_frame_at: float | None = None
    last_error: str | None = None
    view: str = "ok"
    isolated: str | None = None


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    """A sink, plugin, hazard rule (``rule:<camera>:<hazard>``), tracker
    (``tracker:<camera>``) or evidence writer that has raised: how often and the last
    message."""

    name: str
    # "sink" | "plugin" | "rule" | "tracker" | "evidence" | "listener" | "camera" | "engine"
    kind: str
    errors: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """An immutable snapshot of the engine's status."""

    cameras: tuple[CameraStatus, ...]
    components: tuple[ComponentStatus, ...]
    events: dict[tuple[str, str], int]  # (hazard, phase) -> count
    elapsed_s: float
    running: bool
    run_id: str = ""

    def camera(self, camera_id: str) -> CameraStatus:
        """The status of one camera (KeyError if it is not in this engine)."""
        for cam in self.cameras:
            if cam.camera == camera_id:
                return cam
        raise KeyError(camera_id)

    def component(self, name: str) -> ComponentStatus | None:
        """The status of a sink/plugin that has raised, or None if it never has."""
        for comp in self.components:
            if comp.name == name:
                return comp
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (for the REST service and ``--json`` summaries)."""
        return {
            "run_id": self.run_id,
            "running": self.running,
            "elapsed_s": round(self.elapsed_s, 3),
            "cameras": [
                {
                    "camera": c.camera,
                    "state": c.state,
                    "frames": c.frames,
                    "drops": c.drops,
                    "gated": c.gated,
                    "events": c.events,
                    "reconnects": c.reconnects,
                    "errors": c.errors,
                    "fps": round(c.fps, 2),
                    "stream_ts": round(c.stream_ts, 3),
                    "last_frame_at": c.last_frame_at,
                    "last_error": c.last_error,
                    "view": c.view,
                    "isolated": c.isolated,
                }
                for c in self.cameras
            ],
            "components": [
                {"name": c.name, "kind": c.kind, "errors": c.errors, "last_error": c.last_error}
                for c in self.components
            ],
            "events": [
                {"hazard": h, "phase": p, "count": n} for (h, p), n in sorted(self.events.items())
            ],
        }


@dataclass
class _FpsWindow:
    """Frames per second over a sliding window of wall time (cheap: two numbers per tick)."""

    window_s: float = 3.0
    t0: float = field(default_factory=time.monotonic)
    n0: int = 0
    fps: float = 0.0

    def tick(self, frames: int, now: float) -> float:
        dt = now - self.t0
        if dt >= self.window_s:
            self.fps = (frames - self.n0) / dt
            self.t0, self.n0 = now, frames
        elif self.fps == 0.0 and dt > 0.5:
            self.fps = (frames - self.n0) / dt
        return self.fps


class StatusBoard:
    """The engine's mutable status record; thread-safe.

    Args:
        camera_ids: the cameras listed at start.
        run_id: the run's id.
        wall: the wall clock of ``last_frame_at`` (tests pass a fake one).
    """

    def __init__(
        self, camera_ids: list[str], run_id: str = "", wall: Callable[[], float] = time.time
    ) -> None:
        self._lock = threading.Lock()
        self._wall = wall
        self._cams = {c: CameraStatus(c) for c in camera_ids}
        self._fps = {c: _FpsWindow() for c in camera_ids}
        self._components: dict[str, ComponentStatus] = {}
        self._events: Counter[tuple[str, str]] = Counter()
        self._t0 = time.monotonic()
        self._running = True
        self.run_id = run_id

    def add_camera(self, camera: str) -> None:
        """List a camera added at run time (a fresh status; nothing if already listed)."""
        with self._lock:
            if camera not in self._cams:
                self._cams[camera] = CameraStatus(camera)
                self._fps[camera] = _FpsWindow()

    def remove_camera(self, camera: str) -> None:
        """Drop a camera removed at run time from the table."""
        with self._lock:
            self._cams.pop(camera, None)
            self._fps.pop(camera, None)

    def update_camera(self, camera: str, **changes: Any) -> None:
        """Set fields of one camera's status (e.g. ``state="failed", last_error=...``)."""
        with self._lock:
            self._cams[camera] = replace(self._cams[camera], **changes)

    def count_frames(self, camera: str, n: int, stream_ts: float) -> None:
        """Record ``n`` processed frames of ``camera`` up to ``stream_ts``, now."""
        now = self._wall()
        with self._lock:
            cam = self._cams[camera]
            frames = cam.frames + n
            fps = self._fps[camera].tick(frames, time.monotonic())
            self._cams[camera] = replace(
                cam, frames=frames, stream_ts=stream_ts, fps=fps, last_frame_at=now
            )

    def count_event(self, camera: str, hazard: str, phase: str) -> None:
        with self._lock:
            cam = self._cams[camera]
            self._cams[camera] = replace(cam, events=cam.events + 1)
            self._events[(hazard, phase)] += 1

    def component_error(self, name: str, kind: str, message: str) -> None:
        """Record that a sink/plugin/evidence writer raised."""
        with self._lock:
            comp = self._components.get(name, ComponentStatus(name, kind))
            self._components[name] = replace(comp, errors=comp.errors + 1, last_error=message)

    def camera_states(self) -> dict[str, str]:
        with self._lock:
            return {c: s.state for c, s in self._cams.items()}

    def stop(self) -> None:
        with self._lock:
            self._running = False

    def snapshot(self) -> EngineStatus:
        """An immutable copy of the current status."""
        with self._lock:
            return EngineStatus(
                cameras=tuple(self._cams.values()),
                components=tuple(self._components.values()),
                events=dict(self._events),
                elapsed_s=time.monotonic() - self._t0,
                running=self._running,
                run_id=self.run_id,
            )
