"""An engine that restarts itself: a failure inside the loop is logged, counted and the
loop starts again; a camera whose pipeline keeps failing is isolated while the others
run; ``Engine.health()`` and the metrics tell which phase the engine is in."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from gridsight.core.engine import Engine, EngineHealth, EngineOptions, LiveEngine
from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sources.reader import BackoffPolicy

from ..engine_helpers import (
    BrightBoxDetector,
    LetterboxedBrightBoxDetector,
    ScriptedSourcePlugin,
    camera,
    wait_for,
)

FAST_RESTART = BackoffPolicy(initial_s=0.01, max_s=0.05)


def _engine(cams: Sequence[Any], cls: type[Engine] = Engine, **opts: Any) -> Engine:
    overlap = opts.pop("overlap", False)
    detector = LetterboxedBrightBoxDetector() if overlap else BrightBoxDetector()
    options = EngineOptions(
        backoff=BackoffPolicy(0.02, 0.05),
        keep_events=True,
        run_id="r",
        overlap=overlap,
        pipeline_nice=0,
        **opts,
    )
    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
    return cls(cams, pm, options=options, detector=detector)


def _unended(events: Sequence[HazardEvent]) -> dict[str, list[str]]:
    phases: dict[str, list[str]] = defaultdict(list)
    for ev in events:
        phases[ev.id].append(ev.phase)
    return {i: p for i, p in phases.items() if p[0] != "start" or p.count("end") != 1}


def _sample(exposition: bytes, name: str) -> float:
    for line in exposition.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the exposition")


class _FailingHook(Engine):
    """An engine whose between-batches hook raises on its first ``fail`` calls."""

    fail = 3

    def between_batches(self) -> None:
        if self.fail > 0:
            self.fail -= 1
            raise RuntimeError("the hook broke")


@pytest.mark.parametrize("overlap", [False, True], ids=["one-thread", "overlapped"])
def test_a_failure_in_the_loop_restarts_it_and_events_keep_flowing(
    overlap: bool, caplog: pytest.LogCaptureFixture
) -> None:
    cams = [camera("cam-a", "scripted://a?frames=60&enter=2&leave=6")]
    eng = _engine(cams, _FailingHook, restart=FAST_RESTART, overlap=overlap)
    with caplog.at_level(logging.ERROR, logger="gridsight.engine"):
        summary = eng.run()
    health = eng.health()
    assert (health.phase, health.restarts, health.up) == ("stopped", 3, False)
    # Logged with its traceback, once per failure, and counted.
    failures = [r for r in caplog.records if "engine loop failed" in r.getMessage()]
    assert len(failures) == 3 and all(r.exc_info for r in failures)
    assert _sample(eng.metrics.exposition(), "gridsight_engine_restarts_total") == 3.0
    engine_errors = summary.status.component("engine")
    assert engine_errors is not None and engine_errors.errors == 3
    assert engine_errors.last_error == "RuntimeError: the hook broke"
    # The loop went on after its restarts: every frame analysed, the event raised and ended.
    assert summary.frames == 60
    assert [(e.phase, e.camera) for e in eng.events if e.phase != "update"] == [
        ("start", "cam-a"),
        ("end", "cam-a"),
    ]


def test_inference_that_fails_some_batches_loses_only_those_batches() -> None:
    cams = [camera("cam-a", "scripted://a?frames=60&enter=2&leave=6")]
    eng = _engine(cams, restart=FAST_RESTART, overlap=True, max_batch=1)
    detector = eng.detector
    infer = detector.infer
    calls = {"n": 0}

    def flaky(batch: np.ndarray) -> list[np.ndarray]:
        calls["n"] += 1
        if calls["n"] in (3, 4, 40):  # two in a row, then one more later
            raise RuntimeError("device lost")
        return infer(batch)

    detector.infer = flaky  # type: ignore[method-assign]
    summary = eng.run()
    assert eng.health().restarts == 3
    assert summary.frames == 57  # one frame per batch: three batches lost
    assert _unended(eng.events) == {}
    assert [e.phase for e in eng.events if e.phase != "update"] == ["start", "end"]


def test_restarts_give_up_after_max_attempts_failures_in_a_row() -> None:
    cams = [camera("cam-a", "scripted://a?frames=60&enter=2&leave=6")]
    eng = _engine(cams, _FailingHook, restart=BackoffPolicy(0.01, 0.05, max_attempts=3))
    with pytest.raises(RuntimeError, match="the hook broke"):
        eng.run()
    health = eng.health()
    assert (health.phase, health.restarts) == ("failed", 2)
    assert health.reason == "RuntimeError: the hook broke"


class _Stuck(LiveEngine):
    """A service whose hook fails once it is told to, then works again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.break_once = threading.Event()

    def between_batches(self) -> None:
        super().between_batches()
        if self.break_once.is_set():
            self.break_once.clear()
            raise OSError("disk gone")


