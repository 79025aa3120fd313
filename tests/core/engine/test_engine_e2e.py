"""End to end with nothing faked: synthetic cameras, the bundled ONNX detector, both sinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridsight.core.config.camera import CameraConfig
from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.events import read_jsonl
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sinks.jsonl import JsonlSink
from gridsight.core.sinks.sqlite import SqliteSink, read_work_orders
from gridsight.core.sinks.sqlite import read_events as read_db
from gridsight.evaluation.scoring import event_spans, score_events
from gridsight.evaluation.synthetic import align_synthetic_camera, synthetic_truth


def _bundled() -> Path:
    from gridsight.core.errors import ModelError
    from gridsight.models import bundled_model_path

    try:
        return bundled_model_path()
    except ModelError as exc:
        pytest.skip(str(exc))


def _camera(cam_id: str, source: str, hazard: str, settings: dict) -> CameraConfig:
    from gridsight.simulator import scene_zones

    zones = scene_zones(source)
    return CameraConfig.model_validate(
        {
            "id": cam_id,
            "name": cam_id,
            "village": "ruijia",
            "grid": "ruijia-g01",
            "source": source,
            "fps": 5,
            "resolution": [640, 360],
            "zones": zones,
            "hazards": {hazard: settings},
        }
    )


DURATION = 45.0


def test_two_synthetic_cameras_alert_into_jsonl_and_sqlite(tmp_path: Path) -> None:
    _bundled()
    pm = build_plugin_manager()
    # A reservoir with a visit to the water's edge at ~37 s, and a stairwell where an
    # e-bike is wheeled into the lobby at ~11 s (seeds of configs/jingqiao.yaml).
    raw = [
        _camera(
            "cam-pond",
            "synthetic://reservoir?seed=102&fps=5&w=640&h=360",
            "near_water",
            {"zone": "water_edge"},
        ),
        _camera(
            "cam-stairs",
            "synthetic://stairwell?seed=103&fps=5&w=640&h=360",
            "ebike",
            {"zone": "lobby", "line": "lobby_entrance"},
        ),
    ]
    cams = [align_synthetic_camera(c, fps=3.0) for c in raw]
    sinks = [JsonlSink(tmp_path / "alerts.jsonl"), SqliteSink(tmp_path / "alerts.sqlite")]
    engine = Engine(
        cams,
        pm,
        sinks=sinks,
        options=EngineOptions(duration_s=DURATION, snapshots_dir=tmp_path / "snaps"),
    )
    summary = engine.run()
    assert summary.frames == 2 * int(DURATION * 3)
    lines = [e.to_dict() for e in read_jsonl(tmp_path / "alerts.jsonl")]
    rows = read_db(tmp_path / "alerts.sqlite")
    assert lines and [r["id"] for r in rows] == [e["id"] for e in lines]
    starts = [e for e in lines if e["phase"] == "start"]
    assert {e["camera"] for e in starts} == {"cam-pond", "cam-stairs"}
    assert all(e["snapshot"] and Path(e["snapshot"]).exists() for e in starts)
    orders = read_work_orders(tmp_path / "alerts.sqlite")
    assert {o["id"] for o in orders} == {e["id"] for e in starts}
    # Every episode alerted, nothing else: scored against the worlds' truth.
    truth = [s for c in cams for s in synthetic_truth(c, DURATION)[0]]
    scores = score_events(event_spans(lines, stream_end=DURATION), truth, slack_s=2.0)
    for hazard in ("near_water", "ebike"):
        assert scores[hazard].recall == 1.0, scores[hazard].to_dict()
        assert scores[hazard].precision == 1.0, scores[hazard].to_dict()
