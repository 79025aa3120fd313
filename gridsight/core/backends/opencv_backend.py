"""The OpenCV backend: ``cv2.dnn`` on the CPU (or CUDA when OpenCV was built with it).

A fallback for machines where onnxruntime cannot be installed; OpenCV is a core
dependency anyway. Options (passed to :meth:`OpenCVBackend.load`):
    threads: ``cv2.setNumThreads`` (process-wide in OpenCV; 0 leaves it unchanged).
    target: ``cpu`` (default) or ``cuda`` / ``cuda_fp16`` when OpenCV has CUDA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gridsight.core.backends.base import Backend
from gridsight.core.backends.model_info import check_model_file, read_model_info
from gridsight.core.errors import BackendUnavailableError, ModelError


class OpenCVBackend(Backend):
    """Runs an ONNX model with ``cv2.dnn.readNetFromONNX``."""

    name: ClassVar[str] = "opencv"
    priority: ClassVar[int] = 10

    def __init__(self) -> None:
        self._net: Any = None
        self._out_names: list[str] = []

    @classmethod
    def is_available(cls) -> bool:
        try:
            import cv2
        except ImportError:
            return False
        return hasattr(cv2, "dnn") and hasattr(cv2.dnn, "readNetFromONNX")

    def load(
        self, model_path: Path, *, threads: int = 0, target: str = "cpu", **options: Any
    ) -> None:
        """Read the network.

        Raises:
            ModelError: the file is missing or cv2.dnn cannot parse it.
            BackendUnavailableError: OpenCV lacks dnn, or the requested target.
        """
        if options:
            raise BackendUnavailableError(
                f"opencv backend: unknown options {sorted(options)}; known: threads, target"
            )
        path = check_model_file(model_path)
        if not self.is_available():
            raise BackendUnavailableError("opencv backend: cv2.dnn is not available")
        import cv2

        # Read the interface first: cv2.dnn does not expose input shapes or metadata.
        info = read_model_info(path)
        try:
            net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise ModelError(f"cv2.dnn cannot load model {str(path)!r}: {exc}") from exc
        # "cpu" is OpenCV's default; setting it explicitly only makes OpenCV 5's new
        # graph engine warn that it ignores targets.
        if target in ("cuda", "cuda_fp16"):
            if cv2.cuda.getCudaEnabledDeviceCount() == 0:
                raise BackendUnavailableError(
                    f"opencv backend: target {target!r} needs OpenCV built with CUDA and a GPU"
                )
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_CUDA)
            net.setPreferableTarget(
                cv2.dnn.DNN_TARGET_CUDA if target == "cuda" else cv2.dnn.DNN_TARGET_CUDA_FP16
            )
        elif target != "cpu":
            raise BackendUnavailableError(
                f"opencv backend: target {target!r} is not one of cpu, cuda, cuda_fp16"
            )
        if threads > 0:
            cv2.setNumThreads(int(threads))
        self._net = net
        self._out_names = [t.name for t in info.outputs]
        # OpenCV 4's dnn sizes constant tensors for batch 1 and does not broadcast them
        # over a larger batch (YOLO heads add anchor grids: "findCommonShape" fails), so
        # a dynamic-batch model runs one frame at a time there. OpenCV 5's engine batches.
        self.max_batch = None
        if info.fixed_batch is None and int(cv2.__version__.split(".")[0]) < 5:
            self.max_batch = 1
        self.model_info = info

    def _infer(self, batch: np.ndarray) -> list[np.ndarray]:
        import cv2

        self._net.setInput(batch)
        try:
            outs = self._net.forward(self._out_names)
        except cv2.error as exc:
            raise ModelError(
                f"cv2.dnn failed to run {self._describe()} on a batch of shape {batch.shape}: {exc}"
            ) from exc
        return [np.array(o, copy=True) for o in outs]

    def close(self) -> None:
        self._net = None
        self.model_info = None
