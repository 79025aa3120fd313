"""Camera changes at run time racing with overlapped inference cannot break the engine.

A seeded random sequence of commands (add, remove, replace the source, change the zones
or hazard settings, enable, disable) goes to a :class:`LiveEngine` from another thread
while the loop infers on its worker thread, slowed at random by a fault injector so that
batches are often in flight for a camera the command just removed, replaced or
disabled. What must hold whatever the timing: the loop never fails (no restart, no
error recorded), the cameras no command touches keep producing frames, and every event
that starts ends, once, after its start.

The outcome asserted never depends on timing; how many commands land while a batch is
in flight does, which is why the run is long and the seeds several.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pytest

from gridsight.core.config.camera import CameraConfig
from gridsight.core.engine import EngineOptions, EngineSummary, LiveEngine
from gridsight.core.events import HazardEvent
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sinks.base import EventSink
from gridsight.core.sources.reader import BackoffPolicy

from ..engine_helpers import (
    LetterboxedBrightBoxDetector,
    ScriptedSourcePlugin,
    camera,
    wait_for,
)

#: Cameras that no command touches: they must keep producing frames throughout.
STEADY = ("steady-1", "steady-2")
#: Cameras the commands add, remove, replace, enable and disable (the first runs from
#: the start, the others are added by the commands).
CHANGING = ("chg-1", "chg-2", "chg-3")
#: Commands per run, and how long the command thread pauses at most between two.
COMMANDS = 120
MAX_PAUSE_S = 0.04


def _source(name: str, rng: np.random.Generator) -> str:
    # A person steps into the water-edge zone for 1-2 s of every 3-4 s: events start and
    # end all the time, so changes keep landing on open events.
    enter = round(float(rng.uniform(0.2, 1.0)), 1)
    leave = round(enter + float(rng.uniform(1.0, 2.0)), 1)
    period = round(leave + float(rng.uniform(0.5, 1.5)), 1)
    return f"scripted://{name}?frames=1000000&enter={enter}&leave={leave}&period={period}"


def _zones_changed(cfg: CameraConfig, rng: np.random.Generator) -> CameraConfig:
    """The same camera (same source) with the water-edge zone and its settings moved."""
    top = int(rng.integers(200, 240))
    points = [[0, top], [640, top], [640, 360], [0, 360]]
    data = cfg.model_dump(mode="python")
    data["zones"] = [{"name": "water_edge", "kind": "polygon", "points": points}]
    data["hazards"]["near_water"]["confirm_s"] = round(float(rng.uniform(0.2, 0.6)), 1)
    return CameraConfig.model_validate(data)


class _Recorder(EventSink):
    """Keeps every event it is given (on the sink's own thread)."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[HazardEvent] = []
        self._lock = threading.Lock()

    def write(self, event: HazardEvent) -> None:
        with self._lock:
            self.events.append(event)

    def started(self) -> set[str]:
        """The cameras with an event start so far."""
        with self._lock:
            return {e.camera for e in self.events if e.phase == "start"}


class _SlowDetector(LetterboxedBrightBoxDetector):
    """The fault injector: inference takes a random 0-30 ms (seeded), so batches stay in
    flight on the worker while the loop applies commands."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._rng = np.random.default_rng(seed)

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        time.sleep(float(self._rng.uniform(0.0, 0.03)))
        return super().infer(batch)


def _frames(engine: LiveEngine, camera_id: str) -> int:
    return engine.status().camera(camera_id).frames


def _commands(
    engine: LiveEngine, seed: int, configs: dict[str, CameraConfig]
) -> list[tuple[str, str, str]]:
    """Send COMMANDS seeded random camera changes to the cameras of CHANGING (``configs``:
    those running); returns (kind, camera, outcome) for each."""
    rng = np.random.default_rng(seed)
    done = []
    for _ in range(COMMANDS):
        cid = CHANGING[int(rng.integers(len(CHANGING)))]
        kind = str(rng.choice(["add", "remove", "source", "zones", "enable", "disable"]))
        if kind in ("add", "source") or (kind == "zones" and cid not in configs):
            cfg = camera(cid, _source(cid, rng))
        elif kind == "zones":
            cfg = _zones_changed(configs[cid], rng)
        else:
            cfg = None
        if cfg is not None:
            future = engine.submit("put", cid, cfg)
            configs[cid] = cfg
        else:
            future = engine.submit(kind, cid)  # type: ignore[arg-type]
            if kind == "remove":
                configs.pop(cid, None)
        done.append((kind, cid, future.result(timeout=60.0)))
        time.sleep(float(rng.uniform(0.0, MAX_PAUSE_S)))
    return done


def _run(seed: int, motion_gate: bool) -> tuple[LiveEngine, EngineSummary, _Recorder, list]:
    recorder = _Recorder()
    cams = [
        camera(c, _source(c, np.random.default_rng([seed, k])))
        for k, c in enumerate((*STEADY, CHANGING[0]))
    ]
    engine = LiveEngine(
        cams,
        build_plugin_manager(plugins=[ScriptedSourcePlugin()]),
        sinks=[recorder],
        options=EngineOptions(
            run_id="race",
            backoff=BackoffPolicy(0.02, 0.05),
            max_batch=4,
            queue_size=2,
            motion_gate=motion_gate,
            view_check=None,
            pipeline_nice=0,
            # A failure must show as a restart (asserted below), not end the run.
            restart=BackoffPolicy(0.01, 0.05),
        ),
        detector=_SlowDetector(seed),
    )
    outcome: dict[str, object] = {}

    def serve() -> None:
        try:
            outcome["summary"] = engine.run()
        except BaseException as exc:
            outcome["error"] = exc

    loop = threading.Thread(target=serve, name="race-engine", daemon=True)
    loop.start()
    try:
        assert engine.readers_started.wait(60.0)
        wait_for("the steady cameras' first frames", lambda: _frames(engine, STEADY[-1]) > 0)
        before = {c: _frames(engine, c) for c in STEADY}
        done = _commands(engine, seed, {CHANGING[0]: cams[-1]})
        # The untouched cameras went on through the changes and go on after them.
        after = {c: _frames(engine, c) for c in STEADY}
        assert all(after[c] > before[c] for c in STEADY), (before, after)
        wait_for(
            "the steady cameras' next frames",
            lambda: all(_frames(engine, c) > after[c] for c in STEADY),
        )
        # Their person comes back every few seconds of stream time: an event each.
        wait_for("the steady cameras' events", lambda: recorder.started() >= set(STEADY))
    finally:
        engine.stop()
        loop.join(60.0)
    assert not loop.is_alive(), "the engine did not stop"
    assert "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert isinstance(summary, EngineSummary)
    return engine, summary, recorder, done


def _every_start_ends(events: Sequence[HazardEvent]) -> dict[str, list[str]]:
    """``{event id: phases}`` for every event whose phases are not start, updates, end."""
    phases: dict[str, list[str]] = defaultdict(list)
    for ev in events:
        phases[ev.id].append(ev.phase)
    return {
        eid: ps
        for eid, ps in phases.items()
        if ps[0] != "start" or ps[-1] != "end" or ps.count("start") != 1 or ps.count("end") != 1
    }


@pytest.mark.parametrize(
    ("seed", "motion_gate"), [(1, False), (2, True), (3, False)], ids=["s1", "s2-gated", "s3"]
)
def test_random_camera_changes_racing_with_overlapped_inference(
    seed: int, motion_gate: bool
) -> None:
    engine, summary, recorder, done = _run(seed, motion_gate)
    health = engine.health()
    assert health.restarts == 0, health
    assert (health.phase, health.up) == ("stopped", False)
    errors = [c for c in summary.status.components if c.kind in ("engine", "camera", "plugin")]
    assert not errors, errors
    # Every kind of change happened, and each did something at least once.
    outcomes = {(kind, outcome) for kind, _, outcome in done}
    for kind, outcome in [
        ("add", "created"),
        ("remove", "removed"),
        ("source", "updated"),
        ("zones", "updated"),
        ("enable", "enabled"),
        ("disable", "disabled"),
    ]:
        assert (kind, outcome) in outcomes, f"no {kind!r} was {outcome!r} in {sorted(outcomes)}"
    # Every event that started ended, once, after its start, in stream-time order within
    # the event: the steady cameras' and those of the changing cameras (how many of the
    # latter there are depends on how long each change left them running).
    events = recorder.events
    assert recorder.started() >= set(STEADY)
    assert _every_start_ends(events) == {}
    by_id: dict[str, list[float]] = defaultdict(list)
    for ev in events:
        by_id[ev.id].append(ev.ts)
    assert all(ts == sorted(ts) for ts in by_id.values())
