"""The engine: events end to end, and it keeps going when cameras, sinks or plugins fail."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent, read_jsonl
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sinks.base import EventSink
from gridsight.core.sinks.jsonl import JsonlSink
from gridsight.core.sinks.sqlite import SqliteSink
from gridsight.core.sinks.sqlite import read_events as read_db
from gridsight.core.sources.reader import BackoffPolicy

from ..engine_helpers import BrightBoxDetector, ScriptedSourcePlugin, camera

FAST_RETRY = BackoffPolicy(initial_s=0.02, max_s=0.05)


def _engine(cams, *, plugins=(), sinks=(), **opts) -> Engine:
    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin(), *plugins])
    options = EngineOptions(backoff=FAST_RETRY, keep_events=True, run_id="t1", **opts)
    return Engine(cams, pm, sinks=sinks, options=options, detector=BrightBoxDetector())


def test_scripted_person_at_the_water_raises_one_event(tmp_path: Path) -> None:
    cams = [camera("cam-a", "scripted://a?frames=50&enter=2&leave=6")]
    eng = _engine(cams, snapshots_dir=tmp_path / "snaps")
    summary = eng.run()
    phases = [(e.phase, e.camera, e.hazard) for e in eng.events]
    assert phases[0] == ("start", "cam-a", "near_water")
    assert phases[-1][0] == "end"
    assert [p for p, *_ in phases].count("start") == 1
    start = eng.events[0]
    # Confirmation 0.4 s at 5 fps: the start is 2-3 frames after the person arrives.
    assert 2.3 <= start.ts <= 2.8
    assert start.id.endswith("@t1") and all(e.id == start.id for e in eng.events)
    assert start.snapshot is not None and Path(start.snapshot).exists()
    assert summary.frames == 50 and summary.starts == {("cam-a", "near_water"): 1}
    assert summary.status.camera("cam-a").state == "ended"
    assert summary.status.camera("cam-a").events == len(eng.events)
    assert not summary.interrupted


def test_duration_is_stream_time_in_fast_mode() -> None:
    cams = [camera("cam-a", "scripted://a?frames=500&enter=2&leave=60")]
    eng = _engine(cams, duration_s=5.0)
    summary = eng.run()
    assert summary.frames == 25  # 0.0 .. 4.8 s at 5 fps
    # The person was still at the water when the run stopped: the event is ended (flushed).
    assert [e.phase for e in eng.events] == ["start", "end"]
    assert eng.events[-1].extra.get("reason") == "end_of_stream"


def test_events_reach_jsonl_and_sqlite(tmp_path: Path) -> None:
    cams = [
        camera("cam-a", "scripted://a?frames=40&enter=1&leave=4"),
        camera("cam-b", "scripted://b?frames=40&enter=3&leave=5"),
    ]
    sinks = [JsonlSink(tmp_path / "alerts.jsonl"), SqliteSink(tmp_path / "alerts.sqlite")]
    _engine(cams, sinks=sinks).run()
    lines = [e.to_dict() for e in read_jsonl(tmp_path / "alerts.jsonl")]
    rows = read_db(tmp_path / "alerts.sqlite")
    assert {(e["camera"], e["phase"]) for e in lines} >= {
        ("cam-a", "start"),
        ("cam-a", "end"),
        ("cam-b", "start"),
        ("cam-b", "end"),
    }
    assert [(r["id"], r["phase"], r["ts"]) for r in rows] == [
        (e["id"], e["phase"], e["ts"]) for e in lines
    ]


def test_missing_camera_and_corrupt_file_do_not_stop_the_others(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    cams = [
        camera("cam-ok", "scripted://ok?frames=40&enter=1&leave=4"),
        camera("cam-missing", str(tmp_path / "no-such-camera.mp4")),
        camera("cam-corrupt", str(corrupt)),
    ]
    eng = _engine(cams)
    summary = eng.run()
    st = summary.status
    assert st.camera("cam-ok").state == "ended" and st.camera("cam-ok").frames == 40
    assert any(e.camera == "cam-ok" and e.phase == "start" for e in eng.events)
    for bad in ("cam-missing", "cam-corrupt"):
        cam = st.camera(bad)
        assert cam.frames == 0
        assert cam.errors >= 1 and cam.last_error
        assert cam.state in ("retrying", "failed", "stopped")
    assert "no-such-camera" in (st.camera("cam-missing").last_error or "")


class _BrokenSink(EventSink):
    name = "broken"

    def write(self, event: HazardEvent) -> None:
        raise OSError("disk full")


class _RaisingPlugin:
    @hookimpl
    def gridsight_hazard_event(self, event: HazardEvent) -> None:
        raise RuntimeError("plugin bug")


class _CollectingPlugin:
    def __init__(self) -> None:
        self.seen: list[HazardEvent] = []

    @hookimpl
    def gridsight_hazard_event(self, event: HazardEvent) -> None:
        self.seen.append(event)


def test_raising_sink_and_plugin_are_isolated_counted_and_reported(tmp_path: Path) -> None:
    collector = _CollectingPlugin()
    good = SqliteSink(tmp_path / "alerts.sqlite")
    cams = [camera("cam-a", "scripted://a?frames=40&enter=1&leave=4")]
    eng = _engine(cams, plugins=[_RaisingPlugin(), collector], sinks=[_BrokenSink(), good])
    summary = eng.run()
    n = len(eng.events)
    assert n >= 2
    # The other sink and the other plugin still got every event.
    assert len(read_db(tmp_path / "alerts.sqlite")) == n
    assert [e.id for e in collector.seen] == [e.id for e in eng.events]
    sink = summary.status.component("sink:broken")
    assert sink is not None and sink.errors == n and "disk full" in (sink.last_error or "")
    plugin = [c for c in summary.status.components if c.kind == "plugin"]
    assert (
        len(plugin) == 1 and plugin[0].errors == n and "plugin bug" in (plugin[0].last_error or "")
    )
    expo = eng.metrics.exposition().decode()
    assert f'gridsight_sink_errors_total{{sink="broken"}} {float(n)}' in expo
    assert "gridsight_plugin_errors_total" in expo


def test_restart_on_the_same_database_never_reuses_an_id(tmp_path: Path) -> None:
    db = tmp_path / "alerts.sqlite"
    cams = [camera("cam-a", "scripted://a?frames=40&enter=1&leave=4")]
    ids = []
    for run in ("r1", "r2"):
        pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
        eng = Engine(
            cams,
            pm,
            sinks=[SqliteSink(db)],
            options=EngineOptions(run_id=run, keep_events=True),
            detector=BrightBoxDetector(),
        )
        eng.run()
        ids.append({e.id for e in eng.events})
    # The same stream replayed: same lifecycle ids, different runs, no collision.
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT id, phase, COUNT(*) FROM events GROUP BY id, phase").fetchall()
    orders = conn.execute("SELECT COUNT(*) FROM work_orders").fetchone()[0]
    conn.close()
    assert all(count == 1 for _, _, count in rows)
    assert orders == 2


def test_stop_from_outside_flushes_open_events() -> None:
    cams = [camera("cam-a", "scripted://a?frames=100000&enter=0&leave=100000")]
    seen: list[HazardEvent] = []

    def stop_after_start(event: HazardEvent) -> None:
        seen.append(event)
        if event.phase == "start":
            eng.stop()

    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
    eng = Engine(cams, pm, detector=BrightBoxDetector(), listeners=[stop_after_start])
    summary = eng.run()
    assert summary.interrupted
    assert [e.phase for e in seen] == ["start", "end"]


def test_duplicate_camera_ids_are_a_config_error() -> None:
    cam = camera("cam-a", "scripted://a")
    with pytest.raises(ConfigError, match="twice"):
        _engine([cam, cam])


def test_overlapped_inference_gives_the_same_events() -> None:
    from ..engine_helpers import LetterboxedBrightBoxDetector, by_camera

    cams = [
        camera("cam-a", "scripted://a?frames=60&enter=1&leave=4"),
        camera("cam-b", "scripted://b?frames=60&enter=3&leave=9"),
    ]
    runs = []
    for overlap, det in ((False, BrightBoxDetector()), (True, LetterboxedBrightBoxDetector())):
        pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
        opts = EngineOptions(run_id="t", keep_events=True, overlap=overlap, max_batch=3)
        eng = Engine(cams, pm, options=opts, detector=det)
        summary = eng.run()
        assert summary.frames == 120
        # Each camera's events in order; how the two cameras interleave is up to threads.
        per_camera = by_camera(eng.events)
        runs.append(
            {c: [(e.id, e.phase, e.ts, e.boxes) for e in evs] for c, evs in per_camera.items()}
        )
    assert set(runs[0]) == {"cam-a", "cam-b"}
    assert runs[0] == runs[1]


def test_inference_worker_keeps_order_and_reraises() -> None:
    import numpy as np

    from gridsight.core.engine.inference import InferenceJob, InferenceWorker
    from gridsight.core.engine.metrics import EngineMetrics

    def infer(x: np.ndarray) -> list[np.ndarray]:
        if x[0] < 0:
            raise ValueError("bad batch")
        return [x * 2]

    worker = InferenceWorker(infer, EngineMetrics())
    got = []
    for k in range(5):
        worker.submit(InferenceJob([k], np.array([float(k)]), []))
        got += [int(j.items[0]) for j in worker.done(timeout=0.0)]
    while worker.in_flight:
        got += [int(j.items[0]) for j in worker.done(timeout=1.0)]
    assert got == [0, 1, 2, 3, 4]
    worker.submit(InferenceJob([9], np.array([-1.0]), []))
    with pytest.raises(ValueError, match="bad batch"):
        worker.done(timeout=1.0)
    worker.close()


def test_a_batch_whose_inference_fails_costs_only_its_own_frames() -> None:
    import numpy as np

    from gridsight.core.engine.inference import InferenceJob, InferenceWorker
    from gridsight.core.engine.metrics import EngineMetrics

    def infer(x: np.ndarray) -> list[np.ndarray]:
        if x[0] < 0:
            raise ValueError(f"bad batch {x[0]:g}")
        return [x]

    worker = InferenceWorker(infer, EngineMetrics())
    for v in (1.0, -1.0, 2.0, -2.0, 3.0):
        worker.submit(InferenceJob([v], np.array([v]), []))
    # However the finished jobs are grouped when collected, each failure is raised once,
    # on its own, and no good batch is lost with it.
    got: list[float] = []
    errors: list[str] = []
    while worker.in_flight:
        try:
            got += [float(j.items[0]) for j in worker.done(timeout=1.0)]
        except ValueError as exc:
            errors.append(str(exc))
    assert got == [1.0, 2.0, 3.0]
    assert errors == ["bad batch -1", "bad batch -2"]
    worker.close()
