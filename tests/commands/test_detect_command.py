"""``gridsight detect`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.core.detection.detector import Detector
from gridsight.core.plugins import build_plugin_manager

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODEL = FIXTURES / "yolo11n-160.onnx"

PM = build_plugin_manager()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("imgs")
    with np.load(FIXTURES / "yolo11n-160.npz") as ref:
        paths = []
        for i in range(3):
            path = folder / f"frame{i}.png"
            cv2.imwrite(str(path), ref[f"image{i}"])
            paths.append(path)
    return paths


def test_json_output_matches_the_detector(images: list[Path]) -> None:
    result = CliRunner().invoke(
        cli, ["detect", *map(str, images), "--model", str(MODEL), "--conf", "0.3", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["backend"] in ("onnxruntime", "tensorrt")
    with Detector(MODEL, conf=0.3, pm=PM) as det:
        expected = det.detect_model_classes([cv2.imread(str(p)) for p in images])
    assert [img["image"] for img in doc["images"]] == [str(p) for p in images]
    for entry, exp in zip(doc["images"], expected, strict=True):
        assert len(entry["detections"]) == len(exp) > 0
        first = entry["detections"][0]
        assert first["class_name"] == det.class_names[first["class_id"]]
        np.testing.assert_allclose(first["xyxy"], exp.xyxy[0], atol=0.01)
        roles = {d["class_name"]: d["role"] for d in entry["detections"]}
        if "truck" in roles:
            assert roles["truck"] == "car"
        if "frisbee" in roles:
            assert roles["frisbee"] is None


def test_text_output_and_annotated_images(images: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "annotated"
    result = CliRunner().invoke(
        cli,
        [
            "detect",
            str(images[0].parent),
            "-m",
            str(MODEL),
            "--conf",
            "0.4",
            "--out",
            str(out),
            "--backend",
            "opencv",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "(opencv, input 160x160, 80 classes)" in result.output
    assert f"{images[1]} (128x72):" in result.output
    saved = sorted(p.name for p in out.iterdir())
    assert saved == ["frame0.jpg", "frame1.jpg", "frame2.jpg"]
    annotated = cv2.imread(str(out / "frame1.jpg"))
    assert annotated.shape == (72, 128, 3)
    original = cv2.imread(str(images[1]))
    assert np.abs(annotated.astype(int) - original.astype(int)).max() > 100  # boxes drawn


def test_errors_are_clear(images: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["detect", str(tmp_path / "nope.png"), "-m", str(MODEL)])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    bad_backend = runner.invoke(cli, ["detect", str(images[0]), "-m", str(MODEL), "--backend", "x"])
    assert bad_backend.exit_code != 0
    assert "unknown backend 'x'" in str(bad_backend.exception) + bad_backend.output
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    unreadable = runner.invoke(cli, ["detect", str(not_image), "-m", str(MODEL)])
    assert "cannot read image" in str(unreadable.exception) + unreadable.output


def test_an_unreadable_image_is_skipped_and_the_others_still_run(
    images: list[Path], tmp_path: Path
) -> None:
    not_image = tmp_path / "broken.jpg"
    not_image.write_bytes(b"not a jpeg")
    result = CliRunner().invoke(
        cli, ["detect", str(images[0]), str(not_image), str(images[1]), "-m", str(MODEL), "--json"]
    )
    assert result.exit_code != 0
    assert "1 of 3 images could not be read" in str(result.exception)
    doc = json.loads(result.stdout)
    assert [img["image"] for img in doc["images"]] == [str(images[0]), str(images[1])]
    assert doc["skipped"][0]["image"] == str(not_image)


def test_no_model_and_no_bundled_model_says_what_to_do(
    images: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gridsight.plugins.detectors as detectors

    # A checkout where the bundled model was never trained: the plugin still registers it.
    monkeypatch.setattr(detectors, "_packaged", lambda name: images[0].parent / "nope.onnx")
    result = CliRunner().invoke(cli, ["detect", str(images[0])])
    assert result.exit_code == 2
    assert "detector 'bundled' is registered but its file" in result.output
    assert "pass --model path/to/model.onnx" in result.output


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["detect", "run"])
def test_names_that_do_not_fit_the_model_exit_2_naming_both_counts(
    command: str, images: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from gridsight.cli import main

    where = (
        [str(images[0])]
        if command == "detect"
        else [str(ROOT / "configs/jingqiao.yaml"), "--no-live", "--duration", "1"]
    )
    with pytest.raises(SystemExit) as exit_:
        main([command, *where, "--model", str(MODEL), "--names", "person,bicycle,car"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "outputs 80 classes" in err and "3 class names were given (--names)" in err


def test_detect_defaults_follow_ultralytics_and_json_keeps_full_precision(
    images: list[Path],
) -> None:
    result = CliRunner().invoke(cli, ["detect", str(images[0]), "--model", str(MODEL), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert (doc["conf"], doc["iou"], doc["max_det"]) == (0.25, 0.7, 300)
    with Detector(MODEL, pm=PM) as det:
        exp = det.detect_model_classes([cv2.imread(str(images[0]))])[0]
    got = [d["confidence"] for d in doc["images"][0]["detections"]]
    assert got == [float(c) for c in exp.confidence]  # not rounded to 4 decimals
