"""The labelling loop end to end: dataset export, eval model on the labels, eval events."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from gridsight.cli import cli

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "yolo11n-160.onnx"


@pytest.fixture
def town(tmp_path: Path) -> tuple[Path, Path]:
    """A config with one file camera on the YOLO11n fixture, and an alerts file of it."""
    with np.load(ROOT / "tests" / "fixtures" / "yolo11n-160.npz") as ref:
        base = cv2.resize(ref["image0"], (320, 240))
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10, (320, 240))
    for i in range(40):
        writer.write(np.roll(base, 4 * i, axis=1))
    writer.release()
    doc = yaml.safe_load((ROOT / "configs" / "jingqiao.yaml").read_text())
    cam = dict(doc["cameras"][0])
    cam.update(
        id="cam-file",
        source=str(video),
        fps=5,
        resolution=[320, 240],
        zones=[
            {
                "name": "water_edge",
                "kind": "polygon",
                "points": [[0, 100], [320, 100], [320, 240], [0, 240]],
            }
        ],
        hazards={"near_water": {"zone": "water_edge"}},
        detector={"model": str(MODEL)},
    )
    cam.pop("position", None)
    doc["cameras"] = [cam]
    config = tmp_path / "town.yaml"
    config.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    base_event = {
        "camera": "cam-file",
        "hazard": "near_water",
        "wall_time": "2026-01-01T00:00:00+00:00",
        "village": cam["village"],
        "grid": cam["grid"],
        "confidence": 0.9,
        "boxes": [],
        "track_ids": [],
        "snapshot": None,
    }
    lines = [
        {**base_event, "id": "e1@r", "phase": "start", "ts": 1.0},
        {**base_event, "id": "e1@r", "phase": "end", "ts": 1.8},
        {**base_event, "id": "e2@r", "phase": "start", "ts": 2.6},
        {**base_event, "id": "e2@r", "phase": "end", "ts": 3.0},
    ]
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return config, alerts


def test_export_then_eval_round_trips(town: tuple[Path, Path], tmp_path: Path) -> None:
    config, alerts = town
    out = tmp_path / "ds"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "dataset",
            "export",
            str(alerts),
            "--config",
            str(config),
            "--out",
            str(out),
            "--around",
            "0.4",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["images"] == 4 and summary["skipped"] == {}
    coco = json.loads((out / "annotations.json").read_text())
    assert len(coco["images"]) == 4 and len(coco["categories"]) == 80
    assert {img["kind"] for img in coco["images"]} == {"start", "before"}
    n_labels = sum(
        len((out / "labels" / f).read_text().splitlines())
        for f in [Path(i["file_name"]).stem + ".txt" for i in coco["images"]]
    )
    assert n_labels == len(coco["annotations"]) > 0
    assert (out / "classes.txt").read_text().splitlines()[0] == "person"
    line = (out / "labels" / (Path(coco["images"][0]["file_name"]).stem + ".txt")).read_text()
    cid, *xywh = line.splitlines()[0].split()
    assert 0 <= int(cid) < 80 and all(0.0 <= float(v) <= 1.0 for v in xywh)

    # The same model on its own pre-labels: every label found first, AP 1.0.
    result = runner.invoke(cli, ["eval", "model", str(out), "--model", str(MODEL), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["map50"] == pytest.approx(1.0) and scores["map"] == pytest.approx(1.0)

    # A labeller deletes half the boxes of the busiest class as wrong: its AP falls.
    by_cat: dict[int, list[dict]] = {}
    for ann in coco["annotations"]:
        by_cat.setdefault(ann["category_id"], []).append(ann)
    busiest = max(by_cat, key=lambda c: len(by_cat[c]))
    drop = {a["id"] for a in by_cat[busiest][::2]}
    coco["annotations"] = [a for a in coco["annotations"] if a["id"] not in drop]
    (out / "annotations.json").write_text(json.dumps(coco))
    result = runner.invoke(cli, ["eval", "model", str(out), "--model", str(MODEL), "--json"])
    assert result.exit_code == 0, result.output
    name = next(c["name"] for c in coco["categories"] if c["id"] == busiest)
    assert json.loads(result.output)["classes"][name]["ap50"] < 0.9


def test_eval_events_scores_a_run_against_labelled_episodes(
    town: tuple[Path, Path], tmp_path: Path
) -> None:
    _, alerts = town
    truth = tmp_path / "truth.json"
    truth.write_text(
        json.dumps(
            {
                "episodes": [
                    {"camera": "cam-file", "hazard": "near_water", "start": 0.8, "end": 2.0},
                    {"camera": "cam-file", "hazard": "near_water", "start": 10, "end": 12},
                ]
            }
        )
    )
    result = CliRunner().invoke(
        cli, ["eval", "events", str(alerts), "--truth", str(truth), "--slack", "0.5", "--json"]
    )
    assert result.exit_code == 0, result.output
    score = json.loads(result.output)["near_water"]
    assert (score["episodes"], score["detected"], score["events"]) == (2, 1, 2)
    assert score["recall"] == 0.5 and score["precision"] == 0.5 and score["false_alarms"] == 1
