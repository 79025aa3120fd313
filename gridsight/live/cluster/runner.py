"""The cameras a node runs: its engine, built lazily, changed at run time.

:func:`build_node_pipeline` is the one place the node asks for its engine: the live
pipeline's one assembly (:mod:`gridsight.live.pipeline`), as a service; the node's
control loop talks to :class:`EngineRunner` only (start / update / stop a camera,
status), so the engine behind it can change without the cluster code noticing.

The engine needs at least one camera to start, so it is built with the first cameras the
node claims and keeps running (waiting for cameras) when all of them move away.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import pluggy
from prometheus_client import CollectorRegistry

from gridsight.core.config import Township
from gridsight.core.config.camera import CameraConfig
from gridsight.core.engine import EngineStopped, LiveEngine
from gridsight.core.sinks.base import EventSink
from gridsight.live.engine_host import EngineHost
from gridsight.live.pipeline import LiveOptions, LivePipeline, build_pipeline

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


def build_node_pipeline(
    township: Township,
    cameras: Sequence[CameraConfig],
    pm: pluggy.PluginManager,
    options: LiveOptions,
    sinks: Iterable[EventSink],
) -> LivePipeline:
    """The node's pipeline: the one assembly, as a service, with no order store.

    The node's own sinks (its JetStream publisher) are added to the engine the assembly
    builds; everything else (engine options, camera validation against the township,
    the engine thread) is the assembly's.
    """
    extra = list(sinks)

    def engine_with_sinks(*args: Any, sinks: Iterable[EventSink] = (), **kwargs: Any) -> Any:
        return LiveEngine(*args, sinks=[*sinks, *extra], **kwargs)

    return build_pipeline(
        township,
        dataclasses.replace(options, service=True, db=None, engine=True),
        pm=pm,
        cameras=cameras,
        engine_factory=engine_with_sinks,
        channels=[],
    )


class EngineRunner:
    """Runs the node's cameras in the live pipeline (see the module docstring)."""

    def __init__(
        self,
        township: Township,
        pm: pluggy.PluginManager,
        *,
        options: LiveOptions | None = None,
        sinks: Iterable[EventSink] = (),
    ) -> None:
        self.township = township
        self.pm = pm
        self.options = options or LiveOptions(realtime=True)
        self.sinks = list(sinks)
        self.pipeline: LivePipeline | None = None

    def _host(self) -> EngineHost:
        host = self.pipeline.host if self.pipeline is not None else None
        if host is None:
            raise EngineStopped("the node's engine has not started")
        return host

    def start(self, configs: Sequence[CameraConfig]) -> None:
        if not configs:
            return
        if self.pipeline is None:
            self.pipeline = build_node_pipeline(
                self.township, configs, self.pm, self.options, self.sinks
            )
            self.pipeline.start()
            host = self._host()
            host.wait_built(COMMAND_TIMEOUT_S * 4)  # loading the model
            if host.phase == "failed":
                raise EngineStopped(f"the node's engine failed: {host.error}")
            return
        for cfg in configs:
            self._host().put_camera(cfg)

    def update(self, config: CameraConfig) -> None:
        self._host().put_camera(config)

    def stop(self, camera_id: str) -> None:
        if self.pipeline is not None:
            self._host().remove_camera(camera_id)

    def camera_status(self) -> dict[str, dict[str, Any]]:
        if self.pipeline is None or self.pipeline.host is None:
            return {}
        return {
            view.config.id: {
                "state": str(view.state),
                "fps": round(float(view.fps), 2),
                "frames": int(view.frames),
                "events": int(view.events),
            }
            for view in self.pipeline.host.cameras()
            if view.enabled
        }

    def metrics_registry(self) -> CollectorRegistry | None:
        """The running engine's metrics registry (None before it is built)."""
        host = self.pipeline.host if self.pipeline is not None else None
        engine = host.engine if host is not None else None
        return engine.metrics.registry if engine is not None else None

    def close(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close(flush_s=COMMAND_TIMEOUT_S)


__all__ = ["CameraRunner", "EngineRunner", "build_node_pipeline"]
