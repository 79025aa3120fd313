"""Running the engine on a background thread of the service, and changing its cameras.

:class:`EngineHost` builds a :class:`~gridsight.core.engine.LiveEngine` (loading the
model takes a while, so it happens on the thread too), runs it, and reports its phase
for readiness: ``idle`` -> ``loading`` -> ``running`` -> ``stopping`` -> ``stopped``
(or ``failed`` with the error). Camera changes are validated here, against the township,
exactly as the YAML loader validates them, before they reach the engine thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy
from pydantic import ValidationError

from gridsight.core.config.camera import CameraConfig
from gridsight.core.config.hazards import check_camera_hazards
from gridsight.core.config.township import Township
from gridsight.core.config.validation import format_validation
from gridsight.core.engine import EngineOptions, EngineStopped, LiveEngine
from gridsight.core.engine.health import EngineHealth
from gridsight.core.engine.status import EngineStatus
from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent
from gridsight.core.plugins import hazard_rules
from gridsight.core.sinks.base import EventSink

log = logging.getLogger("gridsight.live.engine")


#: Seconds a camera command may wait for the engine thread to apply it.
COMMAND_TIMEOUT_S = 15.0


def validate_camera(
    township: Township, rule_classes: Mapping[str, Any], data: CameraConfig | Mapping[str, Any]
) -> CameraConfig:
    """Check a camera as ``gridsight config check`` would inside ``township``.

    The camera model's own checks (zones inside the image, names, ...), the township's
    cross-references (its village and grid exist, the grid belongs to the village) and
    the hazard rules' settings (unknown hazard, bad setting, unknown zone) all apply.

    Raises:
        ConfigError: naming the field, e.g. ``cameras[3].grid: grid 'x' is not ...``.
    """
    try:
        cfg = data if isinstance(data, CameraConfig) else CameraConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"camera: {format_validation(exc, CameraConfig)}") from None
    others = [c for c in township.cameras if c.id != cfg.id]
    raw = township.model_dump(mode="python")
    raw["cameras"] = [*(c.model_dump(mode="python") for c in others), cfg.model_dump()]
    try:
        trial = type(township).model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"camera {cfg.id!r}: {format_validation(exc, type(township))}") from None
    only = trial.model_copy(update={"cameras": (trial.cameras[-1],)})
    check_camera_hazards(only, dict(rule_classes))
    return cfg


@dataclass(frozen=True, slots=True)
class CameraView:
    """A camera as the API lists it: config and its whole live status.

    Attributes:
        config: the camera's config.
        enabled: whether it runs (a disabled camera keeps its config).
        state: its reader's state (``starting`` | ``running`` | ``retrying`` | ``ended``
            | ``failed`` | ``stopped``), or the engine's phase before it is built.
        fps, frames, drops, events, reconnects, errors, stream_ts, last_frame_at,
            last_error: its counters (see :class:`~gridsight.core.engine.status.CameraStatus`).
        gated: frames the motion gate kept from the detector (still scene; not drops).
        view: ``ok`` | ``moved`` | ``covered`` | ``blinded``: its view against its
            reference (a view fault: the camera no longer sees what its zones assume).
        drop_share: dropped frames out of all it delivered (``drops / (frames + drops)``).
        degraded: ``drop_share`` is above the configured share
            (:attr:`EngineHost.degraded_drop_share`): it sees too little to be trusted.
        node, epoch: in a cluster, the node that runs it and its claim's epoch (None in
            a single process, or while no node holds it).
    """

    config: CameraConfig
    enabled: bool
    state: str
    fps: float = 0.0
    frames: int = 0
    drops: int = 0
    events: int = 0
    reconnects: int = 0
    errors: int = 0
    stream_ts: float = 0.0
    last_error: str | None = None
    last_frame_at: float | None = None
    gated: int = 0
    view: str = "ok"
    drop_share: float = 0.0
    degraded: bool = False
    node: str | None = None
    epoch: int | None = None


def drop_share(frames: int, drops: int) -> float:
    """Dropped frames out of all delivered (0 before any)."""
    seen = frames + drops
    return drops / seen if seen else 0.0


def camera_view(
    config: CameraConfig, enabled: bool, status: Any | None, *, degraded_share: float
) -> CameraView:
    """A :class:`CameraView` from a camera's config and its ``CameraStatus`` (or None)."""
    if status is None:
        return CameraView(config, enabled, "starting")
    share = drop_share(int(status.frames), int(status.drops))
    return CameraView(
        config,
        enabled,
        str(status.state),
        fps=float(status.fps),
        frames=int(status.frames),
        drops=int(status.drops),
        events=int(status.events),
        reconnects=int(status.reconnects),
        errors=int(status.errors),
        stream_ts=float(status.stream_ts),
        last_error=status.last_error,
        last_frame_at=getattr(status, "last_frame_at", None),
        gated=int(getattr(status, "gated", 0)),
        view=str(getattr(status, "view", "ok")),
        drop_share=share,
        degraded=enabled and share > degraded_share,
    )


