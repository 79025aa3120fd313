"""``gridsight run`` and ``gridsight demo`` as a user calls them (real sources, real ONNX)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridsight.cli import cli

from .._tiny_onnx import make_tiny_detector

pytest.importorskip("onnx")

TOWN = """\
id: testtown
name: test town
command_centre: {{name: centre, position: [5.0, 4.0]}}
villages:
  - {{id: east, name: east village, position: [8.0, 4.0]}}
grids:
  - {{id: east-g01, village: east, position: [8.2, 4.1], micro_grids: 1}}
staff: {{grid_workers: 1, micro_grid_workers: 1, safety_volunteers: 1}}
cameras:
  - id: cam-pond
    name: pond
    village: east
    grid: east-g01
    source: "synthetic://reservoir?seed=3&fps=5&w=320&h=180"
    fps: 5
    resolution: [320, 180]
    zones:
      - {{name: water_edge, kind: polygon, points: [[0, 100], [320, 100], [320, 180], [0, 180]]}}
    hazards:
      near_water: {{zone: water_edge}}
  - id: cam-missing
    name: a camera whose file is not there
    village: east
    grid: east-g01
    source: "{missing}"
    fps: 5
    resolution: [320, 180]
    zones:
      - {{name: water_edge, kind: polygon, points: [[0, 100], [320, 100], [320, 180], [0, 180]]}}
    hazards:
      near_water: {{zone: water_edge}}
"""


@pytest.fixture
def town(tmp_path: Path) -> Path:
    path = tmp_path / "town.yaml"
    path.write_text(TOWN.format(missing=tmp_path / "gone.mp4"), encoding="utf-8")
    return path


def test_run_prints_status_and_summary_and_keeps_going(tmp_path: Path, town: Path) -> None:
    model = make_tiny_detector(tmp_path / "tiny.onnx")
    alerts, db = tmp_path / "alerts.jsonl", tmp_path / "alerts.sqlite"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(town),
            "--duration",
            "3",
            "--model",
            str(model),
            "--backend",
            "onnxruntime",
            "--alerts",
            str(alerts),
            "--db",
            str(db),
            "--no-live",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "cam-pond" in out and "cam-missing" in out
    assert "ended" in out  # the synthetic camera ran its 3 s
    assert "gone.mp4" in out  # the missing file's error is shown, the run went on
    assert "15 frames" in out  # 3 s x 5 fps from the one working camera
    assert "pipeline stages" in out and "infer" in out
    assert alerts.exists() and db.exists()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_run_without_a_config_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "none.yaml"), "--no-live"])
    assert result.exit_code != 0
    assert "no such config file" in str(result.exception or result.output)


def test_demo_scores_a_short_run(tmp_path: Path, town: Path) -> None:
    # The demo needs synthetic cameras only: drop the missing-file one.
    text = town.read_text(encoding="utf-8").split("  - id: cam-missing")[0]
    town.write_text(text, encoding="utf-8")
    model = make_tiny_detector(tmp_path / "tiny.onnx")
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--config",
            str(town),
            "--duration",
            "4",
            "--model",
            str(model),
            "--out",
            str(out),
            "--no-snapshots",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "near_water" in result.output and "recall" in result.output
    report = json.loads((out / "demo_report.json").read_text(encoding="utf-8"))
    assert report["cameras"] == ["cam-pond"]
    assert report["frames"] == 8  # 4 s at the demo's 2 frames/s for reservoirs
    assert set(report["scores"]) == {"near_water"}
    assert (out / "alerts.sqlite").exists()


def test_run_passes_backend_options_and_refuses_unknown_or_malformed_ones(
    tmp_path: Path, town: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridsight.core.backends.onnxruntime_backend import OnnxRuntimeBackend

    model = make_tiny_detector(tmp_path / "tiny.onnx")
    seen: list[dict] = []
    real_load = OnnxRuntimeBackend.load

    def spy(self, path, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs)
        return real_load(self, path, **kwargs)

    monkeypatch.setattr(OnnxRuntimeBackend, "load", spy)
    base = ["run", str(town), "--duration", "1", "--model", str(model), "--no-live"]
    base += ["--backend", "onnxruntime"]
    ok = CliRunner().invoke(
        cli,
        [
            *base,
            "--backend-option",
            "intra_op_threads=1",
            "--backend-option",
            "allow_spinning=false",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert seen == [{"intra_op_threads": 1, "allow_spinning": False}]
    unknown = CliRunner().invoke(cli, [*base, "--backend-option", "threads=1"])
    assert unknown.exit_code != 0
    message = str(unknown.exception or unknown.output)
    assert "unknown options ['threads']" in message and "intra_op_threads" in message
    malformed = CliRunner().invoke(cli, [*base, "--backend-option", "allow_spinning"])
    assert malformed.exit_code == 2 and "is not KEY=VALUE" in malformed.output
