"""Run the engine in realtime with healthy cameras next to a faulty one, and measure.

Every fault test builds the same three healthy cameras (``blink://`` sources: a cheap
scripted person who stands in the water-edge zone for 2 s of every 4 s, so events and
snapshots keep happening), adds the camera or component under test, and runs the real
engine (readers, batcher, tracker, rules, lifecycle, sinks) in ``--realtime`` for a fixed
wall time while a *scenario* thread injects the fault, ends it, and watches the status
board. The detector is the test suite's ``BrightBoxDetector`` (white blobs are people),
so a run costs a few percent of one core and the frame counts measure the engine, not
the CPU left over by other jobs.

The healthy cameras' processed-frame counts are compared with a run of the same cameras
without the fault (:func:`baseline_frames`, cached per duration).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from gridsight.core.engine import Engine, EngineOptions, EngineSummary
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions
from gridsight.core.sources.reader import BackoffPolicy

from ..core.engine_helpers import BrightBoxDetector, camera

#: Retries as in production (exponential, jittered, retry forever) with a smaller cap, so
#: an outage of seconds (instead of minutes) exercises the same code path in a short test.
TEST_BACKOFF = BackoffPolicy(initial_s=0.25, max_s=1.0, factor=2.0, jitter=0.2)
HEALTHY = ("ok-1", "ok-2", "ok-3")
HEALTHY_FPS = 10.0

#: Recovery times measured by the fault tests, printed as a table at the end of the run.
RECOVERIES: list[dict[str, Any]] = []


class BlinkSource(FrameSource):
    """``blink://name?fps=F&period=P&on=O``: a person in the zone for O s of every P s."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        q = {k: v[0] for k, v in parse_qs(urlsplit(uri).query).items()}
        self._fps = float(q.get("fps", HEALTHY_FPS))
        self.period = float(q.get("period", 4.0))
        self.on = float(q.get("on", 2.0))
        self.offset = float(q.get("offset", 0.0))
        self.i = 0
        self.base = np.full((360, 640, 3), 30, np.uint8)

    @property
    def fps(self) -> float:
        return self._fps

    def read(self) -> Frame | None:
        ts = self.i / self._fps
        img = self.base.copy()
        inside = (ts + self.offset) % self.period < self.on
        y = 250 if inside else 60
        img[y : y + 80, 300:330] = 255
        frame = Frame(image=img, ts=ts, index=self.i)
        self.i += 1
        return frame


class BlinkPlugin:
    @hookimpl
    def gridsight_open_source(self, uri: str, options: SourceOptions) -> FrameSource | None:
        return BlinkSource(uri) if uri.startswith("blink://") else None

    @hookimpl
    def gridsight_register_source_schemes(self) -> list[str]:
        return ["blink"]


def healthy_cameras() -> list[Any]:
    return [
        camera(c, f"blink://{c}?fps={HEALTHY_FPS:g}&offset={k}", confirm_s=0.4).model_copy(
            update={"fps": HEALTHY_FPS}
        )
        for k, c in enumerate(HEALTHY)
    ]


def faulty_camera(cam_id: str, source: str, fps: float = 5.0) -> Any:
    cam = camera(cam_id, source)
    return cam.model_copy(update={"fps": fps})


@dataclass
class Watch:
    """What the scenario thread saw of the camera under test."""

    states: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    recovery_s: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaultRun:
    summary: EngineSummary
    engine: Engine
    watch: Watch
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]

    def frames(self, cam: str) -> int:
        return self.summary.status.camera(cam).frames

    def metric(self, name: str, **labels: str) -> float:
        """A sample's value from the final Prometheus exposition (0.0 if absent)."""
        key = (name, tuple(sorted(labels.items())))
        return self.metrics.get(key, 0.0)


Scenario = Callable[[Engine, Watch], None]


