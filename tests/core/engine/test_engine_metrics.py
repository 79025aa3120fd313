"""The engine's metrics registry and status board."""

from __future__ import annotations

from prometheus_client import REGISTRY

from gridsight.commands.run import status_table
from gridsight.core.engine.metrics import CAMERA_STATES, STAGES, EngineMetrics
from gridsight.core.engine.status import StatusBoard


def _value(m: EngineMetrics, name: str, labels: dict[str, str]) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_own_registry_and_every_family_exposed() -> None:
    a, b = EngineMetrics(), EngineMetrics()  # two engines in one process do not clash
    a.frames.labels(camera="c").inc(3)
    assert _value(a, "gridsight_frames_total", {"camera": "c"}) == 3
    assert _value(b, "gridsight_frames_total", {"camera": "c"}) is None
    assert REGISTRY.get_sample_value("gridsight_frames_total", {"camera": "c"}) is None
    text = a.exposition().decode()
    for family in (
        "gridsight_stage_seconds",
        "gridsight_frames_total",
        "gridsight_frames_dropped_total",
        "gridsight_events_total",
        "gridsight_sink_errors_total",
        "gridsight_plugin_errors_total",
        "gridsight_camera_reconnects_total",
        "gridsight_camera_state",
        "gridsight_queue_depth",
        "gridsight_batch_size",
    ):
        assert f"# TYPE {family.removesuffix('_total')}" in text, family
    for stage in STAGES:
        assert f'stage="{stage}"' in text


def test_stage_timing_and_summary() -> None:
    m = EngineMetrics()
    m.observe("infer", 0.010)
    m.observe("infer", 0.030)
    with m.time("rules"):
        pass
    s = m.stage_summary()
    assert s["infer"]["count"] == 2 and abs(s["infer"]["mean_ms"] - 20.0) < 1e-6
    assert s["rules"]["count"] == 1 and s["decode"]["count"] == 0
    assert _value(m, "gridsight_stage_seconds_bucket", {"stage": "infer", "le": "0.025"}) == 1


def test_camera_state_is_one_hot() -> None:
    m = EngineMetrics()
    for state in ("starting", "running", "retrying", "running"):
        m.set_camera_state("cam", state)
        values = {
            s: _value(m, "gridsight_camera_state", {"camera": "cam", "state": s})
            for s in CAMERA_STATES
        }
        assert values[state] == 1 and sum(v or 0 for v in values.values()) == 1


def test_status_board_snapshot_and_table() -> None:
    board = StatusBoard(["a", "b"], run_id="r")
    board.count_frames("a", 5, 1.0)
    board.count_event("a", "ebike", "start")
    board.update_camera("b", state="retrying", last_error="file not found", errors=2)
    board.component_error("sink:x", "sink", "OSError: disk full")
    board.component_error("sink:x", "sink", "OSError: disk full")
    snap = board.snapshot()
    assert snap.camera("a").frames == 5 and snap.camera("a").events == 1
    assert snap.events == {("ebike", "start"): 1}
    comp = snap.component("sink:x")
    assert comp is not None and comp.errors == 2
    d = snap.to_dict()
    assert d["cameras"][1]["state"] == "retrying" and d["components"][0]["errors"] == 2
    # The live view renders every camera and the failing sink.
    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(status_table(snap))
    text = console.export_text()
    assert "retrying" in text and "file not found" in text and "sink:x" in text
