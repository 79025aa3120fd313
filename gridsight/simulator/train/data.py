"""Reading a YOLO-format detection dataset into memory, and batch augmentation.

The dataset layout is the one ``gridsight world dataset`` writes (and Ultralytics
reads): ``DIR/images/<split>/*.jpg``, ``DIR/labels/<split>/*.txt`` with one
``class cx cy w h`` line per box (normalised to the image), and ``DIR/data.yaml``
naming the classes.

Images are letterboxed once, with exactly the engine's letterbox
(:mod:`gridsight.core.detection.preprocess`), and kept in memory as uint8: the datasets the
bundled model trains on are a few thousand small frames, and decoding JPEGs every
epoch would cost more CPU than the network on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml

from gridsight.core.detection.preprocess import Letterboxer, LetterboxInfo
from gridsight.core.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True, slots=True)
class LabelledImage:
    """One image file and its boxes in original pixels.

    Attributes:
        path: the image file.
        classes: ``(n,)`` int64 class ids.
        xyxy: ``(n, 4)`` float32 boxes in the image's own pixels.
        shape: ``(height, width)`` of the image.
    """

    path: Path
    classes: np.ndarray
    xyxy: np.ndarray
    shape: tuple[int, int]


def read_class_names(root: Path) -> tuple[str, ...]:
    """The class names in ``root/data.yaml`` (a list, or a ``{id: name}`` mapping)."""
    path = root / "data.yaml"
    if not path.is_file():
        raise DataError(f"{path}: not found; expected a YOLO dataset with a data.yaml")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from exc
    names = doc.get("names") if isinstance(doc, dict) else None
    if isinstance(names, dict):
        try:
            return tuple(str(names[k]) for k in sorted(names, key=int))
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: 'names' keys must be class ids 0..n-1") from exc
    if isinstance(names, list) and names:
        return tuple(str(n) for n in names)
    raise DataError(f"{path}: expected a 'names:' list of class names")


def _read_labels(label_path: Path, shape: tuple[int, int], num_classes: int) -> np.ndarray:
    """``(n, 5)`` float rows ``class x1 y1 x2 y2`` in pixels from a YOLO txt file."""
    if not label_path.is_file():
        return np.zeros((0, 5), np.float32)
    rows: list[list[float]] = []
    h, w = shape
    for lineno, line in enumerate(label_path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 5:
            raise DataError(
                f"{label_path}:{lineno}: expected 'class cx cy w h', got {len(fields)} fields"
            )
        try:
            cls, cx, cy, bw, bh = (float(f) for f in fields)
        except ValueError as exc:
            raise DataError(f"{label_path}:{lineno}: not a number: {line!r}") from exc
        if not 0 <= cls < num_classes or cls != int(cls):
            raise DataError(
                f"{label_path}:{lineno}: class {fields[0]} outside 0..{num_classes - 1}"
            )
        rows.append(
            [cls, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
        )
    return np.asarray(rows, np.float32).reshape(-1, 5)


def list_split(root: Path, split: str) -> list[tuple[Path, Path]]:
    """``(image, label file)`` pairs of one split, sorted by file name."""
    image_dir = root / "images" / split
    if not image_dir.is_dir():
        raise DataError(f"{image_dir}: no such split folder (expected images/{split}/)")
    pairs = [
        (path, root / "labels" / split / (path.stem + ".txt"))
        for path in sorted(image_dir.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not pairs:
        raise DataError(f"{image_dir}: no images found")
    return pairs


def read_labelled(
    image_path: Path, label_path: Path, num_classes: int
) -> tuple[np.ndarray, LabelledImage]:
    """Read one image (BGR uint8) and its boxes converted to its pixels."""
    frame = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if frame is None:
        raise DataError(f"{image_path}: cannot be read as an image")
    shape = (int(frame.shape[0]), int(frame.shape[1]))
    rows = _read_labels(label_path, shape, num_classes)
    item = LabelledImage(image_path, rows[:, 0].astype(np.int64), rows[:, 1:].copy(), shape)
    return frame, item


def count_instances(root: Path, split: str, num_classes: int) -> list[int]:
    """Boxes per class in a split, from the label files alone (no image is read)."""
    counts = [0] * num_classes
    for _, label_path in list_split(root, split):
        if label_path.is_file():
            for line in label_path.read_text(encoding="utf-8").splitlines():
                fields = line.split()
                if fields and fields[0].isdigit() and int(fields[0]) < num_classes:
                    counts[int(fields[0])] += 1
    return counts


def box_size_stats(
    root: Path,
    split: str,
    class_names: Sequence[str],
    imgsz: tuple[int, int],
    small_px: float = 8.0,
) -> dict[str, tuple[float, float, float]]:
    """Per class: median width, median height (model-input pixels) and the fraction of
    boxes narrower than ``small_px``, over a split's labels."""
    sizes: dict[int, list[tuple[float, float]]] = {}
    for image_path, label_path in list_split(root, split):
        _, item = read_labelled(image_path, label_path, len(class_names))
        scale = min(imgsz[0] / item.shape[0], imgsz[1] / item.shape[1])
        wh = (item.xyxy[:, 2:] - item.xyxy[:, :2]) * scale
        for cls, (w, h) in zip(item.classes.tolist(), wh.tolist(), strict=True):
            sizes.setdefault(int(cls), []).append((w, h))
    out: dict[str, tuple[float, float, float]] = {}
    for k, name in enumerate(class_names):
        if k in sizes:
            arr = np.asarray(sizes[k])
            out[name] = (
                float(np.median(arr[:, 0])),
                float(np.median(arr[:, 1])),
                float((arr[:, 0] < small_px).mean()),
            )
    return out