def test_health_follows_the_phases_of_a_service() -> None:
    cams = [camera("cam-a", "scripted://a?frames=1000000&enter=2&leave=6&period=8")]
    # A long backoff: the engine stays 'restarting' until the test looks and stops it.
    eng = _engine(cams, _Stuck, restart=BackoffPolicy(60.0, 60.0))
    assert isinstance(eng, _Stuck)
    before = eng.health()
    assert isinstance(before, EngineHealth)
    assert (before.phase, before.up, before.restarts) == ("starting", False, 0)
    thread = threading.Thread(target=eng.run, daemon=True)
    thread.start()
    try:
        wait_for("running", lambda: eng.health().phase == "running")
        running = eng.health()
        assert running.up and running.since >= before.since
        assert _sample(eng.metrics.exposition(), "gridsight_engine_up") == 1.0
        eng.break_once.set()
        wait_for("restarting", lambda: eng.health().phase == "restarting")
        restarting = eng.health()
        assert not restarting.up and restarting.restarts == 1
        assert "OSError: disk gone" in restarting.reason
        assert restarting.since >= running.since
        assert _sample(eng.metrics.exposition(), "gridsight_engine_up") == 0.0
    finally:
        eng.stop()  # ends the backoff wait too
        thread.join(30.0)
    assert not thread.is_alive()
    after = eng.health()
    assert (after.phase, after.up, after.restarts) == ("stopped", False, 1)
    assert after.reason == "stopped on request"


class _Exploding:
    """Stands in for one camera's rules: raises on every frame from ``from_ts`` on."""

    def __init__(self, rules: Callable[..., list[HazardEvent]], from_ts: float) -> None:
        self.rules = rules
        self.from_ts = from_ts
        self.calls = 0

    def __call__(self, ts: float, tracked: Any, wall: Any = None) -> list[HazardEvent]:
        if ts >= self.from_ts:
            self.calls += 1
            raise ValueError("pipeline corrupted")
        return self.rules(ts, tracked, wall)


@pytest.mark.parametrize("overlap", [False, True], ids=["one-thread", "overlapped"])
def test_a_camera_whose_pipeline_keeps_failing_is_isolated_while_the_others_run(
    overlap: bool,
) -> None:
    cams = [
        camera("cam-a", "scripted://a?frames=60&enter=4&leave=8"),
        camera("cam-b", "scripted://b?frames=60&enter=1&leave=9"),
    ]
    eng = _engine(cams, restart=FAST_RESTART, overlap=overlap, isolate_after=4)
    # cam-b's person is in the water from 1 s; its pipeline breaks at 3 s (event open).
    bad = _Exploding(eng.cameras["cam-b"].rules, from_ts=3.0)
    eng.cameras["cam-b"].rules = bad  # type: ignore[method-assign]
    summary = eng.run()
    assert eng.health().restarts == 0  # isolated per camera, not a loop failure
    assert bad.calls == 4
    b = summary.status.camera("cam-b")
    assert b.state == "failed"
    assert b.isolated is not None
    assert "4 frames in a row" in b.isolated and "ValueError: pipeline corrupted" in b.isolated
    assert b.last_error == b.isolated
    assert _sample(eng.metrics.exposition(), "gridsight_camera_isolations_total") == 1.0
    comp = summary.status.component("camera:cam-b")
    assert comp is not None and comp.errors == 4
    # cam-a ran its whole stream with its event; cam-b's open event was ended at isolation.
    assert summary.status.camera("cam-a").frames == 60
    assert summary.status.camera("cam-a").state == "ended"
    assert {(e.camera, e.phase) for e in eng.events if e.phase != "update"} == {
        ("cam-a", "start"),
        ("cam-a", "end"),
        ("cam-b", "start"),
        ("cam-b", "end"),
    }
    assert _unended(eng.events) == {}
    b_end = next(e for e in eng.events if e.camera == "cam-b" and e.phase == "end")
    assert b_end.ts < 3.0


def test_a_camera_that_fails_now_and_then_is_not_isolated() -> None:
    cams = [camera("cam-a", "scripted://a?frames=60&enter=2&leave=6")]
    eng = _engine(cams, isolate_after=2)
    pipe = eng.cameras["cam-a"]
    rules = pipe.rules

    def every_other(ts: float, tracked: Any, wall: Any = None) -> list[HazardEvent]:
        if round(ts * 5) % 2:  # odd frames
            raise ValueError("flaky")
        return rules(ts, tracked, wall)

    pipe.rules = every_other  # type: ignore[method-assign]
    summary = eng.run()
    a = summary.status.camera("cam-a")
    assert a.isolated is None and a.state == "ended"
    comp = summary.status.component("camera:cam-a")
    assert comp is not None and comp.errors == 30


def test_an_isolated_camera_is_started_afresh_by_enable() -> None:
    cams = [
        camera("cam-a", "scripted://a?frames=1000000&enter=2&leave=6&period=8"),
        camera("cam-b", "scripted://b?frames=1000000&enter=2&leave=6&period=8"),
    ]
    eng = _engine(cams, LiveEngine, isolate_after=2)
    assert isinstance(eng, LiveEngine)

    def broken(ts: float, tracked: Any, wall: Any = None) -> list[HazardEvent]:
        raise ValueError("broken")

    eng.cameras["cam-b"].rules = broken  # type: ignore[method-assign]
    thread = threading.Thread(target=eng.run, daemon=True)
    thread.start()
    try:
        wait_for("cam-b isolated", lambda: eng.status().camera("cam-b").isolated is not None)
        assert eng.camera_configs()["cam-b"][1]  # still enabled: the operator's choice
        assert eng.submit("enable", "cam-b").result(timeout=30.0) == "enabled"
        wait_for("cam-b analysed again", lambda: eng.status().camera("cam-b").frames > 0)
        status = eng.status().camera("cam-b")
        assert status.isolated is None and status.state != "failed"
        assert eng.submit("enable", "cam-b").result(timeout=30.0) == "unchanged"
    finally:
        eng.stop()
        thread.join(30.0)
    assert eng.health().restarts == 0


def test_isolate_after_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="isolate_after must be >= 1, got 0"):
        EngineOptions(isolate_after=0)
