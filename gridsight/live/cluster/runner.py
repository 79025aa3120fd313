"""The cameras a node runs: its engine, built lazily, changed at run time.

:func:`build_node_engine` is the one place the node asks for an engine; the node's
control loop talks to :class:`EngineRunner` only (start / update / stop a camera,
status), so the engine behind it can change without the cluster code noticing.

The engine needs at least one camera to start, so it is built with the first cameras the
node claims and keeps running (waiting for cameras) when all of them move away.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import pluggy

from gridsight.core.config.camera import CameraConfig
from gridsight.core.engine import EngineOptions, LiveEngine
from gridsight.core.sinks.base import EventSink

log = logging.getLogger("gridsight.cluster.runner")

#: Seconds a camera change may wait for the engine thread.
COMMAND_TIMEOUT_S = 30.0


class CameraRunner(Protocol):
    """What a node's control loop needs of the thing that runs its cameras."""

    def start(self, configs: Sequence[CameraConfig]) -> None:
        """Start these cameras (not running yet)."""

    def update(self, config: CameraConfig) -> None:
        """Apply a changed config of a running camera."""

    def stop(self, camera_id: str) -> None:
        """Stop a camera (its open events are ended and written to the sinks)."""

    def camera_status(self) -> dict[str, dict[str, Any]]:
        """``{camera: {"state", "fps", "frames", "events"}}`` of the running cameras."""

    def close(self) -> None:
        """Stop everything."""


def build_node_engine(
    cameras: Sequence[CameraConfig],
    pm: pluggy.PluginManager,
    *,
    backend: str,
    model: str | None,
    sinks: Iterable[EventSink],
    options: EngineOptions,
) -> Any:
    """The node's engine: today's :class:`LiveEngine` (the service's run-time engine)."""
    return LiveEngine(
        list(cameras), pm, backend=backend, model=model, sinks=list(sinks), options=options
    )


class EngineRunner:
    """Runs the node's cameras on one engine thread (see the module docstring)."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        *,
        backend: str = "auto",
        model: str | None = None,
        sinks: Iterable[EventSink] = (),
        options: EngineOptions | None = None,
    ) -> None:
        self.pm = pm
        self.backend = backend
        self.model = model
        self.sinks = list(sinks)
        self.options = options or EngineOptions(realtime=True)
        self.engine: Any = None
        self._thread: threading.Thread | None = None

    def start(self, configs: Sequence[CameraConfig]) -> None:
        if not configs:
            return
        if self.engine is None:
            self.engine = build_node_engine(
                configs,
                self.pm,
                backend=self.backend,
                model=self.model,
                sinks=self.sinks,
                options=self.options,
            )
            self._thread = threading.Thread(
                target=self.engine.run, name="gridsight-engine", daemon=True
            )
            self._thread.start()
            return
        for cfg in configs:
            self._command("put", cfg.id, cfg)

    def update(self, config: CameraConfig) -> None:
        self._command("put", config.id, config)

    def stop(self, camera_id: str) -> None:
        if self.engine is not None:
            self._command("remove", camera_id)

    def _command(self, kind: str, camera_id: str, config: CameraConfig | None = None) -> str:
        outcome: str = self.engine.submit(kind, camera_id, config).result(timeout=COMMAND_TIMEOUT_S)
        return outcome

    def camera_status(self) -> dict[str, dict[str, Any]]:
        if self.engine is None:
            return {}
        running = set(self.engine.camera_configs())
        return {
            c.camera: {
                "state": str(c.state),
                "fps": round(float(c.fps), 2),
                "frames": int(c.frames),
                "events": int(c.events),
            }
            for c in self.engine.status().cameras
            if c.camera in running
        }

    def close(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        if self._thread is not None:
            self._thread.join(timeout=COMMAND_TIMEOUT_S)


__all__ = ["CameraRunner", "EngineRunner", "build_node_engine"]