def _parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def run_faulty(
    extra: Sequence[Any],
    scenario: Scenario | None,
    duration_s: float,
    *,
    sinks: Sequence[Any] = (),
    **options: Any,
) -> FaultRun:
    """Run the healthy cameras plus ``extra`` for ``duration_s`` of wall time.

    ``scenario(engine, watch)`` runs on its own thread from the start; it must return
    before the run ends (it is joined, then the engine is stopped if still running).
    """
    pm = build_plugin_manager(plugins=[BlinkPlugin()])
    opts = EngineOptions(
        realtime=True,
        duration_s=duration_s,
        backoff=TEST_BACKOFF,
        keep_events=True,
        run_id="fault",
        **options,
    )
    engine = Engine(
        [*healthy_cameras(), *extra], pm, sinks=sinks, options=opts, detector=BrightBoxDetector()
    )
    watch = Watch()
    failure: list[BaseException] = []

    def _scenario() -> None:
        try:
            if scenario is not None:
                scenario(engine, watch)
        except BaseException as exc:  # surfaced in the test, after the engine stopped
            failure.append(exc)

    thread = threading.Thread(target=_scenario, name="fault-scenario", daemon=True)
    thread.start()
    summary = engine.run()
    thread.join(30)
    if failure:
        raise failure[0]
    for cam in engine.cameras:
        last = summary.status.camera(cam).last_error
        if last and last not in watch.errors:
            watch.errors.append(last)  # the board's last word, after the scenario ended
    return FaultRun(summary, engine, watch, _parse_metrics(engine.metrics.exposition().decode()))


_BASELINES: dict[float, dict[str, int]] = {}


def baseline_frames(duration_s: float) -> dict[str, int]:
    """Processed frames per healthy camera in a run of the same length without a fault."""
    if duration_s not in _BASELINES:
        run = run_faulty([], None, duration_s)
        _BASELINES[duration_s] = {c: run.frames(c) for c in HEALTHY}
    return _BASELINES[duration_s]


def assert_others_unaffected(run: FaultRun, duration_s: float, tolerance: float = 0.05) -> None:
    """Each healthy camera processed within ``tolerance`` of its no-fault frame count."""
    base = baseline_frames(duration_s)
    for cam in HEALTHY:
        got, want = run.frames(cam), base[cam]
        assert want > 0, f"baseline run processed no frames of {cam}"
        assert abs(got - want) <= tolerance * want, (
            f"{cam}: {got} frames with the fault, {want} without (more than {tolerance:.0%} apart)"
        )
        assert run.summary.status.camera(cam).state in ("running", "stopped", "ended")


# ---------------------------------------------------------------------- scenario helpers
def sleep_until(engine: Engine, t: float) -> None:
    """Sleep until ``t`` seconds after the engine's status board was created."""
    while engine.status().elapsed_s < t:
        time.sleep(0.02)


def observe(engine: Engine, cam: str, watch: Watch, until_s: float) -> None:
    """Record the camera's states and errors until ``until_s`` (board elapsed time)."""
    while engine.status().elapsed_s < until_s:
        st = engine.status().camera(cam)
        watch.states.add(st.state)
        if st.last_error and (not watch.errors or watch.errors[-1] != st.last_error):
            watch.errors.append(st.last_error)
        time.sleep(0.05)


def time_to_frames(
    engine: Engine, cam: str, watch: Watch, timeout: float, *, reconnect: bool = False
) -> float | None:
    """Seconds from now until ``cam`` processes a new frame (recovery), recording states.

    With ``reconnect``, only a frame after a new reconnect counts (frames still queued
    from before a cut would otherwise look like an instant recovery).
    """
    first = engine.status().camera(cam)
    start_frames, start_reconnects = first.frames, first.reconnects
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        st = engine.status().camera(cam)
        watch.states.add(st.state)
        if st.last_error and (not watch.errors or watch.errors[-1] != st.last_error):
            watch.errors.append(st.last_error)
        if reconnect and st.reconnects <= start_reconnects:
            start_frames = st.frames
        elif st.frames > start_frames and st.state == "running":
            watch.recovery_s = time.monotonic() - t0
            return watch.recovery_s
        time.sleep(0.02)
    return None


def metric_now(engine: Engine, name: str, **labels: str) -> float:
    """A sample's value in the engine's Prometheus exposition right now (0.0 if absent)."""
    metrics = _parse_metrics(engine.metrics.exposition().decode())
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def record_recovery(fault: str, watch: Watch, how: str, **extra: Any) -> None:
    """Add a row to the recovery table printed at the end of the test session."""
    RECOVERIES.append({"fault": fault, "recovery_s": watch.recovery_s, "how": how, **extra})
