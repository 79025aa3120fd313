"""Training, export and evaluation of the detector on a tiny dataset of coloured boxes.

The dataset is made here (one flat colour per class on a noisy background), so these
tests do not depend on the synthetic world and run in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("pycocotools")

from click.testing import CliRunner  # noqa: E402

from gridsight.commands.world_train import evaluate as evaluate_cmd  # noqa: E402
from gridsight.commands.world_train import train as train_cmd  # noqa: E402
from gridsight.core.detection.roles import ROLE_NAMES  # noqa: E402
from gridsight.core.errors import DataError  # noqa: E402
from gridsight.simulator.train.data import load_split, read_class_names  # noqa: E402
from gridsight.simulator.train.evaluate import evaluate_onnx  # noqa: E402
from gridsight.simulator.train.export import (  # noqa: E402
    build_metadata,
    count_flops,
    export_onnx,
)
from gridsight.simulator.train.model import GridDetector, ModelSize  # noqa: E402
from gridsight.simulator.train.trainer import TrainConfig, train  # noqa: E402

COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 0, 255), (255, 255, 0)]
TINY = ModelSize(widths=(8, 16, 24, 32, 48), depths=(1, 1, 1, 1), head=(16, 16))


def make_box_dataset(root: Path, counts: dict[str, int], w: int = 320, h: int = 180) -> Path:
    """A YOLO dataset of flat coloured rectangles, one colour per class."""
    rng = np.random.default_rng(0)
    for split, n in counts.items():
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(n):
            image = rng.integers(40, 80, (h, w, 3), dtype=np.uint8)
            lines = []
            for _ in range(int(rng.integers(1, 4))):
                c = int(rng.integers(0, 6))
                bw, bh = int(rng.integers(30, 90)), int(rng.integers(30, 90))
                x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
                cv2.rectangle(image, (x, y), (x + bw - 1, y + bh - 1), COLOURS[c], -1)
                cx, cy = (x + bw / 2) / w, (y + bh / 2) / h
                lines.append(f"{c} {cx:.6f} {cy:.6f} {bw / w:.6f} {bh / h:.6f}")
            cv2.imwrite(str(root / "images" / split / f"{i:04d}.jpg"), image)
            (root / "labels" / split / f"{i:04d}.txt").write_text("\n".join(lines) + "\n")
    names = "\n".join(f"  - {n}" for n in ROLE_NAMES)
    (root / "data.yaml").write_text(f"path: {root}\nnames:\n{names}\n")
    return root


@pytest.fixture(scope="module")
def box_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("boxes")
    return make_box_dataset(root, {"train": 48, "val": 8, "test": 8})


def test_dataset_reads_names_and_letterboxes_boxes(box_data: Path) -> None:
    assert read_class_names(box_data) == ROLE_NAMES
    ds = load_split(box_data, "val", (96, 160), len(ROLE_NAMES))
    assert ds.images.shape == (8, 3, 96, 160) and ds.images.dtype == torch.uint8
    # 320x180 -> scale 0.5 into 160x90, padded 3 rows on top.
    item, boxes = ds.items[0], ds.boxes[0]
    assert item.shape == (180, 320)
    expected = item.xyxy * 0.5 + np.array([0, 3, 0, 3], np.float32)
    np.testing.assert_allclose(boxes[:, 1:].numpy(), expected, atol=1e-4)


def test_bad_label_line_names_file_and_line(tmp_path: Path) -> None:
    root = make_box_dataset(tmp_path / "d", {"train": 1})
    label = root / "labels" / "train" / "0000.txt"
    label.write_text("0 0.5 0.5 0.1 0.1\n9 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DataError, match=r"0000\.txt:2: class 9"):
        load_split(root, "train", (96, 160), 6)


def test_train_two_epochs_loss_falls_and_onnx_matches_torch(box_data: Path, tmp_path: Path) -> None:
    config = TrainConfig(
        data=box_data,
        imgsz=(96, 160),
        epochs=2,
        batch_size=8,
        warmup_iters=4,
        lr=4e-3,
        size=TINY,
        seed=1,
        threads=1,  # on a shared machine one thread beats two spinning ones
    )
    result = train(config, log=lambda _: None, progress=False)
    assert len(result.history) == 2
    assert result.history[1].loss < result.history[0].loss
    path = tmp_path / "m.onnx"
    meta = build_metadata(result.class_names, (96, 160), 32, "smoke")
    diff = export_onnx(result.net, path, (96, 160), meta)
    assert diff < 1e-3
    report = evaluate_onnx(path, box_data, "test")
    assert [c.name for c in report.per_class] == list(ROLE_NAMES)
    assert 0.0 <= report.map50_95 <= report.map50 <= 1.0


def test_flop_count_matches_torch_conv_hooks(tmp_path: Path) -> None:
    net = GridDetector(6, TINY).eval()
    macs = 0

    def hook(module: torch.nn.Conv2d, _inp: object, out: torch.Tensor) -> None:
        nonlocal macs
        k = module.kernel_size[0] * module.kernel_size[1]
        macs += out.numel() * module.in_channels // module.groups * k

    handles = [
        m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.Conv2d)
    ]
    with torch.no_grad():
        net.export_forward(torch.zeros(1, 3, 96, 160))
    for h in handles:
        h.remove()
    path = tmp_path / "m.onnx"
    export_onnx(net, path, (96, 160), build_metadata(ROLE_NAMES, (96, 160), 32, "x"), verify=False)
    assert count_flops(path).macs == macs


def test_metadata_parses_with_the_engine_decoder() -> None:
    from gridsight.core.detection.decode import class_names_from_metadata, imgsz_from_metadata

    meta = build_metadata(ROLE_NAMES, (224, 384), 32, "d")
    assert meta["names"].startswith("{0: 'person', 1: 'bicycle'")
    assert class_names_from_metadata(meta) == dict(enumerate(ROLE_NAMES))
    assert imgsz_from_metadata(meta) == (224, 384)
    assert meta["task"] == "detect" and meta["stride"] == "32"


def test_cli_train_then_evaluate(box_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    runner = CliRunner()
    args = [
        "--data",
        str(box_data),
        "--epochs",
        "1",
        "--batch",
        "8",
        "--imgsz",
        "160x96",
        "--threads",
        "1",
    ]
    result = runner.invoke(train_cmd, [*args, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]["per_class"]) == set(ROLE_NAMES)
    card = (out / "MODEL_CARD.md").read_text()
    assert "What it cannot do" in card and "gridsight world train --data" in card
    result = runner.invoke(
        evaluate_cmd,
        ["--model", str(out / "gridsight-synth.onnx"), "--data", str(box_data), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["per_class"].keys() == set(ROLE_NAMES)


def test_same_seed_gives_the_same_weights(tmp_path: Path) -> None:
    data = make_box_dataset(tmp_path / "d", {"train": 16, "val": 4})

    def weights(seed: int) -> list[torch.Tensor]:
        config = TrainConfig(
            data=data,
            imgsz=(64, 96),
            epochs=1,
            batch_size=8,
            warmup_iters=2,
            size=TINY,
            seed=seed,
            threads=1,
            val_limit=4,
        )
        return list(train(config, log=lambda _: None, progress=False).net.state_dict().values())

    first, again, other = weights(3), weights(3), weights(4)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))
