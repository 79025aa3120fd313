"""Detector model descriptions registered by plugins."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
    """

    name: str
    path: Path
    class_names: tuple[str, ...] = ()
    class_to_role: dict[str, str] = field(default_factory=dict)
    input_size: tuple[int, int] | None = None
