"""The engine as a service: runs until stopped and takes camera changes from any thread.

:class:`LiveEngine` is an :class:`~gridsight.core.engine.engine.Engine` that

- keeps running when every source has ended or no camera is left (a service waits for
  cameras to be added), until :meth:`~gridsight.core.engine.engine.Engine.stop`;
- takes camera commands (put / remove / enable / disable) from any thread and applies
  them *on the engine's loop thread*, between batches (the
  :meth:`~gridsight.core.engine.engine.Engine.between_batches` hook), so the loop's
  camera table never changes under it. :meth:`LiveEngine.submit` queues a command and
  returns a :class:`~concurrent.futures.Future` that resolves once it is applied.

A removed or disabled camera's reader stops, its frame queue leaves the batcher and its
open events end (written to the sinks as at the end of a run); frames of it still being
inferred are dropped when they come back. A camera whose zones or hazard settings change
keeps its reader and tracker (:meth:`~gridsight.core.engine.engine.Engine.replace_rules`);
its open events end and the new rules judge from the next frame. A camera whose source
changes is removed and added again. A camera the engine isolated (its pipeline kept
failing; see :meth:`~gridsight.core.engine.engine.Engine.health`) stays listed as
enabled; ``enable`` or a new ``put`` starts it afresh.

Example:
    >>> engine = LiveEngine(town, pm)                          # doctest: +SKIP
    >>> threading.Thread(target=engine.run).start()            # doctest: +SKIP
    >>> engine.submit("disable", "cam-01").result(timeout=15)  # doctest: +SKIP
    'disabled'
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from gridsight.core.engine.engine import Engine
from gridsight.core.errors import GridsightError
from gridsight.core.sources.state import CameraState

if TYPE_CHECKING:
    from gridsight.core.config.camera import CameraConfig

log = logging.getLogger("gridsight.engine")

CommandKind = Literal["put", "remove", "enable", "disable"]

#: The command kinds :meth:`LiveEngine.submit` takes.
COMMAND_KINDS: tuple[str, ...] = ("put", "remove", "enable", "disable")


class EngineStopped(GridsightError):
    """The engine is not running, so a camera change cannot be applied."""


@dataclass(slots=True)
class CameraCommand:
    """One queued camera change and the future that reports its outcome.

    The outcome is one of ``created``, ``updated``, ``removed``, ``enabled``,
    ``disabled``, ``unchanged`` or ``absent`` (no such camera).
    """

    kind: CommandKind
    camera_id: str
    config: CameraConfig | None = None
    future: Future[str] = field(default_factory=Future)


class LiveEngine(Engine):
    """An engine that serves until stopped and changes cameras at run time.

    Takes the arguments of :class:`~gridsight.core.engine.engine.Engine`.

    Attributes:
        readers_started: set once the loop has started the cameras' readers.
    """

    serves_until_stopped = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commands: queue.SimpleQueue[CameraCommand] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._configs: dict[str, CameraConfig] = {c: p.config for c, p in self.cameras.items()}
        self._enabled: dict[str, bool] = dict.fromkeys(self.cameras, True)
        self._accepting = True
        self.readers_started = threading.Event()

    # -- any thread ------------------------------------------------------------------------
    def camera_configs(self) -> dict[str, tuple[CameraConfig, bool]]:
        """``{camera id: (config, enabled)}`` as of the last applied command."""
        with self._lock:
            return {c: (cfg, self._enabled[c]) for c, cfg in self._configs.items()}

    def submit(
        self, kind: CommandKind, camera_id: str, config: CameraConfig | None = None
    ) -> Future[str]:
        """Queue a camera change; the future's result says what was done.

        Args:
            kind: ``put`` (add or replace; needs ``config``), ``remove``, ``enable`` or
                ``disable``.
            camera_id: the camera.
            config: the camera's config, for ``put``.

        Raises:
            ValueError: an unknown kind, or ``put`` without a config (or with another
                camera's config).
            EngineStopped: the engine is shutting down or has stopped.
        """
        if kind not in COMMAND_KINDS:
            raise ValueError(f"camera command must be one of {COMMAND_KINDS}, got {kind!r}")
        if kind == "put" and (config is None or config.id != camera_id):
            raise ValueError(f"put {camera_id!r} needs that camera's config")
        cmd = CameraCommand(kind, camera_id, config)
        with self._lock:
            if not self._accepting:
                raise EngineStopped("the engine is stopping; camera changes are not accepted")
            self._commands.put(cmd)
        return cmd.future

    # -- the engine's hooks (loop thread) --------------------------------------------------
    def on_readers_started(self) -> None:
        self.readers_started.set()

    def between_batches(self) -> None:
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

    def on_stopping(self) -> None:
        with self._lock:
            self._accepting = False
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return
            cmd.future.set_exception(EngineStopped("the engine stopped first"))

    # -- applying one command (loop thread) ------------------------------------------------
    def _apply(self, cmd: CameraCommand) -> str:
        cid = cmd.camera_id
        with self._lock:
            known = cid in self._configs
            enabled = self._enabled.get(cid, False)
        if cmd.kind == "put":
            if cmd.config is None:  # submit() refuses it; a direct caller might not
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
        if enabled and cid in self.cameras:  # enable
            return "unchanged"
        # Disabled, or enabled but isolated by the engine (its pipeline kept failing):
        # enabling starts it afresh.
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
            if same_source and cid in self.cameras:
                self.replace_rules(cfg)
            else:
                self.remove_camera(cid, keep_status=True)
                self.add_camera(cfg)
        with self._lock:
            self._configs[cid] = cfg
        return "updated"
