"""The onnxruntime backend: the CPU default.

Options (passed to :meth:`OnnxRuntimeBackend.load`):
    intra_op_threads: threads inside one operator (0: onnxruntime decides; on a shared
        2-core machine 1 or 2 avoids oversubscription).
    inter_op_threads: threads across independent operators (parallel execution only).
    graph_optimization: ``disable`` | ``basic`` | ``extended`` | ``all`` (default ``all``).
    providers: execution providers in order of preference; by default CUDA when
        onnxruntime-gpu is installed, then CPU. Unknown providers are dropped.
    allow_spinning: let idle worker threads spin between operators and runs
        (onnxruntime's own default). Off by default here: the engine's Python threads and
        the other services of the box (API, work orders, other processes) need those
        cycles, and the engine's lower-priority loop (``EngineOptions.pipeline_nice``)
        would get none while the detector's threads spin. True can be a little faster
        for a process that does nothing but run the model.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gridsight.core.backends.base import Backend
from gridsight.core.backends.model_info import check_model_file, model_info_from_ort_session
from gridsight.core.errors import BackendUnavailableError, ModelError

#: Preferred execution providers, best first; only those installed are used.
DEFAULT_PROVIDERS: tuple[str, ...] = ("CUDAExecutionProvider", "CPUExecutionProvider")

_OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


class OnnxRuntimeBackend(Backend):
    """Runs an ONNX model with onnxruntime.

    Example:
        >>> backend = OnnxRuntimeBackend()                     # doctest: +SKIP
        >>> backend.load(Path("model.onnx"), intra_op_threads=2)  # doctest: +SKIP
        >>> outputs = backend.infer(batch)                     # doctest: +SKIP
    """

    name: ClassVar[str] = "onnxruntime"
    priority: ClassVar[int] = 20

    def __init__(self) -> None:
        self._session: Any = None
        self._out_names: list[str] = []
        self.providers: list[str] = []

    @classmethod
    def is_available(cls) -> bool:
        return importlib.util.find_spec("onnxruntime") is not None

    @property
    def session(self) -> Any:
        """The ``onnxruntime.InferenceSession`` (e.g. to time bare ``session.run``)."""
        if self._session is None:
            raise ModelError("onnxruntime backend: no session before load()")
        return self._session

    def load(
        self,
        model_path: Path,
        *,
        intra_op_threads: int = 0,
        inter_op_threads: int = 0,
        graph_optimization: str = "all",
        providers: str | list[str] | tuple[str, ...] | None = None,
        allow_spinning: bool = False,
        **options: Any,
    ) -> None:
        """Create the inference session.

        Raises:
            ModelError: the file is missing or onnxruntime cannot load it.
            BackendUnavailableError: onnxruntime is missing, or none of ``providers`` is.
        """
        if options:
            raise BackendUnavailableError(
                f"onnxruntime backend: unknown options {sorted(options)}; known: "
                "intra_op_threads, inter_op_threads, graph_optimization, providers, "
                "allow_spinning"
            )
        path = check_model_file(model_path)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailableError(
                "onnxruntime is not installed: pip install onnxruntime"
            ) from exc
        level_name = _OPT_LEVELS.get(graph_optimization)
        if level_name is None:
            raise BackendUnavailableError(
                f"onnxruntime backend: graph_optimization {graph_optimization!r} is not one "
                f"of {', '.join(_OPT_LEVELS)}"
            )
        so = ort.SessionOptions()
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level_name)
        so.intra_op_num_threads = int(intra_op_threads)
        so.inter_op_num_threads = int(inter_op_threads)
        if inter_op_threads > 1:
            so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        so.log_severity_level = 3
        if not allow_spinning:
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        installed = set(ort.get_available_providers())
        if isinstance(providers, str):  # "CUDAExecutionProvider,CPUExecutionProvider"
            providers = [p.strip() for p in providers.split(",") if p.strip()]
        wanted = list(providers) if providers else list(DEFAULT_PROVIDERS)
        chosen = [p for p in wanted if p in installed]
        if not chosen:
            raise BackendUnavailableError(
                f"onnxruntime backend: none of the providers {wanted} is installed; "
                f"installed: {sorted(installed)}"
            )
        try:
            self._session = ort.InferenceSession(str(path), so, providers=chosen)
        except Exception as exc:
            raise ModelError(f"onnxruntime cannot load model {str(path)!r}: {exc}") from exc
        self.providers = list(self._session.get_providers())
        info = model_info_from_ort_session(path, self._session)
        if len(info.inputs) != 1:
            names = [t.name for t in info.inputs]
            self._session = None
            raise ModelError(
                f"model {str(path)!r} has inputs {names}; a detector must take one image batch"
            )
        self._out_names = [t.name for t in info.outputs]
        self.model_info = info

    def _infer(self, batch: np.ndarray) -> list[np.ndarray]:
        input_name = self.input_metadata().name
        outs = self._session.run(self._out_names, {input_name: batch})
        return [np.asarray(o) for o in outs]

    def close(self) -> None:
        self._session = None
        self.model_info = None
