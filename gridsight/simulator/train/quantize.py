"""Static int8 quantization of the bundled detector (onnxruntime, QDQ format).

``gridsight world quantize`` turns ``gridsight-synth.onnx`` into
``gridsight-synth-int8.onnx``:

1. **Calibration frames** are rendered fresh from the synthetic world with the dataset
   exporter (:func:`gridsight.simulator.dataset.export_dataset`) under a dataset seed of
   their own (default 1), so their worlds are disjoint from the seed-0 dataset the model
   was trained, validated and tested on. They are letterboxed by the engine's own
   letterbox, exactly as the engine feeds the model.
2. **onnxruntime static quantization** in QDQ format: uint8 activations, int8 weights
   (per output channel by default), activation ranges from the calibration frames
   (Percentile by default; MinMax, Entropy and Distribution are available).
3. **The decode tail stays fp32.** After the last convolutions the graph turns distances
   into boxes (Softplus, times the stride, plus the anchor grid) and concatenates box
   coordinates in input pixels (0..384) with sigmoid scores (0..1) into one tensor. One
   uint8 scale over that tensor would leave the scores about 1.5 units per step, i.e.
   every score 0 or 1. :func:`decode_tail_nodes` finds those nodes from the graph (every
   node after which no convolution follows) rather than by name.
4. The fp32 model's metadata (``names``, ``imgsz``, ``stride`` ...) is carried over, with
   a ``quantization`` entry saying how the file was made, so the engine, the evaluator
   and ``gridsight detect`` read it exactly like the fp32 model.

:func:`detection_agreement` measures how many of the fp32 model's confident boxes the
int8 model also finds, the check the tests run on held-out frames.

Example:
    >>> frames = render_calibration_frames(Path("calib"), n=256, seed=1)  # doctest: +SKIP
    >>> quantize_detector(Path("gridsight-synth.onnx"), Path("int8.onnx"), frames)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from gridsight.core.detection.decode import imgsz_from_metadata
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.nms import box_iou
from gridsight.core.detection.preprocess import Letterboxer
from gridsight.core.errors import DataError, ModelError

#: Calibration methods by CLI name -> onnxruntime ``CalibrationMethod`` member name.
CALIBRATION_METHODS: dict[str, str] = {
    "minmax": "MinMax",
    "entropy": "Entropy",
    "percentile": "Percentile",
    "distribution": "Distribution",
}
#: Dataset seed of the calibration worlds (the shipped model's dataset is seed 0).
DEFAULT_CALIB_SEED = 1
DEFAULT_CALIB_N = 256
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True, slots=True)
class QuantizeOptions:
    """How to quantize.

    Attributes:
        method: calibration method, a key of :data:`CALIBRATION_METHODS`.
        per_channel: one weight scale per output channel (else one per tensor).
        reduce_range: 7-bit weights, which avoids the int16 saturation of AVX2's
            ``vpmaddubsw`` in u8 x s8 products (onnxruntime's advice for CPUs without VNNI).
        keep_head_fp32: also keep the last convolution of every head in fp32.
        keep_fp32: further node names to leave unquantized.
        batch_size: frames per calibration inference call.
    """

    method: str = "percentile"
    per_channel: bool = True
    reduce_range: bool = False
    keep_head_fp32: bool = False
    keep_fp32: tuple[str, ...] = ()
    batch_size: int = 8

    def __post_init__(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise DataError(
                f"quantize --method {self.method!r}: expected one of "
                f"{', '.join(CALIBRATION_METHODS)}"
            )
        if self.batch_size < 1:
            raise DataError(f"quantize batch size {self.batch_size}: expected >= 1")


@dataclass(frozen=True, slots=True)
class QuantizeResult:
    """What :func:`quantize_detector` wrote."""

    path: Path
    size_bytes: int
    fp32_size_bytes: int
    calibration_images: int
    excluded_nodes: tuple[str, ...]
    quantized_ops: dict[str, int]

    @property
    def size_ratio(self) -> float:
        """int8 file size / fp32 file size."""
        return self.size_bytes / self.fp32_size_bytes


def render_calibration_frames(
    out: Path,
    n: int = DEFAULT_CALIB_N,
    seed: int = DEFAULT_CALIB_SEED,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Render ``n`` synthetic frames for calibration into ``out`` (a YOLO dataset, all train).

    The frames come from the dataset exporter with the same density, frame choice
    (half inside labelled episodes) and JPEG encoding as the training data, from worlds
    of dataset seed ``seed``.

    Raises:
        DataError: ``n`` < 1.
    """
    from gridsight.simulator.dataset import export_dataset

    if n < 1:
        raise DataError(f"quantize --calib-n {n}: expected at least 1 calibration image")
    export_dataset(out, n=n, seed=seed, val_frac=0.0, test_frac=0.0, progress=progress)
    return image_files(out / "images" / "train")


def image_files(folder: Path) -> list[Path]:
    """The image files of ``folder``, sorted by name.

    Raises:
        DataError: the folder is missing or holds no image.
    """
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder of images")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(_IMAGE_SUFFIXES)})")
    return files


