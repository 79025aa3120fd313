"""Motion-gated inference through the whole engine: fewer inferences, the same events."""

from __future__ import annotations

import pytest

from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.plugins import build_plugin_manager

from ..engine_helpers import BrightBoxDetector, ScriptedSourcePlugin, by_camera, camera


def _run(cams, gate: bool, **opts):  # type: ignore[no-untyped-def]
    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
    detector = BrightBoxDetector()
    options = EngineOptions(keep_events=True, run_id="g", motion_gate=gate, **opts)
    engine = Engine(cams, pm, options=options, detector=detector)
    summary = engine.run()
    return engine, summary


def test_gating_keeps_the_events_of_a_scripted_scene() -> None:
    # A person (a white box) steps into the water-edge zone at 4 s and out at 14 s; the
    # scene is still otherwise. Starts are the same frames with and without the gate
    # (stepping in is motion). An end may come earlier by up to the keep-alive in force
    # (0.8 s here): the hazard was last *seen* on the last inferred frame before the
    # person left, and end_after_s counts from there. Periodic updates are switched off.
    cams = [
        camera("cam-a", "scripted://a?frames=150&enter=4&leave=14", update_every_s=0),
        camera("cam-b", "scripted://b?frames=150&enter=20&leave=25", update_every_s=0),
    ]
    plain, s_plain = _run(cams, gate=False)
    gated, s_gated = _run(cams, gate=True)
    plain_events, gated_events = by_camera(plain.events), by_camera(gated.events)
    assert set(plain_events) == set(gated_events) == {"cam-a", "cam-b"}
    for cam, events in plain_events.items():
        assert [(e.id, e.phase) for e in events] == [(e.id, e.phase) for e in gated_events[cam]]
        for a, b in zip(events, gated_events[cam], strict=True):
            if a.phase == "start":
                assert a.ts == b.ts
            else:
                assert a.extra["reason"] == b.extra["reason"] == "cleared"
                assert a.ts - 0.8 - 1e-6 <= b.ts <= a.ts
    assert s_plain.frames == 300 and s_plain.gated == 0
    # Every frame is either inferred or gated, never lost.
    assert s_gated.frames + s_gated.gated == 300
    assert s_gated.frames < 0.6 * s_plain.frames
    cam = s_gated.status.camera("cam-a")
    assert cam.gated > 0 and cam.drops == 0
    assert b"gridsight_frames_gated_total" in gated.metrics.exposition()


def test_a_person_standing_still_is_confirmed_through_the_keepalive() -> None:
    # In the zone from the first frame and never moving: the only motion is the first
    # frame. The rule tolerates gaps of max_gap_s = 1 s while it confirms for 3 s; a
    # 2 s keep-alive alone would reset the confirmation for ever. While something is
    # tracked the gate infers at least every max_gap_s - 1/fps = 0.8 s.
    cams = [camera("cam-a", "scripted://a?frames=100&enter=0&leave=100", confirm_s=3.0)]
    plain, _ = _run(cams, gate=False)
    gated, summary = _run(cams, gate=True)
    starts = [e for e in gated.events if e.phase == "start"]
    assert len(starts) == 1
    plain_start = next(e for e in plain.events if e.phase == "start")
    assert starts[0].ts == pytest.approx(plain_start.ts, abs=0.8 + 1e-6)
    assert summary.gated > 0
    # One open event, ended at the end of the stream (not by a gap).
    assert [e.phase for e in gated.events if e.phase != "update"] == ["start", "end"]
    assert gated.events[-1].extra["reason"] == "end_of_stream"


def test_gate_off_is_the_default_and_counts_nothing() -> None:
    cams = [camera("cam-a", "scripted://a?frames=20&enter=1&leave=3")]
    engine, summary = _run(cams, gate=False)
    assert summary.gated == 0 and summary.frames == 20
    assert all(p.gate is None for p in engine.cameras.values())
