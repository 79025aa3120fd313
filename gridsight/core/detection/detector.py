"""``Detector``: one ONNX detector model, end to end — frames in, role detections out.

The three stages are separate methods so a pipeline can time (or overlap) them:
:meth:`Detector.preprocess` (letterbox), :meth:`Detector.infer` (the backend) and
:meth:`Detector.postprocess` (decode, NMS, map back to frame pixels, classes to roles).

Example:
    >>> with Detector("model.onnx", backend="onnxruntime") as det:   # doctest: +SKIP
    ...     per_frame = det.detect([frame_a, frame_b])
    ...     batch, infos = det.preprocess([frame_a])                 # or stage by stage
    ...     dets = det.postprocess(det.infer(batch), infos)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gridsight.core.backends import select_backend
from gridsight.core.backends.base import Backend
from gridsight.core.backends.model_info import ModelInfo, check_model_file, read_model_info
from gridsight.core.detection.decode import (
    ClassRoleMapper,
    Decoder,
    OutputLayout,
    imgsz_from_metadata,
)
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.preprocess import Letterboxer, LetterboxInfo
from gridsight.core.detection.roles import Role
from gridsight.core.errors import ConfigError

if TYPE_CHECKING:
    import pluggy

    from gridsight.core.detection.spec import DetectorSpec

#: Input size used when neither the model nor its metadata nor the config gives one.
DEFAULT_INPUT_SIZE = (640, 640)


class Detector:
    """Runs one detector model on batches of BGR frames.

    Not thread-safe: the letterbox buffers are reused between calls. Use one Detector
    per inference thread.

    Args:
        model_path: the ONNX file.
        backend: a backend name (``auto``, ``onnxruntime``, ``opencv``, ``tensorrt``).
        conf: keep detections scoring above this.
        iou: NMS IoU threshold.
        max_det: at most this many detections per frame.
        class_to_role: overrides of the class -> role mapping (class name or id -> role
            name, or ``none`` to drop a class).
        class_names: the model's class names, when its metadata has none (or to override).
        input_size: ``(h, w)`` for models whose spatial input size is dynamic.
        backend_options: passed to the backend's ``load`` (threads, precision, ...).
        pm: the plugin manager to find backends in (required, keyword-only).
        layout: force an output layout instead of detecting it from the output shape.
    """

    def __init__(
        self,
        model_path: str | Path,
        backend: str = "auto",
        conf: float = 0.25,
        iou: float = 0.45,
        max_det: int = 300,
        class_to_role: Mapping[str | int, str | int | Role | None] | None = None,
        *,
        class_names: Mapping[int, str] | Sequence[str] | None = None,
        input_size: tuple[int, int] | None = None,
        backend_options: Mapping[str, Any] | None = None,
        pm: pluggy.PluginManager,
        layout: OutputLayout | None = None,
    ) -> None:
        if not 0.0 <= conf <= 1.0 or not 0.0 <= iou <= 1.0 or max_det < 1:
            raise ConfigError(
                f"detector thresholds: expected 0 <= conf, iou <= 1 and max_det >= 1, "
                f"got conf={conf}, iou={iou}, max_det={max_det}"
            )
        self.model_path = check_model_file(model_path)
        self.conf = float(conf)
        self.iou = float(iou)
        self.max_det = int(max_det)
        backend_cls = select_backend(backend, pm)
        self.backend: Backend = backend_cls()
        self.backend.load(self.model_path, **dict(backend_options or {}))
        try:
            info = getattr(self.backend, "model_info", None)
            self.model_info: ModelInfo = (
                info if isinstance(info, ModelInfo) else read_model_info(self.model_path)
            )
            self.input_size = self._input_size(self.model_info, input_size)
            self.decoder = Decoder.from_metadata(self.model_info.metadata, class_names, layout)
            self.mapper = ClassRoleMapper(self.decoder.class_names, class_to_role)
        except Exception:
            self.backend.close()
            raise
        self._letterbox = Letterboxer(self.input_size)

    @classmethod
    def from_spec(cls, spec: DetectorSpec, backend: str = "auto", **kwargs: Any) -> Detector:
        """A detector for a plugin's :class:`~gridsight.core.detection.spec.DetectorSpec`."""
        return cls(
            spec.path,
            backend,
            class_to_role=kwargs.pop("class_to_role", None) or dict(spec.class_to_role),
            class_names=kwargs.pop("class_names", None) or (list(spec.class_names) or None),
            input_size=kwargs.pop("input_size", None) or spec.input_size,
            **kwargs,
        )

    def _input_size(self, info: ModelInfo, requested: tuple[int, int] | None) -> tuple[int, int]:
        fixed = info.input_hw
        if fixed is not None:
            if requested is not None and tuple(requested) != fixed:
                raise ConfigError(
                    f"detector input_size {tuple(requested)} does not match the model "
                    f"{self.model_path.name}, whose input is fixed at {fixed} (h, w)"
                )
            return fixed
        if requested is not None:
            return int(requested[0]), int(requested[1])
        return imgsz_from_metadata(info.metadata) or DEFAULT_INPUT_SIZE

    # ------------------------------------------------------------------ info
    @property
    def class_names(self) -> dict[int, str]:
        """The model's class names by class id."""
        return dict(self.decoder.class_names)

    @property
    def backend_name(self) -> str:
        return type(self.backend).name

    # ------------------------------------------------------------------ stages
    def preprocess(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[LetterboxInfo]]:
        """Letterbox frames into the model's input batch (valid until the next call)."""
        return self._letterbox(images)

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run the backend on a preprocessed batch."""
        return self.backend.infer(batch)

    def decode(
        self, outputs: Sequence[np.ndarray], infos: Sequence[LetterboxInfo]
    ) -> list[Detections]:
        """Decode outputs to frame-pixel detections with the model's own class ids."""
        return self.decoder.decode(outputs, infos, self.conf, self.iou, self.max_det)

    def postprocess(
        self, outputs: Sequence[np.ndarray], infos: Sequence[LetterboxInfo]
    ) -> list[Detections]:
        """Decode outputs and map classes to roles (unmapped classes dropped)."""
        return [self.mapper.map(d) for d in self.decode(outputs, infos)]

    # ------------------------------------------------------------------ all in one
    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detections per frame, ``class_id`` holding :class:`~gridsight.core.detection.roles.Role`
        ids."""
        if len(images) == 0:
            return []
        batch, infos = self.preprocess(images)
        return self.postprocess(self.infer(batch), infos)

    def detect_model_classes(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detections per frame with the model's own class ids (no role mapping)."""
        if len(images) == 0:
            return []
        batch, infos = self.preprocess(images)
        return self.decode(self.infer(batch), infos)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