class EngineHost:
    """Runs a :class:`LiveEngine` on a thread for the service.

    Args:
        township: the township config (its cameras are the engine's).
        pm: plugin manager.
        backend: inference backend name.
        model: ONNX path or registered detector name.
        options: engine options (``realtime`` is normal for a service).
        sinks: event sinks (the orders helper's store sink, JSONL, ...).
        listeners: callables receiving every event (the work-order intake, the live bus).
        engine_factory: builds the engine (tests pass one with a fake detector).
        degraded_drop_share: a camera dropping a larger share of its frames is degraded.
    """

    def __init__(
        self,
        township: Township,
        pm: pluggy.PluginManager,
        *,
        backend: str = "auto",
        model: str | None = None,
        options: EngineOptions | None = None,
        sinks: Iterable[EventSink] = (),
        listeners: Iterable[Callable[[HazardEvent], None]] = (),
        engine_factory: Callable[..., LiveEngine] | None = None,
        degraded_drop_share: float = 0.2,
    ) -> None:
        self.township = township
        self.degraded_drop_share = degraded_drop_share
        self.pm = pm
        self._backend = backend
        self._model = model
        self._options = options or EngineOptions(realtime=True)
        self._sinks = list(sinks)
        self._listeners = list(listeners)
        self._factory = engine_factory or LiveEngine
        self.engine: LiveEngine | None = None
        self.phase = "idle"
        self.since = time.time()  # of the host's last phase change (before the engine is built)
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._built = threading.Event()

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Build and run the engine on a background thread (returns at once)."""
        if self._thread is not None:
            return
        self.phase = "loading"
        self.since = time.time()
        self._thread = threading.Thread(target=self._run, name="gridsight-engine", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.engine = self._factory(
                self.township,
                self.pm,
                backend=self._backend,
                model=self._model,
                sinks=self._sinks,
                options=self._options,
                listeners=self._listeners,
            )
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self.phase = "failed"
            self.since = time.time()
            log.error("engine failed to start: %s", self.error)
            self._built.set()
            return
        self._built.set()
        if self.phase == "stopping":
            self.phase = "stopped"
            return
        self.phase = "running"
        try:
            self.engine.run()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self.phase = "failed"
            self.since = time.time()
            log.exception("engine stopped on an error")
            return
        self.phase = "stopped"

    def wait_built(self, timeout: float | None = None) -> bool:
        """Wait until the engine is built (or failed to build)."""
        return self._built.wait(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the engine (open events are ended and written) and wait for its thread."""
        if self.phase in ("running", "loading"):
            self.phase = "stopping"
        if self.engine is not None:
            self.engine.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.phase == "stopping" and (self._thread is None or not self._thread.is_alive()):
            self.phase = "stopped"

    def health(self) -> EngineHealth:
        """The engine's health (:meth:`Engine.health <gridsight.core.engine.Engine.health>`)
        once it is built; before that, or when building it failed, the host's own."""
        engine = self.engine
        if engine is not None and self.phase != "failed":
            return engine.health()
        restarts = engine.health().restarts if engine is not None else 0
        if self.phase == "failed":
            return EngineHealth(
                "failed", f"engine failed: {self.error}", self.since, False, restarts
            )
        if self.phase == "loading":
            return EngineHealth("starting", "loading the detector model", self.since, False, 0)
        if self.phase == "idle":
            return EngineHealth("starting", "not started yet", self.since, False, 0)
        return EngineHealth("stopped", f"engine {self.phase}", self.since, False, restarts)

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason): the engine's loop is running and every enabled camera's reader
        has started; else why not (the engine's phase and reason)."""
        health = self.health()
        if health.phase != "running":
            return False, f"engine {health.phase}: {health.reason}"
        engine = self.engine
        if engine is None or not engine.readers_started.is_set():
            return False, "starting the cameras"
        return True, "engine running"

    def status(self) -> EngineStatus | None:
        """The engine's status snapshot (None before it is built)."""
        return self.engine.status() if self.engine is not None else None

    # -- cameras ---------------------------------------------------------------------------
    def cameras(self) -> list[CameraView]:
        """Every camera the engine knows (enabled or not) with its live status."""
        engine = self.engine
        if engine is None:
            return [CameraView(c, True, self.phase) for c in self.township.cameras]
        status = {c.camera: c for c in engine.status().cameras}
        return [
            camera_view(cfg, enabled, status.get(cid), degraded_share=self.degraded_drop_share)
            for cid, (cfg, enabled) in engine.camera_configs().items()
        ]

    def camera(self, camera_id: str) -> CameraView | None:
        """One camera, or None."""
        for view in self.cameras():
            if view.config.id == camera_id:
                return view
        return None

    def _command(self, kind: Any, camera_id: str, config: CameraConfig | None = None) -> str:
        engine = self.engine
        if engine is None or self.phase != "running":
            raise EngineStopped(
                f"the engine is {self.phase}; cameras can be changed only while it runs"
            )
        future = engine.submit(kind, camera_id, config)
        return future.result(timeout=COMMAND_TIMEOUT_S)

    def put_camera(self, data: CameraConfig | Mapping[str, Any]) -> tuple[CameraConfig, str]:
        """Add or replace a camera (idempotent by id); returns it and what was done."""
        cfg = validate_camera(self.township, hazard_rules(self.pm), data)
        return cfg, self._command("put", cfg.id, cfg)

    def remove_camera(self, camera_id: str) -> str:
        """Remove a camera (``absent`` if it was not there)."""
        return self._command("remove", camera_id)

    def enable_camera(self, camera_id: str) -> str:
        """Enable a camera (``absent`` if unknown, ``unchanged`` if enabled already)."""
        return self._command("enable", camera_id)

    def disable_camera(self, camera_id: str) -> str:
        """Disable a camera (``absent`` if unknown, ``unchanged`` if disabled already)."""
        return self._command("disable", camera_id)


__all__ = [
    "CameraView",
    "EngineHost",
    "EngineStopped",
    "camera_view",
    "drop_share",
    "validate_camera",
]
