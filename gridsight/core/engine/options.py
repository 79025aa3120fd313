"""How the engine runs (:class:`EngineOptions`) and what a run did (:class:`EngineSummary`).

Both are plain frozen values: the options are checked when built (a bad value is a
:class:`~gridsight.core.errors.ConfigError` naming it), and the summary is what
:meth:`~gridsight.core.engine.engine.Engine.run` returns.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridsight.core.engine import priority
from gridsight.core.engine.status import EngineStatus
from gridsight.core.errors import ConfigError
from gridsight.core.sources.reader import BackoffPolicy
from gridsight.core.sources.view_check import ViewCheckSettings

if TYPE_CHECKING:
    from gridsight.core.config.detector import DetectorConfig
    from gridsight.core.sinks.evidence_clips import ClipSettings
    from gridsight.core.tracking.bytetrack import TrackerSettings


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How the engine runs.

    Attributes:
        duration_s: stop after this much stream time (``--fast``) or wall time
            (``--realtime``); None runs until the sources end or :meth:`Engine.stop`.
        realtime: pace sources to their clocks (live-like) instead of as fast as possible.
        max_batch: most frames per inference batch.
        max_wait_s: a partial batch leaves after its first frame waited this long.
        queue_size: per-camera frame queue capacity (drop-oldest when full).
        conf: detector score threshold.
        iou: NMS IoU threshold.
        max_det: most detections per frame.
        names: class names of the run's model (``--names``), over the config's
            ``detector.names``; checked against the model's class count at load.
        detector: the township's ``detector:`` block (the default of every camera
            without its own); read from the township itself when the engine gets one.
        snapshots_dir: where evidence JPEGs go; None writes none.
        clips: an H.264 clip around each event start (``--clips DIR``); None writes none.
        blur_faces: blur faces (and person heads) in evidence snapshots.
        run_id: suffix of every event id; a fresh one per run if None.
        backoff: camera reconnect policy (the reader's default if None).
        tracker: ByteTrack parameters (defaults if None).
        backend_options: passed to the inference backend (threads, precision, ...).
        keep_events: keep every emitted event in :attr:`Engine.events` (tests, demo).
        overlap: infer on a second thread while this one letterboxes the next batch and
            post-processes the previous one (see ``gridsight.core.engine.inference``).
        motion_gate: run the detector only on frames with motion, plus a keep-alive
            frame of still scenes (each camera's ``motion:`` block; see
            ``gridsight.core.engine.gate``). Gated frames are counted, not dropped.
        pipeline_nice: with ``overlap``, run the engine's own Python threads (the loop,
            readers, sinks) this much nicer than the inference thread, on Linux, so that
            the detector's threads get the cores first and our work fills their gaps
            (:mod:`gridsight.core.engine.priority`); 0 runs everything at the caller's
            priority. Pair it with the backend's default ``allow_spinning=False``:
            spinning detector threads would leave a lower-priority loop no time.
        view_check: compare each camera's view with a learnt reference every few
            seconds and raise ``camera_fault`` events when it is moved, covered or
            blinded (``gridsight.core.sources.view_check``); None turns it off.
        restart: when something inside the loop raises that no camera, rule, tracker,
            sink or plugin isolates, the loop logs it with its traceback, counts it
            (``gridsight_engine_restarts_total``) and starts again after this backoff
            (growing with consecutive failures, capped at ``max_s``; a stretch of
            ``max_s`` without failure starts the count again). ``max_attempts``
            consecutive failures end the run with the error (phase ``failed``); None
            (the default) never gives up.
        isolate_after: a camera whose own pipeline (beyond its rules and tracker, which
            are isolated per frame) raises on this many frames in a row is taken out of
            the run: state ``failed``, the reason in its status's ``isolated``; the other
            cameras go on.
    """

    duration_s: float | None = None
    realtime: bool = False
    max_batch: int = 12
    max_wait_s: float = 0.05
    queue_size: int = 4
    # ByteTrack's second stage associates boxes down to its low threshold (0.1).
    conf: float = 0.1
    iou: float = 0.45
    max_det: int = 100
    names: tuple[str, ...] | None = None
    detector: DetectorConfig | None = None
    snapshots_dir: Path | None = None
    clips: ClipSettings | None = None
    blur_faces: bool = True
    run_id: str | None = None
    backoff: BackoffPolicy | None = None
    tracker: TrackerSettings | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)
    keep_events: bool = False
    overlap: bool = True
    motion_gate: bool = False
    pipeline_nice: int = 10
    view_check: ViewCheckSettings | None = field(default_factory=ViewCheckSettings)
    restart: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(0.5, 30.0))
    isolate_after: int = 5

    def __post_init__(self) -> None:
        if self.duration_s is not None and not self.duration_s > 0:
            raise ConfigError(f"engine duration must be > 0 seconds, got {self.duration_s}")
        if self.max_batch < 1 or self.queue_size < 1:
            raise ConfigError(
                f"engine max_batch and queue_size must be >= 1, got {self.max_batch}, "
                f"{self.queue_size}"
            )
        if not 0 <= self.pipeline_nice <= priority.MAX_NICE:
            raise ConfigError(
                f"engine pipeline_nice must be between 0 and {priority.MAX_NICE}, "
                f"got {self.pipeline_nice}"
            )
        if self.isolate_after < 1:
            raise ConfigError(f"engine isolate_after must be >= 1, got {self.isolate_after}")


@dataclass(frozen=True, slots=True)
class EngineSummary:
    """What a run did (the end-of-run summary).

    Attributes:
        status: the final status snapshot.
        starts: ``{(camera, hazard): number of events started}``.
        frames: frames processed, all cameras.
        batches: inference batches.
        wall_s: wall time of the run.
        stages: per stage ``{"count", "total_s", "mean_ms"}``.
        interrupted: the run ended on Ctrl-C / :meth:`Engine.stop` rather than by itself.
        run_id: the run id appended to event ids.
        hazards: ``{camera: hazard ids it watches}``.
        gated: frames the motion gate kept from the detector, all cameras.
    """

    status: EngineStatus
    starts: dict[tuple[str, str], int]
    frames: int
    batches: int
    wall_s: float
    stages: dict[str, dict[str, float]]
    interrupted: bool
    run_id: str
    hazards: dict[str, tuple[str, ...]] = field(default_factory=dict)
    gated: int = 0

    @property
    def fps(self) -> float:
        """Frames processed per second of wall time, all cameras together."""
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0


def new_run_id(now: datetime | None = None) -> str:
    """A run id: UTC start time to the second plus 4 random hex digits."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
