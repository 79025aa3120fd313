"""Exporting the synthetic world as a YOLO-format detection dataset.

Layout (what ``gridsight world dataset --out DIR`` writes)::

    DIR/data.yaml                      path, train/val/test folders, nc, names (the 6 roles)
    DIR/manifest.json                  worlds per split (URI, scene, lighting), class counts
    DIR/images/{train,val,test}/*.jpg
    DIR/labels/{train,val,test}/*.txt  one line per box: "class cx cy w h", normalised

Images are split **by world seed**: every frame of one synthetic camera goes to the same
split, so validation and test measure generalisation to unseen layouts, colours and
camera placements, not to other frames of a scene seen in training. Worlds are dealt to
the held-out splits scene by scene, so with four or more held-out worlds every split holds
all four scene kinds.

Frames are drawn half at random times and half inside labelled intervals (episodes and
near misses), so e-bikes in lobbies and parked stalls are common enough to learn; the
traffic density is raised for the same reason. Lighting follows the world's seed (about
a quarter of worlds are at night), and crowding produces occlusion.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from gridsight.core.detection.roles import ROLE_NAMES
from gridsight.core.errors import DataError
from gridsight.simulator.uri import SCENES, WorldSpec
from gridsight.simulator.world import FrameTruth, World

SPLITS: tuple[str, ...] = ("train", "val", "test")
_HORIZON_S = 1800.0  # frames are drawn from the first half hour of each world


@dataclass(frozen=True, slots=True)
class DatasetOptions:
    """What to export.

    Attributes:
        n: number of images in all.
        seed: the dataset's seed (world seeds and frame times derive from it).
        val_frac: fraction of worlds held out for validation.
        test_frac: fraction of worlds held out for test.
        frames_per_world: images taken from each synthetic camera.
        width: image width.
        height: image height.
        density: traffic multiplier of the worlds (more objects per image).
        jpeg_quality: quality of the written JPEG files.
    """

    n: int
    seed: int = 0
    val_frac: float = 0.15
    test_frac: float = 0.15
    frames_per_world: int = 8
    width: int = 640
    height: int = 360
    density: float = 2.5
    jpeg_quality: int = 92

    def __post_init__(self) -> None:
        if self.n < 1:
            raise DataError(f"dataset --n {self.n}: expected at least 1 image")
        if self.frames_per_world < 1:
            raise DataError(f"dataset --frames-per-scene {self.frames_per_world}: expected >= 1")
        if self.val_frac < 0 or self.test_frac < 0 or self.val_frac + self.test_frac >= 1:
            raise DataError(
                f"dataset --val-frac {self.val_frac} --test-frac {self.test_frac}: each must "
                "be >= 0 and together < 1"
            )


@dataclass(slots=True)
class DatasetSummary:
    """What was written: counts per split and class, and the worlds of each split."""

    out: Path
    images: dict[str, int] = field(default_factory=dict)
    boxes: dict[str, dict[str, int]] = field(default_factory=dict)
    worlds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "images": self.images,
            "boxes": self.boxes,
            "worlds": self.worlds,
        }


def world_seed(dataset_seed: int, index: int) -> int:
    """The world seed of world ``index`` of a dataset (disjoint across dataset seeds)."""
    return dataset_seed * 1_000_003 + index


def plan_worlds(opts: DatasetOptions) -> list[tuple[str, WorldSpec]]:
    """The (split, world spec) of every world of the dataset, split by seed per scene."""
    n_worlds = math.ceil(opts.n / opts.frames_per_world)
    rng = np.random.default_rng([opts.seed, 0x5EED])
    by_scene: dict[str, list[int]] = {scene: [] for scene in SCENES}
    for i in range(n_worlds):
        by_scene[SCENES[i % len(SCENES)]].append(i)
    # Deal the worlds out scene by scene (each scene's worlds in random order), so the
    # held-out splits take worlds of every scene in turn, not all of one scene.
    queues = [[idx[j] for j in rng.permutation(len(idx))] for idx in by_scene.values()]
    dealt: list[int] = []
    while any(queues):
        for queue in queues:
            if queue:
                dealt.append(queue.pop())
    n_test = round(n_worlds * opts.test_frac)
    n_val = round(n_worlds * opts.val_frac)
    if n_worlds >= 3:  # enough worlds: every requested split gets at least one
        n_test = max(n_test, 1 if opts.test_frac > 0 else 0)
        n_val = max(n_val, 1 if opts.val_frac > 0 else 0)
    split_of = {
        idx: "test" if j < n_test else "val" if j < n_test + n_val else "train"
        for j, idx in enumerate(dealt)
    }
    out = []
    for i in range(n_worlds):
        spec = WorldSpec(
            scene=SCENES[i % len(SCENES)],
            seed=world_seed(opts.seed, i),
            width=opts.width,
            height=opts.height,
            density=opts.density,
        )
        out.append((split_of[i], spec))
    return out


def _frame_times(world: World, count: int, rng: np.random.Generator) -> list[int]:
    episodes, near = world.labels(_HORIZON_S)
    spans = [(e["start"], e["end"]) for e in episodes + near if e["end"] > e["start"]]
    fps = world.fps
    frames: set[int] = set()
    tries = 0
    while len(frames) < count and tries < count * 20:
        tries += 1
        if spans and rng.random() < 0.5:
            lo, hi = spans[int(rng.integers(len(spans)))]
            t = float(rng.uniform(lo, hi))
        else:
            t = float(rng.uniform(0.0, _HORIZON_S))
        frames.add(int(t * fps))
    return sorted(frames)


def yolo_lines(truth: FrameTruth, width: int, height: int) -> list[str]:
    """The YOLO label lines of a frame's truth (``class cx cy w h``, normalised)."""
    lines = []
    for (x1, y1, x2, y2), role in zip(truth.boxes, truth.roles, strict=True):
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        bw, bh = (x2 - x1) / width, (y2 - y1) / height
        lines.append(f"{int(role)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    return lines


def read_yolo_labels(path: Path, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse a YOLO label file back into ``(classes (n,), xyxy pixel boxes (n, 4))``.

    Raises:
        DataError: a line is not ``class cx cy w h`` (names file and line).
    """
    classes, boxes = [], []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 5:
                raise ValueError
            cls = int(parts[0])
            cx, cy, bw, bh = (float(p) for p in parts[1:])
        except ValueError:
            raise DataError(f"{path}:{lineno}: expected 'class cx cy w h', got {line!r}") from None
        classes.append(cls)
        boxes.append(
            [
                (cx - bw / 2) * width,
                (cy - bh / 2) * height,
                (cx + bw / 2) * width,
                (cy + bh / 2) * height,
            ]
        )
    return np.array(classes, np.int64), np.array(boxes, np.float64).reshape(-1, 4)


def export_dataset(
    out: Path,
    opts: DatasetOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> DatasetSummary:
    """Render and write the dataset.

    Args:
        out: output folder (created; existing files of the same names are overwritten).
        opts: what to export; or give the :class:`DatasetOptions` fields as keywords
            (``export_dataset(out, n=3000, seed=0)``).
        progress: called with the number of images written since the last call.

    Returns:
        Counts per split and class and the worlds of each split (also in manifest.json).

    Raises:
        DataError: impossible options (no images, fractions that leave no training set).
    """
    if opts is None:
        try:
            opts = DatasetOptions(**options)
        except TypeError as exc:
            raise DataError(f"export_dataset: {exc}") from None
    elif options:
        raise DataError("export_dataset: pass either opts or keyword options, not both")
    out = Path(out)
    summary = DatasetSummary(out=out)
    for split in SPLITS:
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        summary.images[split] = 0
        summary.boxes[split] = {name: 0 for name in ROLE_NAMES}
        summary.worlds[split] = []
    remaining = opts.n
    for i, (split, spec) in enumerate(plan_worlds(opts)):
        count = min(opts.frames_per_world, remaining)
        if count <= 0:
            break
        world = World(spec)
        summary.worlds[split].append(world.describe())
        rng = np.random.default_rng([opts.seed, i, 0xF4A3E])
        for index in _frame_times(world, count, rng):
            image, truth = world.render(index)
            stem = f"{spec.scene}_s{spec.seed}_f{index:06d}"
            cv2.imwrite(
                str(out / "images" / split / f"{stem}.jpg"),
                image,
                [cv2.IMWRITE_JPEG_QUALITY, opts.jpeg_quality],
            )
            lines = yolo_lines(truth, spec.width, spec.height)
            (out / "labels" / split / f"{stem}.txt").write_text(
                "\n".join(lines) + ("\n" if lines else "")
            )
            summary.images[split] += 1
            for role in truth.roles:
                summary.boxes[split][ROLE_NAMES[int(role)]] += 1
            remaining -= 1
            if progress is not None:
                progress(1)
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "test": "images/test",
        "nc": len(ROLE_NAMES),
        "names": dict(enumerate(ROLE_NAMES)),
    }
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    manifest = {
        "options": {k: getattr(opts, k) for k in opts.__dataclass_fields__},
        **summary.to_dict(),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return summary


def describe(summary: DatasetSummary) -> list[str]:
    """Markdown lines describing an exported dataset (for a model card).

    Example output::

        - images: train 2100, val 450, test 450 (split by world seed, all four scenes each)
        - lighting of the worlds: day 60%, dusk 14%, night 26%
        - boxes (train): person 9000, bicycle 1200, ...
    """
    images = ", ".join(f"{split} {summary.images.get(split, 0)}" for split in SPLITS)
    worlds = [w for split in SPLITS for w in summary.worlds.get(split, [])]
    n_worlds = max(len(worlds), 1)
    lighting = ", ".join(
        f"{kind} {100 * sum(w['lighting'] == kind for w in worlds) / n_worlds:.0f}%"
        for kind in ("day", "dusk", "night")
    )
    lines = [
        f"- images: {images} (split by world seed; {len(worlds)} synthetic cameras, "
        f"scenes {', '.join(SCENES)})",
        f"- lighting of the worlds: {lighting}",
    ]
    for split in SPLITS:
        counts = summary.boxes.get(split, {})
        lines.append(f"- boxes ({split}): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return lines
