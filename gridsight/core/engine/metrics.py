"""The engine's metrics: per-stage latency histograms, counters and gauges (Prometheus).

Each :class:`EngineMetrics` owns its own ``CollectorRegistry`` (never the process-global
one), so two engines in one process (tests, a REST service running several configs) do
not clash, and the REST service exposes exactly one engine's metrics with
``generate_latest(metrics.registry)``.

Example:
    >>> m = EngineMetrics()
    >>> with m.time("infer"):
    ...     pass
    >>> b"gridsight_stage_seconds" in m.exposition()
    True
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gridsight.core.sources.state import CameraState

#: The pipeline stages timed per batch (read) or per frame (the others).
STAGES: tuple[str, ...] = ("read", "preprocess", "infer", "decode", "track", "rules", "sinks")

#: Camera states shown in the status table and the ``gridsight_camera_state`` gauge.
CAMERA_STATES: tuple[str, ...] = tuple(str(s) for s in CameraState)

# Stage latencies on CPU range from ~10 µs (rules on an empty frame) to ~1 s (a big batch).
_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class EngineMetrics:
    """The metric families one engine updates.

    Attributes:
        registry: this engine's own registry (pass to ``generate_latest``).
        stage_seconds: histogram by ``stage`` (one of :data:`STAGES`).
        frames: frames processed, by ``camera``: each was inferred (one detector batch
            slot), so with motion gating this is the inference count per camera.
        drops: frames dropped by the sampler's bounded queue, by ``camera``.
        gated: frames the motion gate kept from the detector (still scene), by ``camera``.
        events: hazard events emitted, by ``hazard`` and ``phase``.
        sink_errors: exceptions raised by a sink, by ``sink``.
        plugin_errors: exceptions raised by a plugin hook, by ``plugin``.
        reconnects: camera reconnects, by ``camera``.
        camera_state: 1 for the camera's current state, 0 for the others.
        queue_depth: frames waiting in the camera's queue.
        batch_size: frames per inference batch.
        engine_up: 1 while the engine's loop runs, 0 while it starts, restarts or stops
            (``gridsight.core.engine.health``).
        engine_restarts: restarts of the engine's loop after a failure
            (``gridsight_engine_restarts_total``).
        camera_isolations: cameras taken out of the run because their pipeline kept
            failing, by ``camera``.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.stage_seconds = Histogram(
            "gridsight_stage_seconds",
            "Latency of one pipeline stage (per batch for read/preprocess/infer).",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.frames = Counter(
            "gridsight_frames", "Frames processed by the engine.", ["camera"], registry=r
        )
        self.drops = Counter(
            "gridsight_frames_dropped",
            "Frames dropped by a camera's bounded queue (drop-oldest).",
            ["camera"],
            registry=r,
        )
        self.gated = Counter(
            "gridsight_frames_gated",
            "Frames the motion gate kept from the detector (still scene, not a drop).",
            ["camera"],
            registry=r,
        )
        self.events = Counter(
            "gridsight_events", "Hazard events emitted.", ["hazard", "phase"], registry=r
        )
        self.sink_errors = Counter(
            "gridsight_sink_errors", "Exceptions raised by an event sink.", ["sink"], registry=r
        )
        self.plugin_errors = Counter(
            "gridsight_plugin_errors",
            "Exceptions raised by a plugin's hook implementation.",
            ["plugin"],
            registry=r,
        )
        self.rule_errors = Counter(
            "gridsight_rule_errors",
            "Frames on which a camera's hazard rule raised (the other rules went on).",
            ["camera", "hazard"],
            registry=r,
        )
        self.tracker_errors = Counter(
            "gridsight_tracker_errors",
            "Frames on which a camera's tracker raised (its rules skipped the frame).",
            ["camera"],
            registry=r,
        )
        self.reconnects = Counter(
            "gridsight_camera_reconnects", "Camera reconnect attempts.", ["camera"], registry=r
        )
        self.camera_state = Gauge(
            "gridsight_camera_state",
            "1 for the camera's current state, 0 otherwise.",
            ["camera", "state"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "gridsight_queue_depth", "Frames waiting in a camera's queue.", ["camera"], registry=r
        )
        self.batch_size = Histogram(
            "gridsight_batch_size",
            "Frames per inference batch.",
            buckets=(1, 2, 4, 8, 12, 16, 24, 32),
            registry=r,
        )
        self.engine_up = Gauge(
            "gridsight_engine_up",
            "1 while the engine's loop runs; 0 while it starts, restarts, stops or has failed.",
            registry=r,
        )
        self.engine_restarts = Counter(
            "gridsight_engine_restarts",
            "Restarts of the engine's loop after a failure inside it.",
            registry=r,
        )
        self.camera_isolations = Counter(
            "gridsight_camera_isolations",
            "Cameras taken out of the run because their pipeline kept failing.",
            ["camera"],
            registry=r,
        )
        # Stage children resolved once: ``labels()`` does a dict lookup under a lock.
        self._stage = {s: self.stage_seconds.labels(stage=s) for s in STAGES}
        self._children: dict[tuple[int, str], Any] = {}
        self._last_state: dict[str, str] = {}

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        """Observe the duration of the ``with`` body under ``stage``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.observe(stage, time.perf_counter() - t0)

    def observe(self, stage: str, seconds: float) -> None:
        """Record one latency (seconds) of ``stage``."""
        child = self._stage.get(stage)
        if child is None:
            child = self._stage[stage] = self.stage_seconds.labels(stage=stage)
        child.observe(seconds)

    def of_camera(self, metric: Counter | Gauge, camera: str) -> Any:
        """``metric.labels(camera=camera)``, resolved once per camera and metric: the
        engine touches these per frame or per status sync, and ``labels()`` takes a lock
        and builds a tuple each call."""
        key = (id(metric), camera)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(camera=camera)
        return child

    def set_camera_state(self, camera: str, state: str) -> None:
        """Make ``state`` the camera's one current state."""
        previous = self._last_state.get(camera)
        if previous == state:
            return
        if previous is None:
            for s in CAMERA_STATES:
                self.camera_state.labels(camera=camera, state=s).set(0)
        else:
            self.camera_state.labels(camera=camera, state=previous).set(0)
        self.camera_state.labels(camera=camera, state=state).set(1)
        self._last_state[camera] = state

    def stage_summary(self) -> dict[str, dict[str, float]]:
        """Per stage: ``count``, ``total_s`` and ``mean_ms`` (for the end-of-run summary)."""
        out: dict[str, dict[str, float]] = {}
        for metric in self.stage_seconds.collect():
            counts: dict[str, float] = {}
            sums: dict[str, float] = {}
            for sample in metric.samples:
                stage = sample.labels.get("stage", "")
                if sample.name.endswith("_count"):
                    counts[stage] = sample.value
                elif sample.name.endswith("_sum"):
                    sums[stage] = sample.value
            for stage, n in counts.items():
                total = sums.get(stage, 0.0)
                out[stage] = {
                    "count": n,
                    "total_s": total,
                    "mean_ms": 1000.0 * total / n if n else 0.0,
                }
        return out

    def exposition(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