class FrameCalibrationReader:
    """Feeds letterboxed batches of image files to onnxruntime's calibrator.

    Implements onnxruntime's ``CalibrationDataReader`` protocol (``get_next`` returns
    one input feed, or None at the end; onnxruntime's ABC accepts any class with a
    ``get_next``), without importing onnxruntime until it is used.

    Args:
        files: the calibration images.
        input_name: the model's input name.
        imgsz: model input ``(h, w)``.
        batch_size: images per feed.
        progress: called with the number of images in each feed handed out.
    """

    def __init__(
        self,
        files: Sequence[Path],
        input_name: str,
        imgsz: tuple[int, int],
        batch_size: int = 8,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.files = list(files)
        self.input_name = input_name
        self.batch_size = batch_size
        self.progress = progress
        self._boxer = Letterboxer(imgsz)
        self._range = (0, len(self))
        self._batches = self._iterate()

    def __len__(self) -> int:
        """Number of feeds (batches)."""
        return -(-len(self.files) // self.batch_size)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Hand out only feeds ``start_index`` to ``end_index - 1`` from now on.

        onnxruntime calls this for ``CalibStridedMinMax``: it calibrates chunk by chunk and
        merges the chunks' ranges (or histograms), so memory holds one chunk of activations
        instead of all of them.
        """
        self._range = (start_index, min(end_index, len(self)))
        self._batches = self._iterate()

    def _iterate(self) -> Iterator[dict[str, npt.NDArray[np.float32]]]:
        first, last = self._range
        for start in range(first * self.batch_size, last * self.batch_size, self.batch_size):
            frames = []
            for path in self.files[start : start + self.batch_size]:
                frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if frame is None:
                    raise DataError(f"{path}: not a readable image")
                frames.append(frame)
            batch, _ = self._boxer(frames, copy=True)
            if self.progress is not None:
                self.progress(len(frames))
            yield {self.input_name: batch}

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        """The next input feed, or None when every image has been handed out."""
        return next(self._batches, None)

    def rewind(self) -> None:
        """Start again from the first image."""
        self.set_range(0, len(self))

    def chunk(self, max_feeds: int = 4) -> int:
        """The largest chunk of at most ``max_feeds`` feeds that divides :meth:`__len__`
        (onnxruntime requires the chunks to divide the data exactly)."""
        return max(d for d in range(1, max(1, max_feeds) + 1) if len(self) % d == 0)


def decode_tail_nodes(model: Any) -> list[str]:
    """Names of the nodes after which no convolution follows: the box/score decode.

    Args:
        model: an ``onnx.ModelProto``.
    """
    nodes = list(model.graph.node)
    consumers: dict[str, list[int]] = defaultdict(list)
    for i, node in enumerate(nodes):
        for name in node.input:
            consumers[name].append(i)
    # Nodes are topologically sorted, so one backward pass settles "a Conv follows".
    conv_follows = [False] * len(nodes)
    for i in range(len(nodes) - 1, -1, -1):
        conv_follows[i] = any(
            nodes[j].op_type == "Conv" or conv_follows[j]
            for out in nodes[i].output
            for j in consumers[out]
        )
    return [n.name for i, n in enumerate(nodes) if n.op_type != "Conv" and not conv_follows[i]]


def head_output_convs(model: Any, tail: Sequence[str]) -> list[str]:
    """Names of the convolutions whose output feeds the decode tail directly."""
    tail_set = set(tail)
    feeds_tail = {name for node in model.graph.node if node.name in tail_set for name in node.input}
    return [
        n.name
        for n in model.graph.node
        if n.op_type == "Conv" and any(out in feeds_tail for out in n.output)
    ]


def quantize_detector(
    src: Path,
    dst: Path,
    calibration: Sequence[Path],
    options: QuantizeOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> QuantizeResult:
    """Quantize the fp32 detector ``src`` to an int8 QDQ model at ``dst``.

    Args:
        src: the fp32 ONNX detector (YOLOv8 layout, ``imgsz`` metadata).
        dst: where to write the int8 model.
        calibration: calibration image files.
        options: see :class:`QuantizeOptions`.
        progress: called with the number of calibration images run through the model.

    Raises:
        ModelError: ``src`` is missing, unreadable or lacks ``imgsz`` metadata.
        DataError: no calibration images.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    options = options or QuantizeOptions()
    if not src.is_file():
        raise ModelError(f"{src}: no such model file")
    if not calibration:
        raise DataError("quantize: no calibration images")
    try:
        model = onnx.load(str(src))
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ModelError(f"{src}: not an ONNX model: {exc}") from exc
    metadata = {p.key: p.value for p in model.metadata_props}
    imgsz = imgsz_from_metadata(metadata)
    if imgsz is None:
        raise ModelError(f"{src}: metadata lacks 'imgsz'; cannot letterbox calibration frames")
    tail = decode_tail_nodes(model)
    excluded = list(tail)
    if options.keep_head_fp32:
        excluded += head_output_convs(model, tail)
    known = {n.name for n in model.graph.node}
    unknown = [name for name in options.keep_fp32 if name not in known]
    if unknown:
        raise DataError(f"quantize --keep-fp32: {src} has no node(s) {', '.join(unknown)}")
    excluded += [name for name in options.keep_fp32 if name not in excluded]

    reader = FrameCalibrationReader(
        calibration, model.graph.input[0].name, imgsz, options.batch_size, progress
    )
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gridsight-quantize-") as tmp:
        raw = Path(tmp) / "int8.onnx"
        quantize_static(
            str(src),
            str(raw),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=options.per_channel,
            reduce_range=options.reduce_range,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            calibrate_method=getattr(CalibrationMethod, CALIBRATION_METHODS[options.method]),
            # Calibrate in chunks of a few feeds: the histogram methods keep every
            # activation of every feed until they bin them (about 40 MB a frame here; 256
            # frames at once took 10 GB). CalibStridedMinMax applies to every method.
            # (Not CalibMaxIntermediateOutputs: onnxruntime 1.32 drops the MinMax batches
            # it flushes instead of merging them.)
            extra_options={"CalibStridedMinMax": reader.chunk()},
        )
        quantized = onnx.load(str(raw))
    recipe = {
        "format": "QDQ",
        "activations": "uint8",
        "weights": "int8 per-channel" if options.per_channel else "int8 per-tensor",
        "calibration": options.method,
        "calibration_images": len(calibration),
        "reduce_range": options.reduce_range,
        "fp32_nodes": len(excluded),
        "source": src.name,
    }
    _set_metadata(
        quantized,
        {
            **metadata,
            "description": metadata.get("description", "") + " (int8, static QDQ quantization)",
            "quantization": json.dumps(recipe),
        },
    )
    onnx.save(quantized, str(dst))
    ops: dict[str, int] = defaultdict(int)
    for node in quantized.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            ops[node.op_type] += 1
    return QuantizeResult(
        path=dst,
        size_bytes=dst.stat().st_size,
        fp32_size_bytes=src.stat().st_size,
        calibration_images=len(calibration),
        excluded_nodes=tuple(excluded),
        quantized_ops=dict(ops),
    )


def _set_metadata(model: Any, values: dict[str, str]) -> None:
    """Replace ``model``'s metadata_props with ``values`` (keeps the given order)."""
    del model.metadata_props[:]
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


@dataclass(frozen=True, slots=True)
class Agreement:
    """How many of a reference model's confident boxes another model also finds.

    Attributes:
        reference_boxes: the reference's boxes at or above the confidence threshold.
        matched: those matched by a box of the same class at IoU >= the threshold.
    """

    reference_boxes: int
    matched: int

    @property
    def recall(self) -> float:
        """``matched / reference_boxes`` (1.0 when the reference found nothing)."""
        return self.matched / self.reference_boxes if self.reference_boxes else 1.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "recall": self.recall}


def detection_agreement(
    reference: Sequence[Detections],
    candidate: Sequence[Detections],
    conf: float = 0.5,
    iou: float = 0.5,
    candidate_conf: float = 0.25,
) -> Agreement:
    """Recall of ``reference``'s confident boxes among ``candidate``'s, frame by frame.

    A reference box (confidence >= ``conf``) counts as found when the candidate has a box
    of the same class with confidence >= ``candidate_conf`` and IoU >= ``iou`` with it; each
    candidate box matches at most one reference box (greedy, by IoU). The candidate's
    lower threshold keeps a box whose score merely moved from 0.52 to 0.48 from counting
    as lost: the engine's own threshold is what decides, and it sits below 0.5.

    Raises:
        DataError: the two lists differ in length.
    """
    if len(reference) != len(candidate):
        raise DataError(f"{len(reference)} reference frames but {len(candidate)} candidate frames")
    total = matched = 0
    for ref, cand in zip(reference, candidate, strict=True):
        ref = ref[ref.confidence >= conf]
        cand = cand[cand.confidence >= candidate_conf]
        total += len(ref)
        if not len(ref) or not len(cand):
            continue
        overlap = box_iou(ref.xyxy, cand.xyxy)
        overlap[ref.class_id[:, None] != cand.class_id[None, :]] = 0.0
        for r, c in sorted(np.argwhere(overlap >= iou), key=lambda rc: -overlap[rc[0], rc[1]]):
            if overlap[r, c] < 0:
                continue
            matched += 1
            overlap[r, :] = -1.0
            overlap[:, c] = -1.0
    return Agreement(total, matched)
