"""The engine's own threads run nicer than inference (``EngineOptions.pipeline_nice``).

The inference thread keeps the caller's priority; the loop, the camera readers and the
sink threads run ``pipeline_nice`` nicer (Linux). The loop then runs on a thread of its
own, so these tests also check that nothing about a run changed: its events, an error
inside the loop reaching the caller (once the loop's restarts give up), and Ctrl-C on
the caller's thread ending it cleanly.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from gridsight.core.engine import Engine, EngineOptions, priority
from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sinks.base import EventSink
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions
from gridsight.core.sources.reader import BackoffPolicy

from ..engine_helpers import LetterboxedBrightBoxDetector, ScriptedSource, camera

needs_thread_priority = pytest.mark.skipif(
    not priority.supported(), reason="per-thread priorities exist on Linux only"
)


class _NiceSource(ScriptedSource):
    """A scripted camera that records its reader thread's nice value."""

    seen: list[int | None]

    def read(self) -> Frame | None:
        self.seen.append(priority.current_nice())
        return super().read()


class _NiceSourcePlugin:
    def __init__(self) -> None:
        self.seen: list[int | None] = []

    @hookimpl
    def gridsight_open_source(self, uri: str, options: SourceOptions) -> FrameSource | None:
        if not uri.startswith("scripted://"):
            return None
        source = _NiceSource(uri)
        source.seen = self.seen
        return source


class _NiceDetector(LetterboxedBrightBoxDetector):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int | None] = []

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        self.seen.append(priority.current_nice())
        return super().infer(batch)


class _NiceSink(EventSink):
    name = "nice-probe"

    def __init__(self, on_start: threading.Event | None = None) -> None:
        self.seen: list[int | None] = []
        self.events: list[HazardEvent] = []
        self._on_start = on_start

    def write(self, event: HazardEvent) -> None:
        self.seen.append(priority.current_nice())
        self.events.append(event)
        if self._on_start is not None and event.phase == "start":
            self._on_start.set()


def _engine(
    nice: int, source: str = "scripted://a?frames=60&enter=2&leave=8", **options: Any
) -> tuple[Engine, _NiceSourcePlugin, _NiceDetector, _NiceSink]:
    plugin = _NiceSourcePlugin()
    detector = _NiceDetector()
    sink = _NiceSink(options.pop("on_start", None))
    engine = Engine(
        [camera("cam-a", source)],
        build_plugin_manager(plugins=[plugin]),
        sinks=[sink],
        options=EngineOptions(run_id="r", pipeline_nice=nice, **options),
        detector=detector,
    )
    return engine, plugin, detector, sink


def _phases(events: Sequence[HazardEvent]) -> list[tuple[str, str]]:
    return [(e.hazard, e.phase) for e in events]


@needs_thread_priority
def test_inference_keeps_the_callers_priority_and_our_threads_run_nicer() -> None:
    base = priority.current_nice()
    assert base is not None
    if base + 3 > priority.MAX_NICE:
        pytest.skip(f"the test process already runs at nice {base}")
    engine, plugin, detector, sink = _engine(nice=3)
    summary = engine.run()
    assert summary.frames == 60
    assert set(detector.seen) == {base}, "the inference thread lost the caller's priority"
    assert set(plugin.seen) == {base + 3}, "a camera reader kept the caller's priority"
    assert set(sink.seen) == {base + 3}, "a sink thread kept the caller's priority"
    assert priority.current_nice() == base, "the caller's own thread was reniced"
    # The same run as on one thread: the person's water-edge event starts and ends.
    assert _phases(sink.events) == [("near_water", "start"), ("near_water", "end")]


def test_pipeline_nice_0_runs_everything_at_the_callers_priority() -> None:
    base = priority.current_nice()
    engine, plugin, detector, sink = _engine(nice=0)
    engine.run()
    assert set(detector.seen) == set(plugin.seen) == set(sink.seen) == {base}
    assert _phases(sink.events) == [("near_water", "start"), ("near_water", "end")]


def test_an_error_inside_the_loop_reaches_the_caller_once_restarts_give_up() -> None:
    # Two failures in a row: one restart, then the run ends with the loop's error.
    restart = BackoffPolicy(initial_s=0.01, max_s=0.02, max_attempts=2)
    engine, _, detector, _ = _engine(nice=3, restart=restart)

    def broken(batch: np.ndarray) -> list[np.ndarray]:
        raise RuntimeError("model exploded")

    detector.infer = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="model exploded"):
        engine.run()
    health = engine.health()
    assert (health.phase, health.restarts, health.up) == ("failed", 1, False)
    assert "model exploded" in health.reason


@needs_thread_priority
def test_ctrl_c_on_the_callers_thread_ends_a_run_cleanly() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Ctrl-C reaches the main thread only")
    started = threading.Event()
    engine, _, _, sink = _engine(
        nice=3,
        # Realtime and long: the run is inside its wait when Ctrl-C comes.
        source="scripted://a?frames=600&enter=1&leave=100",
        realtime=True,
        duration_s=60.0,
        on_start=started,
    )
    result: dict[str, Any] = {}

    def interrupt_once_started() -> None:
        if started.wait(30.0):
            os.kill(os.getpid(), signal.SIGINT)
        else:
            engine.stop()  # never started: end the run, the asserts below will fail

    killer = threading.Thread(target=interrupt_once_started, daemon=True)
    killer.start()
    result["summary"] = engine.run()
    killer.join(5.0)
    summary = result["summary"]
    assert summary.interrupted  # by Ctrl-C: the run itself was 60 s long
    # The open event was ended and written before the sinks closed.
    assert _phases(sink.events) == [("near_water", "start"), ("near_water", "end")]


@pytest.mark.parametrize("nice", [-1, 20])
def test_pipeline_nice_out_of_range_is_refused(nice: int) -> None:
    with pytest.raises(ConfigError, match="pipeline_nice must be between 0 and 19"):
        EngineOptions(pipeline_nice=nice)
