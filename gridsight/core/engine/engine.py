"""The engine: camera sources to hazard events, end to end.

::

    CameraReader threads (one per camera; bounded drop-oldest queues)
      -> Batcher (round-robin across cameras, max batch / max wait)
      -> Detector: preprocess (letterbox) | infer (backend) | decode + NMS + roles
      -> per camera: ByteTracker -> CameraHazards (zones, rules, lifecycle)
      -> events: evidence snapshot on start -> sinks -> ``gridsight_hazard_event`` hook

Isolation. A camera that cannot be opened or dies is retried by its reader and shown as
``retrying``/``failed`` while the others go on. A sink, a plugin's hook or a rule that
raises is caught, counted (metrics + status), logged, and the engine goes on; so does a
failing evidence snapshot (the event is written without one). Each sink writes on a
thread of its own (:mod:`gridsight.core.engine.sink_worker`), so a slow one (a locked
SQLite file, a hanging network) never stalls the cameras. A camera whose own pipeline
keeps raising is taken out of the run (``failed``, with the reason in its status's
``isolated``). Anything else that raises inside the loop (a backend failing a batch, a
subclass's hook, a bug) is logged with its traceback and counted, and the loop starts
again after a capped backoff (``EngineOptions.restart``); :meth:`Engine.health` says
which phase the loop is in, why, and since when.

Camera changes while running (:meth:`Engine.add_camera`, :meth:`Engine.remove_camera`,
:meth:`Engine.replace_rules`) happen on the loop's thread, between batches (the
:meth:`Engine.between_batches` hook; :class:`~gridsight.core.engine.live.LiveEngine`
queues them from other threads). A batch still being inferred for a camera removed or
replaced meanwhile is dropped when it comes back; the camera's open events were ended
and written at the change.

Time. ``--fast`` (default for files and synthetic cameras) runs as fast as the CPU
allows, readers waiting for queue space instead of dropping frames, and ``duration_s``
is stream time: a camera stops at its first frame at or after it. ``--realtime`` paces
each source to its clock; ``duration_s`` is then wall time. At the end (duration, all
sources ended, :meth:`Engine.stop`, or Ctrl-C) open events are ended
(``CameraHazards.flush``) and written before the sinks close.

Event ids. The hazard lifecycle makes ids unique per camera and hazard within a run
(``camera:hazard:start_ms:n``) and reproducible for a replayed stream. A restarted
engine replays nothing but starts its counters and (for live streams) its clock again,
so the engine appends ``@<run id>`` to every id: a new run never reuses an old run's id
in the same database, while a retried write within a run stays idempotent. The same
holds within a run for a camera changed while it runs (added again after a removal, a
new source, new rules): its new pipeline starts its counters and often its stream again,
so its ids get ``@<run id>.<k>``, k counting the camera's pipelines in this run.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pluggy

from gridsight.core.detection.detections import Detections
from gridsight.core.engine import priority
from gridsight.core.engine.batcher import Batcher, BatchItem
from gridsight.core.engine.camera import CameraPipeline
from gridsight.core.engine.gate import GatedQueue
from gridsight.core.engine.health import EngineHealth, HealthRecord
from gridsight.core.engine.inference import InferenceJob, InferenceWorker, LetterboxRing
from gridsight.core.engine.metrics import EngineMetrics
from gridsight.core.engine.options import EngineOptions, EngineSummary, new_run_id
from gridsight.core.engine.sink_worker import SinkWorker
from gridsight.core.engine.status import EngineStatus, StatusBoard
from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent
from gridsight.core.plugins import declare_plugin_vocabulary, hazard_rules
from gridsight.core.ratelimit import RateLimitedLog
from gridsight.core.sinks.base import EventSink
from gridsight.core.sinks.evidence import EvidenceWriter
from gridsight.core.sinks.evidence_clips import ClipRecorder
from gridsight.core.sources.base import Frame, SourceOptions
from gridsight.core.sources.frame_queue import FrameQueue
from gridsight.core.sources.reader import CameraReader
from gridsight.core.sources.state import CameraState
from gridsight.core.sources.view_check import ViewChecker

if TYPE_CHECKING:
    from gridsight.core.config.camera import CameraConfig
    from gridsight.core.config.township import Township
    from gridsight.core.detection.detector import Detector
    from gridsight.core.detection.pool import DetectorPool

log = logging.getLogger("gridsight.engine")

EventListener = Callable[[HazardEvent], None]


class Engine:
    """Runs cameras through detection, tracking and hazard rules to event sinks.

    Args:
        cameras: a township config (its ``cameras``) or a sequence of camera configs.
        pm: the plugin manager (``gridsight.core.plugins.build_plugin_manager``).
        backend: inference backend name (``auto``, ``onnxruntime``, ``opencv``, ...).
        model: ONNX path or registered detector name (None: the bundled detector).
        sinks: event sinks; the engine closes them at the end of :meth:`run`.
        options: see :class:`EngineOptions`.
        detector: a ready detector to use instead of building one (tests, benchmarks).
        listeners: callables receiving every event after the sinks (e.g. a live view).

    Example:
        >>> town = load_township("configs/jingqiao.yaml")            # doctest: +SKIP
        >>> pm = build_plugin_manager()                               # doctest: +SKIP
        >>> summary = Engine(town, pm, options=EngineOptions(duration_s=60)).run()  # doctest: +SKIP
    """

    def __init__(
        self,
        cameras: Township | Sequence[CameraConfig],
        pm: pluggy.PluginManager,
        backend: str = "auto",
        model: str | Path | None = None,
        sinks: Iterable[EventSink] = (),
        options: EngineOptions | None = None,
        *,
        detector: Detector | None = None,
        listeners: Iterable[EventListener] = (),
    ) -> None:
        self.options = options or EngineOptions()
        self.pm = pm
        camera_list = list(getattr(cameras, "cameras", cameras))
        if not camera_list:
            raise ConfigError("the engine needs at least one camera; the config has none")
        rule_classes = hazard_rules(self.pm)
        declare_plugin_vocabulary(self.pm, cameras)  # roles and trackers cameras may name
        self.cameras: dict[str, CameraPipeline] = {}
        for cam in camera_list:
            if cam.id in self.cameras:
                raise ConfigError(f"camera id {cam.id!r} appears twice")
            self.cameras[cam.id] = CameraPipeline(cam, rule_classes, self.options.tracker)
        view = self.options.view_check
        #: Per camera: is it still looking at its reference view (moved/covered/blinded)?
        self.views: dict[str, ViewChecker] = (
            {c.id: ViewChecker(c.id, c.village, c.grid, view) for c in camera_list}
            if view is not None
            else {}
        )
        self.sinks = list(sinks)
        self._sink_workers: list[SinkWorker] = []
        self.listeners = list(listeners)
        self._observers = self._event_observers()
        self.run_id = self.options.run_id or new_run_id()
        self.metrics = EngineMetrics()
        self._health = HealthRecord(self.metrics)
        self._restart_rng = np.random.default_rng()
        self._warnings = RateLimitedLog(log)
        self.board = StatusBoard(list(self.cameras), run_id=self.run_id)
        self.evidence = (
            EvidenceWriter(self.options.snapshots_dir, blur_faces=self.options.blur_faces)
            if self.options.snapshots_dir is not None
            else None
        )
        self.clips = ClipRecorder(self.options.clips) if self.options.clips is not None else None
        self.events: list[HazardEvent] = []
        self._starts: Counter[tuple[str, str]] = Counter()
        self._stop = threading.Event()
        self._owns_detector = detector is None
        #: The run's detectors, one per distinct camera ``detector:`` (None: ``detector``
        #: was given and serves every camera).
        self.pool: DetectorPool | None = None
        if detector is None:
            self.pool = self._build_pool(cameras, camera_list, backend, model)
            detector = self.pool.default
        self.detector = detector
        # A batch can never hold more than every queue's worth of frames: waiting for a
        # bigger one would only add max_wait_s to every batch (few cameras, --fast).
        max_batch = min(self.options.max_batch, len(self.cameras) * self.options.queue_size)
        self.batcher = Batcher(max_batch, self.options.max_wait_s)
        self._synced: dict[str, tuple[int, int, int]] = {}
        #: Pipelines made so far per camera id (the ``.k`` of later pipelines' event ids).
        self._pipelines: Counter[str] = Counter(self.cameras.keys())

    def _build_pool(
        self,
        cameras: Township | Sequence[CameraConfig],
        camera_list: list[CameraConfig],
        backend: str,
        model: str | Path | None,
    ) -> DetectorPool:
        """Every camera's detector, built and checked now (see ``DetectorPool``)."""
        from gridsight.core.detection.pool import DetectorPool

        township = cameras if hasattr(cameras, "cameras") else None
        return DetectorPool(
            camera_list,
            self.pm,
            default=self.options.detector or getattr(township, "detector", None),
            model=None if model is None else str(model),
            names=self.options.names,
            backend=backend,
            defaults=dict(
                conf=self.options.conf, iou=self.options.iou, max_det=self.options.max_det
            ),
            backend_options=self.options.backend_options,
        )

    def _detector_of(self, camera_id: str) -> Detector:
        """The detector that runs ``camera_id``'s frames."""
        return self.pool.for_camera(camera_id) if self.pool is not None else self.detector

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """Ask :meth:`run` to finish (flushing open events); safe from any thread."""
        self._stop.set()

    def status(self) -> EngineStatus:
        """A snapshot of per-camera state and counters and of failing components."""
        return self.board.snapshot()

    def health(self) -> EngineHealth:
        """The loop's phase, why, since when, and its restarts (any thread)."""
        return self._health.snapshot()

    # ------------------------------------------------------------------ hooks
    # A subclass extends the loop through these, never through its private methods.
    # Each is called on the loop's thread; the camera table (add_camera, remove_camera,
    # replace_rules) may be changed only from there (see LiveEngine for a command queue
    # that other threads use).

    #: Run until :meth:`stop` even when every source has ended or no camera is left (a
    #: service waits for cameras to reconnect or to be added). False: the run ends by
    #: itself once no camera can deliver a frame it still wants.
    serves_until_stopped: ClassVar[bool] = False

    def on_readers_started(self) -> None:
        """Hook: every camera's reader has been started. Does nothing by default."""

    def between_batches(self) -> None:
        """Hook: called on every turn of the loop, before the next batch is read.

        No frame is being post-processed then, so the camera table may change here; a
        batch still being inferred for a camera removed or replaced meanwhile is dropped
        when it comes back (its open events were ended at the removal). Does nothing by
        default.
        """

    def on_stopping(self) -> None:
        """Hook: the loop has ended; next the readers stop, open events end and the
        sinks close. Does nothing by default."""

    # ------------------------------------------------------------------ running
    def _start_readers(self) -> None:
        for k, pipe in enumerate(self.cameras.values()):
            self._open_reader(pipe, seed=k)

    def _open_reader(self, pipe: CameraPipeline, seed: int) -> None:
        """Start ``pipe``'s camera reader, feeding the batcher (through its motion gate)."""
        realtime = self.options.realtime
        cam = pipe.config
        opts = SourceOptions(
            fps=cam.fps,
            realtime=realtime,
            width=cam.resolution[0],
            height=cam.resolution[1],
            start_time=cam.start_time,
        )
        queue: FrameQueue[Frame]
        if self.options.motion_gate:
            gate = pipe.make_gate()
            if not realtime and self.options.duration_s is not None:
                gate.pass_from_ts = self.options.duration_s  # the frame that ends it
            queue = GatedQueue(gate, self.options.queue_size)
            self.batcher.register(cam.id, queue)
        else:
            queue = self.batcher.queue(cam.id, self.options.queue_size)
        reader = CameraReader(
            cam.id,
            cam.source,
            opts,
            pm=self.pm,
            queue=queue,
            backoff=self.options.backoff,
            # --fast over files/synthetic: wait for queue space, never drop a frame.
            backpressure=not realtime,
            seed=seed,
        )
        pipe.reader = reader
        reader.start()

    # ------------------------------------------------------------------ camera changes
    def add_camera(self, config: CameraConfig) -> None:
        """Start analysing one more camera (on the engine's thread, between batches).

        Its reader starts at once; the status board and the metrics list it.

        Raises:
            ConfigError: a camera with that id is already running.
        """
        if config.id in self.cameras:
            raise ConfigError(f"camera id {config.id!r} is already running")
        if self.pool is not None:
            self.pool.add(config)  # its model built and checked before anything starts
        pipe = self._new_pipeline(config)
        self.cameras[config.id] = pipe
        self.board.add_camera(config.id)
        self.board.update_camera(
            config.id, state=CameraState.STARTING, last_error=None, isolated=None
        )
        if config.id not in self.views and self.options.view_check is not None:
            self.views[config.id] = ViewChecker(
                config.id, config.village, config.grid, self.options.view_check
            )
        self._open_reader(pipe, seed=len(self.cameras) - 1)

    def remove_camera(self, camera_id: str, *, keep_status: bool = False) -> CameraPipeline | None:
        """Stop analysing a camera (engine thread): its reader stops, its open events end.

        The ended events are written to the sinks as at the end of a run. With
        ``keep_status`` the camera stays on the status board (e.g. as disabled).
        Returns the removed pipeline, or None when no such camera runs.
        """
        pipe = self.cameras.pop(camera_id, None)
        if pipe is None:
            return None
        if pipe.reader is not None:
            # Signalled, not waited for: a reader stuck in a dead camera's native read
            # would stall every camera's loop. Its frames can no longer be batched, and
            # any still in flight are dropped (they come from a reader no camera has).
            pipe.reader.stop(timeout=0.0)
        self.batcher.unregister(camera_id)
        self._synced.pop(camera_id, None)
        self.views.pop(camera_id, None)
        if self.pool is not None:
            self.pool.remove(camera_id)
        self._flush(pipe)
        if not keep_status:
            self.board.remove_camera(camera_id)
        return pipe

    def _new_pipeline(self, config: CameraConfig) -> CameraPipeline:
        """A pipeline for a camera changed at run time, numbered for its event ids."""
        pipe = CameraPipeline(config, hazard_rules(self.pm), self.options.tracker)
        pipe.generation = self._pipelines[config.id]
        self._pipelines[config.id] += 1
        return pipe

    def replace_rules(self, config: CameraConfig) -> None:
        """Give a running camera new zones and hazard settings (engine thread).

        The camera's reader, tracker and frame counters go on untouched; its open events
        end (written to the sinks) and the new rules judge from the next frame. The
        source (``source``, ``fps``, ``resolution``) must be the same: changing it is a
        :meth:`remove_camera` and an :meth:`add_camera`.

        Raises:
            KeyError: no camera with that id runs.
            ConfigError: the new zones or hazard settings are invalid.
        """
        old = self.cameras[config.id]
        new = self._new_pipeline(config)
        self._flush(old)
        new.tracker = old.tracker
        new.reader = old.reader
        new.gate = old.gate  # the reader's queue holds this gate
        new.last_ts = old.last_ts
        new.frames = old.frames
        self.cameras[config.id] = new

    def run(self) -> EngineSummary:
        """Run until the duration, the end of every source, :meth:`stop` or Ctrl-C.

        With an inference thread and ``pipeline_nice`` > 0 (Linux), the loop runs on a
        thread of its own at that lower priority (see :mod:`gridsight.core.engine.priority`)
        while this thread waits for it; Ctrl-C here still ends the run cleanly.
        """
        t0 = time.monotonic()
        # On the caller's thread, at the caller's priority: inference must not lose it.
        worker = self._start_worker()
        nice = self.options.pipeline_nice if worker is not None else 0
        if nice <= 0 or not priority.supported():
            return self._run(t0, worker)
        outcome: list[EngineSummary | BaseException] = []
        # An Event, not Thread.join: a join cut short by Ctrl-C can leave the thread
        # looking finished on CPython < 3.12, while Event.wait is interrupted cleanly.
        done = threading.Event()

        def loop() -> None:
            try:
                priority.lower_current_thread(nice)
                outcome.append(self._run(t0, worker))
            except BaseException as exc:  # handed back to the caller's thread
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=loop, name="gridsight-engine-loop", daemon=True).start()
        try:
            while not done.wait(0.25):
                pass
        except KeyboardInterrupt:
            self._interrupt()
            done.wait()
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _interrupt(self) -> None:
        log.warning("interrupted: ending open events and closing sinks")
        self._stop.set()

    def _run(self, t0: float, worker: InferenceWorker | None) -> EngineSummary:
        """The loop with its start and end (see :meth:`run`); a failure here is final."""
        try:
            return self._run_loop(t0, worker)
        except BaseException as exc:
            self._health.set("failed", f"{type(exc).__name__}: {exc}")
            raise

    def _run_loop(self, t0: float, worker: InferenceWorker | None) -> EngineSummary:
        deadline = (
            t0 + self.options.duration_s
            if self.options.realtime and self.options.duration_s is not None
            else math.inf
        )
        interrupted = False
        self._sink_workers = [SinkWorker(sink, self._sink_error) for sink in self.sinks]
        self._start_readers()
        self.on_readers_started()
        self._health.set("running", f"analysing {len(self.cameras)} camera(s)")
        try:
            self._loop_restarting(deadline, worker)
            interrupted = self._stop.is_set()
        except KeyboardInterrupt:
            interrupted = True
            self._interrupt()
        finally:
            self._health.set("stopping", "ending open events and closing the sinks")
            try:
                self.on_stopping()
                self._drain(worker)
            finally:
                if worker is not None:
                    worker.close()
                self._shutdown()
        self._health.set("stopped", "stopped on request" if interrupted else "the run is complete")
        status = self.board.snapshot()
        return EngineSummary(
            status=status,
            starts=dict(self._starts),
            frames=sum(p.frames for p in self.cameras.values()),
            batches=self.batcher.stats.batches,
            wall_s=time.monotonic() - t0,
            stages=self.metrics.stage_summary(),
            interrupted=interrupted,
            run_id=self.run_id,
            hazards={c: tuple(p.config.hazards) for c, p in self.cameras.items()},
            gated=sum(p.gate.counts()[1] for p in self.cameras.values() if p.gate is not None),
        )

    def _loop_restarting(self, deadline: float, worker: InferenceWorker | None) -> None:
        """Run :meth:`_loop`; when it raises, log, count and start it again after a backoff.

        Only what no camera, rule, tracker, sink or plugin isolates gets here (a backend
        that fails a batch, a hook that raises, a bug): the readers and sinks keep
        running through the restart, and the frames of the failed batch are lost.

        Raises:
            Exception: the loop's error, once ``options.restart.max_attempts`` consecutive
                failures are reached.
        """
        policy = self.options.restart
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                self._loop(deadline, worker)
                return
            except Exception as exc:
                if time.monotonic() - started >= policy.max_s:
                    attempt = 0  # it ran well for a while: this is a new failure
                attempt += 1
                reason = f"{type(exc).__name__}: {exc}"
                self.board.component_error("engine", "engine", reason)
                if policy.max_attempts is not None and attempt >= policy.max_attempts:
                    log.error("the engine loop failed %d times in a row; giving up", attempt)
                    raise
                delay = policy.delay(attempt, self._restart_rng)
                n = self._health.restarting(f"the loop failed ({reason}); restarting")
                log.error("the engine loop failed (restart %d, in %.2f s)", n, delay, exc_info=exc)
                if self._stop.wait(delay):
                    return
                self._health.set("running", f"running again after restart {n} ({reason})")

    def _loop(self, deadline: float, worker: InferenceWorker | None) -> None:
        """Batches until the deadline, the end of every source or :meth:`stop`."""
        last_sync = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= deadline:
                return
            busy = worker is not None and worker.in_flight > 0
            if worker is not None:
                self._finish_jobs(worker.done(timeout=0.0))
            self.between_batches()
            with self.metrics.time("read"):
                # With a batch in the worker, look for frames without lingering.
                wait = 0.005 if busy else min(0.25, max(0.0, deadline - now))
                batch = self._keep_wanted(self.batcher.next_batch(timeout=wait))
            if batch:
                self._process(batch, worker)
            elif worker is not None and worker.in_flight:
                self._finish_jobs(worker.done(timeout=0.25))
            if now - last_sync >= 0.5 or not batch:
                self._sync_status()
                last_sync = now
            idle = not batch and (worker is None or worker.in_flight == 0)
            if idle and self.serves_until_stopped:
                if not self.batcher.camera_ids:
                    self._stop.wait(0.05)  # no camera at all: wait for one, don't spin
            elif idle and self._finished():
                return

    def _finish_jobs(self, jobs: Iterable[InferenceJob]) -> None:
        for job in jobs:
            self._postprocess(job.items, job.outputs or [], job.infos, job.owners)

    def _drain(self, worker: InferenceWorker | None) -> None:
        """Post-process the batches still being inferred: they are within the run."""
        while worker is not None and worker.in_flight:
            try:
                self._finish_jobs(worker.done(timeout=5.0))
            except Exception as exc:  # the run is ending: the others still count
                log.error("a batch failed while the engine stopped", exc_info=exc)
                self.board.component_error("engine", "engine", f"{type(exc).__name__}: {exc}")

    def _start_worker(self) -> InferenceWorker | None:
        """The inference thread and its letterbox ring, if overlapping is on and possible."""
        size = getattr(self.detector, "input_size", None)
        if not self.options.overlap or size is None:
            self._ring: LetterboxRing | None = None
            return None
        from gridsight.core.detection.preprocess import Letterboxer

        self._ring = LetterboxRing(lambda: Letterboxer(size))
        return InferenceWorker(self.detector.infer, self.metrics)

    def _finished(self) -> bool:
        """No camera can deliver a frame the run still wants."""
        for pipe in self.cameras.values():
            if pipe.done:
                continue
            state = pipe.state()
            # 'retrying' cameras do not hold the run open: in --fast mode a missing file
            # would otherwise keep the engine waiting for ever.
            if state in ("starting", "running"):
                return False
            if pipe.reader is not None and len(pipe.reader.queue):
                return False
        return True

    def _keep_wanted(self, batch: list[BatchItem]) -> list[BatchItem]:
        """Drop frames at or past the run's stream-time duration (``--fast``)."""
        duration = self.options.duration_s
        if duration is None or self.options.realtime or not batch:
            return batch
        kept = []
        for item in batch:
            pipe = self.cameras[item.camera_id]
            if item.frame.ts >= duration:
                if not pipe.done:
                    pipe.done = True
                    if pipe.reader is not None:
                        pipe.reader.stop(timeout=0.0)
                    self.board.update_camera(pipe.id, state=CameraState.ENDED)
                continue
            if not pipe.done:
                kept.append(item)
        return kept

    def _process(self, batch: list[BatchItem], worker: InferenceWorker | None) -> None:
        """Letterbox a batch, then infer it on the worker (or here) and post-process."""
        m = self.metrics
        if self.pool is not None and len(self.pool.detectors) > 1:
            groups: dict[int, list[BatchItem]] = {}
            for item in batch:
                groups.setdefault(id(self._detector_of(item.camera_id)), []).append(item)
            if len(groups) > 1 or id(self.detector) not in groups:
                # Cameras on other models: each model's frames are one batch of its own,
                # run here; the default model's keep the inference thread.
                for items in groups.values():
                    det = self._detector_of(items[0].camera_id)
                    if det is self.detector:
                        self._process(items, worker)
                        continue
                    m.batch_size.observe(len(items))
                    with m.time("preprocess"):
                        tensor, infos = det.preprocess([it.frame.image for it in items])
                    with m.time("infer"):
                        outputs = det.infer(tensor)
                    owners = [self.cameras[it.camera_id].reader for it in items]
                    self._postprocess(items, outputs, infos, owners, det)
                return
        images = [item.frame.image for item in batch]
        owners = [self.cameras[item.camera_id].reader for item in batch]
        m.batch_size.observe(len(batch))
        if worker is not None and self._ring is not None:
            with m.time("preprocess"):
                tensor, infos = self._ring(images)
            worker.submit(InferenceJob(batch, tensor, infos, owners=owners))
            return
        with m.time("preprocess"):
            tensor, infos = self.detector.preprocess(images)
        with m.time("infer"):
            outputs = self.detector.infer(tensor)
        self._postprocess(batch, outputs, infos, owners)

    def _postprocess(
        self,
        batch: list[BatchItem],
        outputs: Any,
        infos: Any,
        owners: Sequence[Any],
        detector: Detector | None = None,
    ) -> None:
        """Decode, track, run the rules and emit the events of one inferred batch.

        ``owners`` are the readers the frames came from. A frame whose camera was
        removed, replaced (a new reader) or isolated since it was batched is dropped:
        its open events were ended and written at the change, and a new pipeline must
        not judge an old stream's frames.
        """
        m = self.metrics
        with m.time("decode"):
            per_frame = (detector or self.detector).postprocess(outputs, infos)
        processed: dict[str, tuple[CameraPipeline, int]] = {}
        for item, dets, owner in zip(batch, per_frame, owners, strict=True):
            pipe = self.cameras.get(item.camera_id)
            if pipe is None or pipe.reader is not owner:
                continue
            try:
                kept = self._frame(pipe, item, dets)
            except Exception as exc:
                self._camera_failed(pipe, exc)
                continue
            pipe.failures = 0
            if kept:
                n = processed.get(pipe.id, (pipe, 0))[1]
                processed[pipe.id] = (pipe, n + 1)
        for cam_id, (pipe, n) in processed.items():
            m.of_camera(m.frames, cam_id).inc(n)
            self.board.count_frames(cam_id, n, pipe.last_ts)

    def _frame(self, pipe: CameraPipeline, item: BatchItem, dets: Detections) -> bool:
        """Track one frame, run its rules and view check, emit its events.

        Returns False for a frame dropped because its clock went backwards.
        """
        m = self.metrics
        ts = item.frame.ts
        if ts < pipe.last_ts:
            # A source whose clock went backwards: the lifecycle needs order.
            log.warning(
                "camera %s: frame at t=%.3f before t=%.3f dropped", pipe.id, ts, pipe.last_ts
            )
            return False
        with m.time("track"):
            try:
                tracked: Detections | None = pipe.track(ts, dets)
            except Exception as exc:
                # The tracker failed on this frame: no rule can judge it (see skip()).
                self._component_error(f"tracker:{pipe.id}", "tracker", exc)
                m.tracker_errors.labels(camera=pipe.id).inc()
                tracked = None
        with m.time("rules"):
            # Each rule runs in isolation inside the camera's runner: a failing one is
            # recorded there and the others' events of the frame are kept.
            wall = item.frame.wall_time
            events = pipe.rules(ts, tracked, wall) if tracked is not None else pipe.skip(ts, wall)
            for failure in pipe.hazards.take_failures():
                m.rule_errors.labels(camera=failure.camera, hazard=failure.hazard).inc()
                self._component_error(
                    f"rule:{failure.camera}:{failure.hazard}", "rule", failure.error
                )
        if self.clips is not None:  # before the start is emitted: its pre-roll
            self.clips.add_frame(pipe.id, ts, item.frame.image, tracked)
        view = self.views.get(pipe.id)
        if view is not None:
            view_events = view.observe(ts, item.frame.image, wall)
            if view_events:
                self.board.update_camera(pipe.id, view=str(view.state))
                events = [*events, *view_events]
        if events:
            with m.time("sinks"):
                for ev in events:
                    self._emit(pipe, ev, item.frame.image, tracked)
        return True

    def _camera_failed(self, pipe: CameraPipeline, exc: Exception) -> None:
        """A camera's pipeline raised on a frame: count it; isolate the camera if it
        keeps doing so (``options.isolate_after`` frames in a row)."""
        pipe.failures += 1
        message = f"{type(exc).__name__}: {exc}"
        log.error("camera %s: its pipeline raised on a frame", pipe.id, exc_info=exc)
        self.board.component_error(f"camera:{pipe.id}", "camera", message)
        if pipe.failures >= self.options.isolate_after:
            reason = f"its pipeline raised on {pipe.failures} frames in a row: {message}"
            self._isolate(pipe, reason)

    def _isolate(self, pipe: CameraPipeline, reason: str) -> None:
        """Take a failing camera out of the run (its open events end); the others go on."""
        log.error("camera %s isolated: %s", pipe.id, reason)
        self.remove_camera(pipe.id, keep_status=True)
        self.board.update_camera(
            pipe.id, state=CameraState.FAILED, last_error=reason, isolated=reason
        )
        self.metrics.set_camera_state(pipe.id, CameraState.FAILED)
        self.metrics.of_camera(self.metrics.camera_isolations, pipe.id).inc()

    # ------------------------------------------------------------------ events
    def _emit(
        self,
        pipe: CameraPipeline,
        event: HazardEvent,
        image: Any = None,
        tracked: Detections | None = None,
    ) -> None:
        run = f"{self.run_id}.{pipe.generation}" if pipe.generation else self.run_id
        event = dataclasses.replace(event, id=f"{event.id}@{run}")
        if event.phase == "start":
            self._starts[(event.camera, event.hazard)] += 1
            if self.evidence is not None and image is not None:
                try:
                    path = self.evidence.save(event, image, pipe.zone_dicts, tracked)
                    event = dataclasses.replace(event, snapshot=path)
                except Exception as exc:
                    self._component_error("evidence", "evidence", exc)
            if self.clips is not None:
                event = dataclasses.replace(event, clip=self.clips.start(event))
        self.metrics.events.labels(hazard=event.hazard, phase=event.phase).inc()
        self.board.count_event(event.camera, event.hazard, event.phase)
        if self.options.keep_events:
            self.events.append(event)
        for worker in self._sink_workers:
            worker.write(event)  # written on the sink's own thread: never blocks here
        self._call_plugins(event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as exc:
                self._component_error("listener", "listener", exc)

    def _event_observers(self) -> list[tuple[str, Any]]:
        """One pluggy caller per ``gridsight_hazard_event`` implementation.

        pluggy stops a hook call at the first exception, so each implementation gets a
        caller of its own (``subset_hook_caller``, in pluggy's order: last registered
        first): one failing observer never keeps the event from the others, and every
        call still goes through pluggy, so ``GRIDSIGHT_TRACE_PLUGINS=1`` shows it.
        """
        name = "gridsight_hazard_event"
        impls = [
            impl
            for impl in self.pm.hook.gridsight_hazard_event.get_hookimpls()
            # wrappers make no sense for an observer hook
            if not (getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False))
        ]
        plugins = [impl.plugin for impl in impls]
        return [
            (
                impl.plugin_name,
                self.pm.subset_hook_caller(
                    name, remove_plugins=[p for p in plugins if p is not impl.plugin]
                ),
            )
            for impl in reversed(impls)
        ]

    def _call_plugins(self, event: HazardEvent) -> None:
        """Call every ``gridsight_hazard_event`` implementation, each in isolation."""
        for plugin_name, caller in self._observers:
            try:
                caller(event=event)
            except Exception as exc:
                self.metrics.plugin_errors.labels(plugin=plugin_name).inc()
                self._component_error(f"plugin:{plugin_name}", "plugin", exc)

    def _sink_error(self, sink: EventSink, exc: BaseException) -> None:
        """A sink's write (on its worker thread) or close raised: count it, go on."""
        name = str(getattr(sink, "name", type(sink).__name__))
        self.metrics.sink_errors.labels(sink=name).inc()
        self._component_error(f"sink:{name}", "sink", exc)

    def _component_error(self, name: str, kind: str, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        # Once in full (traceback at -v), then a line per interval with a count: a rule
        # failing on every frame must not write a warning per frame.
        self._warnings.warning(name, "%s raised %s; going on", name, message, exc_info=exc)
        self.board.component_error(name, kind, message)

    # ------------------------------------------------------------------ status
    def _sync_status(self) -> None:
        """Copy reader counters into the status board and the metrics."""
        for pipe in self.cameras.values():
            reader = pipe.reader
            if reader is None:
                continue
            snap = reader.snapshot()
            state = pipe.state()
            gated = pipe.gate.counts()[1] if pipe.gate is not None else 0
            self.board.update_camera(
                pipe.id,
                state=state,
                drops=snap.queue_drops,
                gated=gated,
                reconnects=snap.reconnects,
                errors=snap.errors,
                last_error=snap.last_error,
            )
            drops0, rec0, gated0 = self._synced.get(pipe.id, (0, 0, 0))
            if snap.queue_drops > drops0:
                self.metrics.of_camera(self.metrics.drops, pipe.id).inc(snap.queue_drops - drops0)
            if snap.reconnects > rec0:
                self.metrics.of_camera(self.metrics.reconnects, pipe.id).inc(snap.reconnects - rec0)
            if gated > gated0:
                self.metrics.of_camera(self.metrics.gated, pipe.id).inc(gated - gated0)
            self._synced[pipe.id] = (snap.queue_drops, snap.reconnects, gated)
            self.metrics.set_camera_state(pipe.id, state)
            self.metrics.of_camera(self.metrics.queue_depth, pipe.id).set(snap.queue_len)

    def _flush(self, pipe: CameraPipeline) -> None:
        """End a camera's open events and write them (a failure is recorded, not raised)."""
        try:
            for ev in pipe.flush():
                self._emit(pipe, ev)
        except Exception as exc:
            self._component_error(f"rules:{pipe.id}", "plugin", exc)

    def _shutdown(self) -> None:
        for pipe in self.cameras.values():
            if pipe.reader is not None:
                pipe.reader.stop(timeout=0.0)
        for pipe in self.cameras.values():
            if pipe.reader is not None:
                pipe.reader.stop(timeout=2.0)
        self._sync_status()
        for pipe in self.cameras.values():
            self._flush(pipe)
        for worker in self._sink_workers:
            try:
                if not worker.close():
                    self._sink_error(
                        worker.sink,
                        TimeoutError(f"sink {worker.name!r} still stuck at the end of the run"),
                    )
            except Exception as exc:
                self._sink_error(worker.sink, exc)
        if self.clips is not None:
            try:
                self.clips.close()
            except Exception as exc:
                self._component_error("clips", "evidence", exc)
        if self._owns_detector:
            if self.pool is not None:
                self.pool.close()
            else:
                self.detector.close()
        self.board.stop()