@dataclass
class MemoryDataset:
    """A split letterboxed into memory.

    Attributes:
        images: ``(n, 3, h, w)`` uint8 RGB tensor.
        boxes: per image, ``(k, 5)`` float32 tensor of ``class x1 y1 x2 y2`` in
            model-input pixels.
        items: the source images (paths, original boxes and shapes).
        infos: how each image was letterboxed.
    """

    images: torch.Tensor
    boxes: list[torch.Tensor]
    items: list[LabelledImage]
    infos: list[LetterboxInfo]

    def __len__(self) -> int:
        return int(self.images.shape[0])


def load_split(
    root: Path, split: str, imgsz: tuple[int, int], num_classes: int, chunk: int = 64
) -> MemoryDataset:
    """Read and letterbox every image of ``split`` into a :class:`MemoryDataset`."""
    pairs = list_split(root, split)
    boxer = Letterboxer(imgsz)
    h, w = imgsz
    images = torch.empty((len(pairs), 3, h, w), dtype=torch.uint8)
    items: list[LabelledImage] = []
    infos: list[LetterboxInfo] = []
    boxes: list[torch.Tensor] = []
    for start in range(0, len(pairs), chunk):
        frames: list[np.ndarray] = []
        part: list[LabelledImage] = []
        for image_path, label_path in pairs[start : start + chunk]:
            frame, item = read_labelled(image_path, label_path, num_classes)
            frames.append(frame)
            part.append(item)
        items.extend(part)
        batch, part_infos = boxer(frames)
        # The letterboxer's floats are exact multiples of 1/255: this is lossless.
        images[start : start + len(part)] = torch.from_numpy(
            np.rint(batch * 255.0).astype(np.uint8)
        )
        for item, info in zip(part, part_infos, strict=True):
            xyxy = info.to_input(item.xyxy).astype(np.float32)
            rows = np.concatenate([item.classes[:, None].astype(np.float32), xyxy], axis=1)
            boxes.append(torch.from_numpy(rows.reshape(-1, 5)))
        infos.extend(part_infos)
    return MemoryDataset(images, boxes, items, infos)


@dataclass(frozen=True, slots=True)
class Augment:
    """Light photometric and geometric augmentation.

    Attributes:
        flip: probability of a horizontal flip.
        saturation: saturation factor drawn from ``[1 - s, 1 + s]``.
        brightness: value factor drawn from ``[1 - v, 1 + v]``.
        contrast: contrast factor drawn from ``[1 - c, 1 + c]``.
    """

    flip: float = 0.5
    saturation: float = 0.5
    brightness: float = 0.3
    contrast: float = 0.2


def augment_batch(
    images: torch.Tensor, boxes: list[torch.Tensor], aug: Augment, generator: torch.Generator
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Augment a float batch in [0, 1] and its boxes (new tensors; inputs unchanged).

    Args:
        images: ``(B, 3, h, w)`` float.
        boxes: per image ``(k, 5)`` class + xyxy in pixels.
        aug: augmentation strengths.
        generator: the random source (seeded by the trainer for reproducibility).
    """
    bsz, _, _, width = images.shape

    def uniform(spread: float) -> torch.Tensor:
        return 1.0 + (torch.rand(bsz, 1, 1, 1, generator=generator) * 2 - 1) * spread

    flip = torch.rand(bsz, generator=generator) < aug.flip
    out = torch.where(flip.view(bsz, 1, 1, 1), images.flip(-1), images)
    grey = (out * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    out = grey + (out - grey) * uniform(aug.saturation)
    mean = grey.mean(dim=(2, 3), keepdim=True)
    out = mean + (out - mean) * uniform(aug.contrast)
    out = (out * uniform(aug.brightness)).clamp(0.0, 1.0)
    new_boxes: list[torch.Tensor] = []
    for i, b in enumerate(boxes):
        if bool(flip[i]) and len(b):
            b = b.clone()
            x1 = width - b[:, 3]
            x2 = width - b[:, 1]
            b[:, 1], b[:, 3] = x1, x2
        new_boxes.append(b)
    return out, new_boxes


def pad_targets(
    boxes: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack ragged per-image boxes into ``(classes (B, M), xyxy (B, M, 4), valid (B, M))``."""
    bsz = len(boxes)
    m = max((len(b) for b in boxes), default=0)
    classes = torch.zeros((bsz, m), dtype=torch.int64)
    xyxy = torch.zeros((bsz, m, 4), dtype=torch.float32)
    valid = torch.zeros((bsz, m), dtype=torch.bool)
    for i, b in enumerate(boxes):
        k = len(b)
        if k:
            classes[i, :k] = b[:, 0].long()
            xyxy[i, :k] = b[:, 1:]
            valid[i, :k] = True
    return classes, xyxy, valid


def iterate_batches(
    n: int, batch_size: int, generator: torch.Generator, shuffle: bool = True
) -> Iterator[torch.Tensor]:
    """Index batches over ``n`` items (the last, partial batch is kept)."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]
