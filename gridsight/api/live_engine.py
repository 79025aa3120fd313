"""The engine as a service: runs until stopped and takes camera changes at run time.

:class:`LiveEngine` is an :class:`~gridsight.core.engine.Engine` that

- keeps running when every source has ended or no camera is left (a service waits for
  cameras to be added), until :meth:`~gridsight.core.engine.Engine.stop`;
- applies camera commands (put / remove / enable / disable) *on the engine thread*,
  between batches, so the loop never sees its camera table change under it. A command
  is queued with :meth:`LiveEngine.submit` and its :class:`~concurrent.futures.Future`
  resolves once applied.

A removed or disabled camera's reader is stopped, its frame queue unregistered from the
batcher and its open events ended (written to the sinks like at the end of a run). A
camera whose zones or hazard settings change keeps its reader and tracker; its open
events are ended and the new rules start from the next frame.

The camera changes themselves are the core's :meth:`~gridsight.core.engine.Engine.add_camera`
and :meth:`~gridsight.core.engine.Engine.remove_camera` (the same reader set-up as at
start, motion gate and view check included); this class adds the command queue, the
service's loop hooks (``_sync_status``, ``_finished``, ``_shutdown``) and what the API
reads.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from gridsight.core.config.camera import CameraConfig
from gridsight.core.engine import Engine
from gridsight.core.engine.camera import CameraPipeline
from gridsight.core.errors import GridsightError
from gridsight.core.plugins import hazard_rules
from gridsight.core.sources.state import CameraState

log = logging.getLogger("gridsight.api.engine")

CommandKind = Literal["put", "remove", "enable", "disable"]


class EngineStopped(GridsightError):
    """The engine is not running, so a camera change cannot be applied."""


@dataclass(slots=True)
class CameraCommand:
    """One queued camera change and the future that reports its outcome."""

    kind: CommandKind
    camera_id: str
    config: CameraConfig | None = None
    future: Future[str] = field(default_factory=Future)


class LiveEngine(Engine):
    """An engine that serves until stopped and changes cameras at run time.

    Takes the arguments of :class:`~gridsight.core.engine.Engine`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commands: queue.SimpleQueue[CameraCommand] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._configs: dict[str, CameraConfig] = {c: p.config for c, p in self.cameras.items()}
        self._enabled: dict[str, bool] = dict.fromkeys(self.cameras, True)
        self._accepting = True
        self.readers_started = threading.Event()

    # -- what the API reads (any thread) -------------------------------------------------
    def camera_configs(self) -> dict[str, tuple[CameraConfig, bool]]:
        """``{camera id: (config, enabled)}`` as of the last applied command."""
        with self._lock:
            return {c: (cfg, self._enabled[c]) for c, cfg in self._configs.items()}

    def submit(
        self, kind: CommandKind, camera_id: str, config: CameraConfig | None = None
    ) -> Future[str]:
        """Queue a camera change; the future's result says what was done.

        Raises:
            EngineStopped: the engine is shutting down or has stopped.
        """
        if not self._accepting:
            raise EngineStopped("the engine is stopping; camera changes are not accepted")
        cmd = CameraCommand(kind, camera_id, config)
        self._commands.put(cmd)
        return cmd.future

    # -- engine-thread hooks -------------------------------------------------------------
    def _start_readers(self) -> None:
        super()._start_readers()
        self.readers_started.set()

    def _finished(self) -> bool:
        # A service waits for cameras (added later, or reconnecting) until stop().
        return False

    def _sync_status(self) -> None:
        self._apply_commands()
        super()._sync_status()

    def _shutdown(self) -> None:
        self._accepting = False
        try:
            super()._shutdown()
        finally:
            while True:
                try:
                    cmd = self._commands.get_nowait()
                except queue.Empty:
                    break
                cmd.future.set_exception(EngineStopped("the engine stopped first"))

    # -- applying commands (engine thread) -------------------------------------------------
    def _apply_commands(self) -> None:
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                outcome = self._apply(cmd)
            except Exception as exc:
                log.warning("camera %s: %s failed: %s", cmd.camera_id, cmd.kind, exc)
                cmd.future.set_exception(exc)
            else:
                cmd.future.set_result(outcome)

    def _apply(self, cmd: CameraCommand) -> str:
        cid = cmd.camera_id
        with self._lock:
            known = cid in self._configs
            enabled = self._enabled.get(cid, False)
        if cmd.kind == "put":
            if cmd.config is None:
                raise ValueError("put needs a camera config")
            return self._put(cmd.config, known=known, enabled=enabled)
        if not known:
            return "absent"
        if cmd.kind == "remove":
            self.remove_camera(cid)
            self.board.remove_camera(cid)  # a disabled camera is only on the board
            with self._lock:
                del self._configs[cid]
                del self._enabled[cid]
            return "removed"
        if cmd.kind == "disable":
            if not enabled:
                return "unchanged"
            self.remove_camera(cid, keep_status=True)
            self.board.update_camera(cid, state=CameraState.STOPPED)
            self.metrics.set_camera_state(cid, CameraState.STOPPED)
            with self._lock:
                self._enabled[cid] = False
            return "disabled"
        # enable
        if enabled:
            return "unchanged"
        with self._lock:
            cfg = self._configs[cid]
        self.add_camera(cfg)
        with self._lock:
            self._enabled[cid] = True
        return "enabled"

    def _put(self, cfg: CameraConfig, *, known: bool, enabled: bool) -> str:
        cid = cfg.id
        if not known:
            self.add_camera(cfg)
            with self._lock:
                self._configs[cid] = cfg
                self._enabled[cid] = True
            return "created"
        with self._lock:
            old = self._configs[cid]
        if old == cfg:
            return "unchanged"
        if enabled:
            same_source = (old.source, old.fps, old.resolution) == (
                cfg.source,
                cfg.fps,
                cfg.resolution,
            )
            if same_source:
                self._swap_rules(cfg)
            else:
                self.remove_camera(cid, keep_status=True)
                self.add_camera(cfg)
        with self._lock:
            self._configs[cid] = cfg
        return "updated"

    def _swap_rules(self, cfg: CameraConfig) -> None:
        old = self.cameras[cfg.id]
        new = CameraPipeline(cfg, hazard_rules(self.pm), self.options.tracker)
        for ev in old.flush():
            self._emit(old, ev)
        new.tracker = old.tracker
        new.reader = old.reader
        new.gate = old.gate  # the reader's queue holds this gate
        new.last_ts = old.last_ts
        new.frames = old.frames
        self.cameras[cfg.id] = new
