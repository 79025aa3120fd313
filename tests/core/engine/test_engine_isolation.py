"""The engine with a failing rule or tracker: the other hazards' events are untouched,
every update/end written has its start, and the failure shows against that camera and
hazard (status and metrics)."""

from __future__ import annotations

from pathlib import Path

from gridsight.core.detection.detections import Detections
from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.events import read_jsonl
from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sinks.jsonl import JsonlSink
from gridsight.core.sources.reader import BackoffPolicy

from ..engine_helpers import BrightBoxDetector, ScriptedSourcePlugin, camera

# cam-a's near_water event starts at 2.6 s and ends at 7.0 s (see the run without the
# flaky rule): the flaky rule raises on exactly those frames, and on a few others.
FAIL_AT = {2.6, 2.8, 3.0, 3.2, 5.0, 7.0}


class Explodes(HazardRule):
    """Active while a person is in view; raises at the stream times in FAIL_AT."""

    hazard = "explodes"
    Settings = RuleSettings

    def observe(self, ts: float, detections: Detections) -> Observation:
        if round(ts, 1) in FAIL_AT:
            raise ValueError(f"boom at {ts}")
        return Observation(active=len(detections) > 0, confidence=0.5)


class ExplodesPlugin:
    @hookimpl
    def gridsight_register_hazard_rules(self) -> list[type[HazardRule]]:
        return [Explodes]


def _run(tmp_path: Path, name: str, hazards: dict, detector=None) -> tuple[Engine, list]:
    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin(), ExplodesPlugin()])
    cam = camera("cam-a", "scripted://a?frames=60&enter=2&leave=6")
    cam = cam.model_copy(update={"hazards": {**cam.hazards, **hazards}})
    out = tmp_path / f"{name}.jsonl"
    eng = Engine(
        [cam, camera("cam-b", "scripted://b?frames=60&enter=1&leave=4")],
        pm,
        sinks=[JsonlSink(out)],
        options=EngineOptions(backoff=BackoffPolicy(0.02, 0.05), keep_events=True, run_id="r"),
        detector=detector or BrightBoxDetector(),
    )
    eng.run()
    return eng, [e.to_dict() for e in read_jsonl(out)]


def _contract(lines: list[dict]) -> None:
    started: set[str] = set()
    for e in lines:
        if e["phase"] == "start":
            started.add(e["id"])
        else:
            assert e["id"] in started, f"{e['phase']} of {e['id']} without its start"


def _of(lines: list[dict], hazard: str) -> list[tuple]:
    """One hazard's events, camera by camera (cameras interleave in any order)."""
    return sorted(
        ((e["camera"], e["ts"], e["id"], e["phase"]) for e in lines if e["hazard"] == hazard),
        key=lambda x: (x[0], x[1]),
    )


def test_a_failing_rule_leaves_the_other_hazards_events_exactly_as_without_it(
    tmp_path: Path,
) -> None:
    _, without = _run(tmp_path, "without", {})
    eng, lines = _run(tmp_path, "with", {"explodes": {"confirm_s": 0.0, "end_after_s": 1.0}})
    assert [(x[3], x[1]) for x in _of(without, "near_water") if x[0] == "cam-a"] == [
        ("start", 2.6),
        ("end", 7.0),
    ]
    assert _of(lines, "near_water") == _of(without, "near_water")
    assert _of(lines, "explodes"), "the flaky rule still raised its own events"
    _contract(lines)
    status = eng.status()
    comp = status.component("rule:cam-a:explodes")
    assert comp is not None and comp.kind == "rule" and comp.errors == len(FAIL_AT)
    assert "boom" in (comp.last_error or "")
    metrics = eng.metrics.exposition().decode()
    expected = f'gridsight_rule_errors_total{{camera="cam-a",hazard="explodes"}} {len(FAIL_AT)}.0'
    assert expected in metrics
    assert status.camera("cam-b").frames == 60


def test_a_tracker_that_raises_is_caught_and_its_frame_skipped(tmp_path: Path) -> None:
    _, without = _run(tmp_path, "without", {})
    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
    cams = [
        camera("cam-a", "scripted://a?frames=60&enter=2&leave=6"),
        camera("cam-b", "scripted://b?frames=60&enter=1&leave=4"),
    ]
    eng = Engine(
        cams,
        pm,
        options=EngineOptions(backoff=BackoffPolicy(0.02, 0.05), keep_events=True, run_id="r"),
        detector=BrightBoxDetector(),
    )
    tracker = eng.cameras["cam-a"].tracker
    real_update = tracker.update
    calls = {"n": 0}

    def flaky_update(dets, ts):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] in (20, 21):
            raise IndexError("tracker bug")
        return real_update(dets, ts)

    tracker.update = flaky_update  # type: ignore[method-assign]
    summary = eng.run()
    lines = [e.to_dict() for e in eng.events]
    _contract(lines)
    comp = summary.status.component("tracker:cam-a")
    assert comp is not None and comp.errors == 2 and "tracker bug" in (comp.last_error or "")
    # cam-b is untouched by cam-a's tracker.
    assert [x for x in _of(lines, "near_water") if x[0] == "cam-b"] == [
        x for x in _of(without, "near_water") if x[0] == "cam-b"
    ]
    assert summary.frames == 120
