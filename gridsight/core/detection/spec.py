"""Detector model descriptions registered by plugins, and finding a model by name or path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gridsight.core.errors import ModelError

if TYPE_CHECKING:
    import pluggy


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """A detector model a plugin provides.

    Attributes:
        name: unique name used in configs (``model: bundled``).
        path: the ONNX file.
        class_names: the model's class names by class id (empty: read from ONNX metadata).
        class_to_role: model class name -> role name overrides (see
            ``gridsight.core.detection.roles``).
        input_size: (height, width) the model expects, or None to read it from the model.
        conf: the score a detection must beat (None: the caller's default; the engine
            runs at 0.1 so that ByteTrack's second stage sees low boxes).
        iou: the NMS IoU threshold (None: the caller's default).
        max_det: at most this many detections per frame (None: the caller's default).
        class_conf: per-class thresholds over ``conf`` (class name -> score), e.g.
            ``{"person": 0.35}`` for a model that sees people in every shadow.
    """

    name: str
    path: Path
    class_names: tuple[str, ...] = ()
    class_to_role: dict[str, str] = field(default_factory=dict)
    input_size: tuple[int, int] | None = None
    conf: float | None = None
    iou: float | None = None
    max_det: int | None = None
    class_conf: dict[str, float] = field(default_factory=dict)


def resolve_model(
    model: str | Path | None, pm: pluggy.PluginManager
) -> tuple[Path, DetectorSpec | None]:
    """The one way to find a model: through the detector plugins, else a path.

    ``None`` or ``bundled`` is the bundled detector (registered by the built-in detectors
    plugin like any other); another registered detector name is looked up in the
    plugins (``gridsight_register_detectors``); anything else is a path to an ONNX file.
    ``gridsight run``, ``gridsight demo`` and ``gridsight detect`` all go through here.

    Args:
        model: a registered detector name, an ONNX path, or None (the bundled one).
        pm: the plugin manager.

    Returns:
        ``(path, spec)``: the ONNX file, and the plugin's :class:`DetectorSpec` (None
        for a plain path).

    Raises:
        ModelError: the name is neither a registered detector nor an ONNX file, or a
            registered detector's file is missing (e.g. the bundled model in a checkout
            where it was not trained yet).
    """
    from gridsight.core.plugins import detectors

    name = "bundled" if model is None else str(model)
    specs: dict[str, DetectorSpec] = detectors(pm)
    if name in specs:
        spec = specs[name]
        if not Path(spec.path).is_file():
            raise ModelError(
                f"detector {name!r} is registered but its file {spec.path} is missing; "
                "pass --model path/to/model.onnx"
            )
        return Path(spec.path), spec
    path = Path(name)
    if path.suffix.lower() != ".onnx" and not path.exists():
        known = ", ".join(sorted(specs)) or "none registered"
        raise ModelError(
            f"model {name!r} is neither a registered detector ({known}) nor an ONNX file; "
            "pass --model path/to/model.onnx"
        )
    return path, None
