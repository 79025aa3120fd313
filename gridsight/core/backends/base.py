"""The inference backend interface (after Polygraphy's runners).

:meth:`Backend.infer` is written once, here: it checks the batch against the input the
loaded model declares (rank, fixed dims, dtype), runs it in chunks when the model or
runtime takes fewer frames per call (:mod:`gridsight.core.backends.chunking`) and
times the call. A backend writes only :meth:`Backend.load` and the runtime call,
:meth:`Backend._infer`.

Example:
    >>> class Doubler(Backend):                      # doctest: +SKIP
    ...     name = "doubler"
    ...     @classmethod
    ...     def is_available(cls) -> bool:
    ...         return True
    ...     def load(self, model_path, **options):
    ...         self.model_info = read_model_info(model_path)
    ...     def _infer(self, batch):
    ...         return [batch * 2]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from time import perf_counter
from typing import Any, ClassVar

import numpy as np

from gridsight.core.backends.chunking import run_in_chunks
from gridsight.core.backends.model_info import Dim, ModelInfo, TensorInfo
from gridsight.core.errors import ModelError


class Backend(ABC):
    """Runs one model on batches of preprocessed images.

    Heavy imports happen inside the subclass that needs them, so gridsight imports fast
    and works without them. Use as a context manager to release resources.

    A subclass's ``load`` sets :attr:`model_info` last, once the model is ready to
    run (``infer`` refuses to run before), and :attr:`max_batch` when the runtime takes
    at most that many frames per call although the model's batch dim is dynamic.
    ``close`` sets :attr:`model_info` back to None.

    Attributes:
        model_info: the loaded model's interface, None before ``load`` / after ``close``.
        max_batch: the most frames one runtime call takes (None: no limit). A model
            whose batch dim is fixed is always run in chunks of that size, padded.
        last_latency_s: seconds the last successful ``infer`` took (all its chunks).
        total_latency_s: seconds all successful ``infer`` calls took together.
        infer_calls: how many ``infer`` calls succeeded.
    """

    name: ClassVar[str]
    #: Higher is preferred by ``--backend auto`` among the available ones.
    priority: ClassVar[int] = 0
    #: Why this backend is not trusted yet (e.g. it has never run on real hardware).
    #: Non-empty: ``auto`` never chooses it, and choosing it by name warns with this.
    unvalidated: ClassVar[str] = ""

    # Class-level defaults, so a subclass whose __init__ skips super() still works.
    model_info: ModelInfo | None = None
    max_batch: int | None = None
    last_latency_s: float = 0.0
    total_latency_s: float = 0.0
    infer_calls: int = 0

    @classmethod
    @abstractmethod
    def is_available(cls) -> bool:
        """True if this backend's libraries (and hardware) are present."""

    @abstractmethod
    def load(self, model_path: Path, **options: Any) -> None:
        """Load the model. Raises ``ModelError`` or ``BackendUnavailableError``."""

    @abstractmethod
    def _infer(self, batch: np.ndarray) -> list[np.ndarray]:
        """The runtime call: one chunk the model accepts as is -> its outputs in order.

        ``batch`` is C-contiguous, has the declared dtype and shape, and (for a
        fixed-batch model) exactly the fixed number of frames.
        """

    def input_metadata(self) -> TensorInfo:
        """The input the loaded runtime accepts (Polygraphy's ``get_input_metadata``).

        The model file's input by default; a backend whose runtime is narrower (a
        TensorRT engine built for one spatial size) returns that instead.

        Raises:
            ModelError: nothing is loaded.
        """
        info = self.model_info
        if info is None:
            raise ModelError(
                f"{self.name} backend: infer() called before load() (or after close())"
            )
        return info.input

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run the model on an NCHW batch of any number of frames.

        Args:
            batch: at least one frame, shaped and typed as :meth:`input_metadata` says
                (any number of frames, whatever the model's batch dim).

        Returns:
            The model's outputs in order, batch first, one row per frame of ``batch``.

        Raises:
            ModelError: nothing is loaded, or ``batch`` does not match the model's
                input (the message gives both), or the runtime fails.
        """
        spec = self.input_metadata()
        data = np.asarray(batch)
        check_input(data, spec, self._describe())
        fixed = spec.shape[0] if spec.shape else None
        chunk, pad = (fixed, True) if fixed is not None else (self.max_batch, False)
        start = perf_counter()
        outputs = run_in_chunks(np.ascontiguousarray(data), chunk, self._infer, pad=pad)
        elapsed = perf_counter() - start
        self.last_latency_s = elapsed
        self.total_latency_s += elapsed
        self.infer_calls += 1
        return outputs

    def _describe(self) -> str:
        info = self.model_info
        model = f" model {info.path.name!r}" if info is not None else ""
        return f"{self.name} backend{model}"

    def close(self) -> None:
        """Release sessions, buffers, streams (subclasses also clear ``model_info``)."""
        self.model_info = None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _format_shape(shape: tuple[Dim, ...]) -> str:
    # The batch dim is shown as N: infer takes any number of frames, whatever it is.
    dims = ["N", *("?" if d is None else str(d) for d in shape[1:])] if shape else []
    return f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"


def check_input(data: np.ndarray, spec: TensorInfo, where: str) -> None:
    """Raise unless ``data`` fits ``spec``: same rank, fixed dims equal, same dtype.

    The batch dim is free (the backend chunks a fixed-batch model) but must be >= 1;
    a dynamic dim (None) takes any size.

    Args:
        data: the batch passed to ``infer``.
        spec: the declared input; ``None`` dims are dynamic.
        where: who is asking, for the message (``"onnxruntime backend model 'x.onnx'"``).

    Raises:
        ModelError: naming the input, the expected shape and dtype, and what was given.
    """
    problem = ""
    if data.ndim != len(spec.shape):
        problem = f"{data.ndim} dims instead of {len(spec.shape)}"
    elif data.shape[0] < 1:
        problem = "no frames"
    else:
        for axis, (want, have) in enumerate(zip(spec.shape, data.shape, strict=True)):
            if axis > 0 and want is not None and want != have:
                problem = f"dim {axis} is {have}, the model's is {want}"
                break
    if not problem and data.dtype.name != spec.dtype:
        problem = f"dtype {data.dtype}, the model's is {spec.dtype}"
    if problem:
        expected = f"{_format_shape(spec.shape)} {spec.dtype}"
        got = f"{tuple(int(d) for d in data.shape)} {data.dtype}"
        raise ModelError(f"{where} input {spec.name!r}: expected {expected}, got {got}: {problem}")
