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
    check_output,
    imgsz_from_metadata,
)
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.preprocess import Letterboxer, LetterboxInfo
from gridsight.core.detection.roles import Role
from gridsight.core.errors import ConfigError, ModelError

if TYPE_CHECKING:
    import pluggy

    from gridsight.core.detection.spec import DetectorSpec

#: Input size used when neither the model nor its metadata nor the config gives one.
DEFAULT_INPUT_SIZE = (640, 640)
#: Ultralytics' prediction defaults (``conf``, ``iou``, ``max_det``), which ``gridsight
#: detect`` follows so that its output can be compared with ``yolo predict``'s.
ULTRALYTICS_CONF, ULTRALYTICS_IOU, ULTRALYTICS_MAX_DET = 0.25, 0.7, 300


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
        class_conf: per-class score thresholds (class name or id -> threshold), over
            ``conf`` for the classes named (e.g. ``{"person": 0.4}``).
        names_from: where ``class_names`` came from, for the load-time error
            (``--names``, ``the config's detector.names``...).

    Raises:
        ModelError: the model cannot be loaded, or its dry run at load shows an output
            layout gridsight cannot decode or a class count other than the names'.
        ConfigError: thresholds out of range, or a ``class_conf``/``class_to_role`` key
            that is not one of the model's classes.
    """

    def __init__(
        self,
        model_path: str | Path,
        backend: str = "auto",
        conf: float = ULTRALYTICS_CONF,
        iou: float = ULTRALYTICS_IOU,
        max_det: int = ULTRALYTICS_MAX_DET,
        class_to_role: Mapping[str | int, str | int | Role | None] | None = None,
        *,
        class_names: Mapping[int, str] | Sequence[str] | None = None,
        input_size: tuple[int, int] | None = None,
        backend_options: Mapping[str, Any] | None = None,
        pm: pluggy.PluginManager,
        layout: OutputLayout | None = None,
        class_conf: Mapping[str | int, float] | None = None,
        names_from: str | None = None,
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
            self._class_conf = self._class_thresholds(class_conf or {})
            self._letterbox = Letterboxer(self.input_size)
            self.layout = self.check(
                names_from
                or ("the given class names" if class_names else "the model's 'names' metadata")
            )
        except Exception:
            self.backend.close()
            raise

    @classmethod
    def from_spec(cls, spec: DetectorSpec, backend: str = "auto", **kwargs: Any) -> Detector:
        """A detector for a plugin's :class:`~gridsight.core.detection.spec.DetectorSpec`.

        Keyword arguments win over the spec's own settings (``conf``, ``iou``,
        ``max_det``, ``class_conf``, ``class_names``, ``class_to_role``, ``input_size``);
        a setting neither gives takes :class:`Detector`'s default.
        """
        names = kwargs.pop("class_names", None)
        if names is None and spec.class_names:
            names = list(spec.class_names)
            kwargs.setdefault("names_from", f"detector {spec.name!r}'s class_names")
        for key in ("conf", "iou", "max_det"):
            if kwargs.get(key) is None and getattr(spec, key) is not None:
                kwargs[key] = getattr(spec, key)
            elif kwargs.get(key) is None:
                kwargs.pop(key, None)
        return cls(
            spec.path,
            backend,
            class_to_role=kwargs.pop("class_to_role", None) or dict(spec.class_to_role),
            class_names=names,
            input_size=kwargs.pop("input_size", None) or spec.input_size,
            class_conf=kwargs.pop("class_conf", None) or dict(spec.class_conf),
            **kwargs,
        )

    def _class_thresholds(self, class_conf: Mapping[str | int, float]) -> np.ndarray:
        """``lut[class id]`` = the score a detection of that class must beat."""
        names = self.decoder.class_names
        lut = np.full(max(names, default=-1) + 1, self.conf, np.float32)
        by_name = {n.strip().lower(): cid for cid, n in names.items()}
        for key, value in class_conf.items():
            cid = key if isinstance(key, int) else by_name.get(str(key).strip().lower())
            if cid is None or cid not in names:
                raise ConfigError(
                    f"class_conf: the model {self.model_path.name} has no class {key!r}; "
                    f"its classes include {', '.join(list(by_name)[:12])}"
                )
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"class_conf {key!r}: expected 0..1, got {value}")
            lut[cid] = float(value)
        return lut

    def check(self, names_from: str = "the given class names") -> OutputLayout:
        """The dry run at load: one blank frame through the model, its output checked.

        Returns:
            The model's output layout.

        Raises:
            ModelError: the model fails on a blank frame, its output layout is not one
                gridsight decodes, or its class count differs from the names' (both
                counts named).
        """
        h, w = self.input_size
        batch, _ = self._letterbox([np.zeros((h, w, 3), np.uint8)])
        try:
            outputs = self.backend.infer(batch)
        except Exception as exc:
            raise ModelError(
                f"model {self.model_path.name} failed its load-time dry run on a blank "
                f"{w}x{h} frame: {type(exc).__name__}: {exc}"
            ) from exc
        if not outputs:
            raise ModelError(f"model {self.model_path.name} returned no outputs on its dry run")
        layout = check_output(
            np.shape(outputs[0]), self.decoder.class_names, self.model_path.name, names_from
        )
        if self.decoder.layout is None:
            self.decoder.layout = layout
        return layout

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
        """Decode outputs to frame-pixel detections with the model's own class ids.

        Per-class thresholds (``class_conf``) apply here: candidates are decoded down to
        the lowest threshold, then each detection must beat its own class's.
        """
        lut = self._class_conf
        floor = float(lut.min()) if lut.size else self.conf
        per_frame = self.decoder.decode(outputs, infos, floor, self.iou, self.max_det)
        if not lut.size or floor == float(lut.max()):
            return per_frame
        out = []
        for det in per_frame:
            cid = det.class_id
            inside = (cid >= 0) & (cid < lut.shape[0])
            need = np.where(inside, lut[np.clip(cid, 0, lut.shape[0] - 1)], self.conf)
            out.append(det[det.confidence > need])
        return out

    def postprocess(
        self, outputs: Sequence[np.ndarray], infos: Sequence[LetterboxInfo]
    ) -> list[Detections]:
        """Decode outputs and map classes to roles (unmapped classes dropped)."""
        return [self.mapper.map(d) for d in self.decode(outputs, infos)]

    # ------------------------------------------------------------------ all in one
    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detections per frame, ``class_id`` holding role ids
        (:mod:`gridsight.core.detection.roles`)."""
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
