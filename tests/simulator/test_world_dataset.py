"""The YOLO export: layout, split by seed, labels that parse back to the truth, determinism."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from gridsight.core.detection.roles import ROLE_NAMES
from gridsight.core.errors import DataError
from gridsight.simulator.dataset import (
    DatasetOptions,
    DatasetSummary,
    describe,
    export_dataset,
    plan_worlds,
    read_yolo_labels,
)
from gridsight.simulator.uri import WorldSpec
from gridsight.simulator.world import World

OPTS = DatasetOptions(n=12, seed=3, frames_per_world=2, val_frac=0.2, test_frac=0.2)
_SUMMARY: list[DatasetSummary] = []


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    _SUMMARY.append(export_dataset(out, OPTS))
    return out


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("data.yaml", "manifest.json")
    }


def test_layout_and_data_yaml(exported: Path) -> None:
    data = yaml.safe_load((exported / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(ROLE_NAMES))
    assert data["nc"] == 6
    total = 0
    for split in ("train", "val", "test"):
        images = sorted((exported / data[split]).glob("*.jpg"))
        labels = sorted((exported / "labels" / split).glob("*.txt"))
        assert [p.stem for p in images] == [p.stem for p in labels]
        assert images, f"split {split} is empty"
        total += len(images)
    assert total == OPTS.n


def test_split_is_by_world_seed(exported: Path) -> None:
    seeds: dict[str, set[str]] = {}
    for split in ("train", "val", "test"):
        for p in (exported / "labels" / split).glob("*.txt"):
            scene_seed = p.stem.rsplit("_f", 1)[0]
            seeds.setdefault(scene_seed, set()).add(split)
    assert seeds and all(len(splits) == 1 for splits in seeds.values())
    manifest = json.loads((exported / "manifest.json").read_text())
    # 6 worlds: 1 test, 1 val, 4 train; held-out worlds are dealt out scene by scene.
    held_out = [w["scene"] for split in ("val", "test") for w in manifest["worlds"][split]]
    assert len(held_out) == 2 and len(set(held_out)) == 2


def test_labels_round_trip_to_the_truth(exported: Path) -> None:
    checked = 0
    worlds: dict[str, World] = {}
    for path in sorted((exported / "labels").rglob("*.txt")):
        stem, frame = path.stem.rsplit("_f", 1)
        scene, seed = stem.rsplit("_s", 1)
        if stem not in worlds:
            worlds[stem] = World(WorldSpec(scene=scene, seed=int(seed), density=OPTS.density))
        world = worlds[stem]
        truth = world.truth_at(int(frame) / world.fps, int(frame))
        classes, boxes = read_yolo_labels(path, 640, 360)
        np.testing.assert_array_equal(classes, truth.roles)
        # Six decimals of a normalised coordinate: well under a hundredth of a pixel.
        np.testing.assert_allclose(boxes, truth.boxes, atol=0.01)
        checked += len(classes)
    assert checked > 0


def test_export_is_deterministic(exported: Path, tmp_path: Path) -> None:
    export_dataset(tmp_path, OPTS)
    assert _tree_digest(tmp_path) == _tree_digest(exported)


def test_plan_covers_every_split_and_scene() -> None:
    plan = plan_worlds(DatasetOptions(n=400, seed=0, frames_per_world=4))
    by_split: dict[str, list[WorldSpec]] = {}
    for split, spec in plan:
        by_split.setdefault(split, []).append(spec)
    assert len(plan) == 100
    for split in ("train", "val", "test"):
        assert {s.scene for s in by_split[split]} == {
            "reservoir",
            "stairwell",
            "fire_lane",
            "street",
        }
    assert len(by_split["val"]) == len(by_split["test"]) == 15
    seeds = [spec.seed for _, spec in plan]
    assert len(set(seeds)) == len(seeds)
    other = {
        spec.seed for _, spec in plan_worlds(DatasetOptions(n=400, seed=1, frames_per_world=4))
    }
    assert not other & set(seeds), "two dataset seeds must not share worlds"


def test_describe_and_summary(exported: Path) -> None:
    manifest = json.loads((exported / "manifest.json").read_text())
    assert sum(manifest["images"].values()) == OPTS.n
    lines = describe(_SUMMARY[0])
    assert lines[0].startswith("- images: train 8, val 2, test 2")
    assert any(line.startswith("- boxes (train): person") for line in lines)


def test_bad_options_and_labels(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--n"):
        DatasetOptions(n=0)
    with pytest.raises(DataError, match="frac"):
        DatasetOptions(n=10, val_frac=0.6, test_frac=0.5)
    bad = tmp_path / "x.txt"
    bad.write_text("0 0.5 0.5 0.1\n")
    with pytest.raises(DataError, match=r"x\.txt:1"):
        read_yolo_labels(bad, 640, 360)
