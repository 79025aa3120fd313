"""What a model file says about itself: its input, outputs and metadata.

Every backend needs the same facts (the input tensor's name and shape, the output
names, the ``metadata_props`` an exporter wrote). They are read once here, with
onnxruntime (a core dependency) and no graph optimisation, so a backend that cannot
introspect a model (cv2.dnn) still knows its input size and class names.

The metadata strings are parsed here too (:func:`parse_metadata_literal`,
:func:`imgsz_from_metadata`), safely and without evaluating code: a backend that
needs the model's declared input size (TensorRT's shape profile) reads it from
here, not from the output decoder.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridsight.core.errors import BackendUnavailableError, ModelError

#: A tensor dimension: an int when fixed, None when dynamic (symbolic or -1).
Dim = int | None

#: Longest metadata string we parse; a model's names never come near it, and
#: ``ast.literal_eval`` on megabytes of nesting can exhaust the stack.
MAX_METADATA_CHARS = 200_000


def _dims(shape: Any) -> tuple[Dim, ...]:
    out: list[Dim] = []
    for d in shape or ():
        out.append(d if isinstance(d, int) and d > 0 else None)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One input or output tensor: its name, shape (None for dynamic dims) and dtype."""

    name: str
    shape: tuple[Dim, ...]
    dtype: str = "float32"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The interface of a model file.

    Attributes:
        path: the model file.
        inputs: input tensors in order (detectors have one, NCHW).
        outputs: output tensors in order.
        metadata: the model's ``metadata_props`` as strings (e.g. ``names``, ``imgsz``).
    """

    path: Path
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def input(self) -> TensorInfo:
        """The (first) input tensor."""
        return self.inputs[0]

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the model is fixed to, or None when the batch dim is dynamic."""
        shape = self.input.shape
        return shape[0] if shape else None

    @property
    def input_hw(self) -> tuple[int, int] | None:
        """``(height, width)`` of the input when both are fixed, else None."""
        shape = self.input.shape
        if len(shape) == 4 and shape[2] is not None and shape[3] is not None:
            return int(shape[2]), int(shape[3])
        return None

    @property
    def metadata_hw(self) -> tuple[int, int] | None:
        """``(height, width)`` the exporter wrote in the ``imgsz`` metadata, or None.

        Raises:
            ModelError: the ``imgsz`` entry is malformed.
        """
        return imgsz_from_metadata(self.metadata)


def parse_metadata_literal(text: str, field: str = "value") -> object:
    """Parse a metadata string written as JSON or as a Python literal, safely.

    JSON is tried first, then :func:`ast.literal_eval`, which accepts only literals
    (numbers, strings, tuples, lists, dicts, sets, booleans, None): a string such as
    ``__import__('os').system('...')`` is rejected, never run.

    Raises:
        ModelError: the text is too long or not a literal.
    """
    if len(text) > MAX_METADATA_CHARS:
        raise ModelError(
            f"model metadata {field!r} is {len(text)} characters (limit {MAX_METADATA_CHARS})"
        )
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ModelError(
            f"model metadata {field!r} is not a JSON or Python literal "
            f"({type(exc).__name__}); got {text[:80]!r}"
        ) from exc


def imgsz_from_metadata(metadata: Mapping[str, str]) -> tuple[int, int] | None:
    """``(h, w)`` from the ``imgsz`` metadata (``[h, w]`` or a single int), or None.

    Example:
        >>> imgsz_from_metadata({"imgsz": "[384, 640]"}), imgsz_from_metadata({})
        ((384, 640), None)

    Raises:
        ModelError: the entry is neither ``[h, w]`` nor a positive integer.
    """
    raw = metadata.get("imgsz")
    if raw is None:
        return None
    obj = parse_metadata_literal(raw, "imgsz")
    if isinstance(obj, int) and not isinstance(obj, bool) and obj > 0:
        return obj, obj
    if (
        isinstance(obj, list | tuple)
        and len(obj) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in obj)
    ):
        return int(obj[0]), int(obj[1])
    raise ModelError(f"model metadata 'imgsz': expected [h, w] or an integer, got {raw[:40]!r}")


_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
}


def check_model_file(path: str | Path) -> Path:
    """Return ``path`` as a Path if it is a readable file, else raise ModelError."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model file {str(p)!r} does not exist; pass --model PATH to an ONNX file")
    return p


def model_info_from_ort_session(path: Path, session: Any) -> ModelInfo:
    """Build a :class:`ModelInfo` from an existing ``onnxruntime.InferenceSession``."""

    def tensors(items: Any) -> tuple[TensorInfo, ...]:
        return tuple(
            TensorInfo(t.name, _dims(t.shape), _ORT_TYPES.get(t.type, str(t.type))) for t in items
        )

    meta = session.get_modelmeta()
    return ModelInfo(
        path=path,
        inputs=tensors(session.get_inputs()),
        outputs=tensors(session.get_outputs()),
        metadata={str(k): str(v) for k, v in dict(meta.custom_metadata_map).items()},
    )


def read_model_info(path: str | Path) -> ModelInfo:
    """Read the inputs, outputs and metadata of an ONNX file.

    Raises:
        ModelError: the file is missing or is not a loadable ONNX model.
        BackendUnavailableError: onnxruntime is not installed.
    """
    p = check_model_file(path)
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise BackendUnavailableError(
            "reading a model needs onnxruntime: pip install onnxruntime"
        ) from exc
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"cannot load ONNX model {str(p)!r}: {exc}") from exc
    info = model_info_from_ort_session(p, session)
    if not info.inputs or not info.outputs:
        raise ModelError(f"model {str(p)!r} has no inputs or no outputs")
    return info
