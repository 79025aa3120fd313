"""The ``detector:`` block of a township config, and of a camera that runs its own model.

At the township level it is the run's default model; a camera's own ``detector:``
overrides the fields it sets, so one run can drive several models, each batched on its
own (``gridsight.core.engine``)::

    detector:                                   # every camera, unless it says otherwise
      model: models/yolo11n.onnx                # an ONNX file or a registered detector
      names: [person, bicycle, car, ...]        # the model's class names, in class order
      conf: 0.1                                 # low: ByteTrack's second stage needs it
      class_conf: {person: 0.35}                # per class, over conf
    cameras:
      - id: cam-dock
        detector: {model: boats.onnx, names: [boat, buoy], class_to_role: {boat: boat}}

``names`` given here is checked against the model's class count when it loads (both
counts named in the error); a model without ``names`` metadata needs it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from gridsight.core.config.base import StrictModel


class DetectorConfig(StrictModel):
    """Which model a camera (or the whole run) uses, and how its output is filtered.

    Every field is optional: what is not set comes from the level above (a camera's
    block over the township's over the command line's ``--model``/``--names`` over the
    registered detector's own settings over the defaults).
    """

    model: str | None = Field(
        default=None,
        description="an ONNX file (relative to the working directory) or a registered "
        "detector name (bundled, bundled-int8, a plugin's)",
    )
    names: tuple[str, ...] | None = Field(
        default=None,
        description="the model's class names in class order (default: its metadata)",
    )
    conf: float | None = Field(default=None, ge=0.0, le=1.0, description="score threshold")
    iou: float | None = Field(default=None, ge=0.0, le=1.0, description="NMS IoU threshold")
    max_det: int | None = Field(default=None, ge=1, description="most detections per frame")
    class_conf: dict[str, float] = Field(
        default_factory=dict,
        description="per-class score thresholds over conf (class name -> 0..1)",
    )
    class_to_role: dict[str, str] = Field(
        default_factory=dict,
        description="class name -> role (a declared role name, or none to drop the class)",
    )
    input_size: tuple[int, int] | None = Field(
        default=None, description="(height, width) for models with a dynamic input size"
    )

    @field_validator("names")
    @classmethod
    def _names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or not all(n.strip() for n in value)):
            raise ValueError("names must be a non-empty list of non-empty class names")
        return value

    @field_validator("class_conf")
    @classmethod
    def _thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"class_conf thresholds must be within 0..1, got {bad}")
        return value

    def over(self, base: DetectorConfig | None) -> DetectorConfig:
        """This block with the fields it leaves unset taken from ``base``.

        A camera that sets another ``model`` does not inherit the township's ``names``,
        ``class_conf``, ``class_to_role`` or ``input_size``: those describe one model.
        """
        if base is None:
            return self
        mine = self.model_dump(exclude_unset=True)
        inherited: dict[str, Any] = base.model_dump(exclude_unset=True)
        if "model" in mine and mine["model"] != base.model:
            for key in ("names", "class_conf", "class_to_role", "input_size"):
                inherited.pop(key, None)
        return DetectorConfig.model_validate({**inherited, **mine})

    @property
    def key(self) -> str:
        """One string per distinct detector: cameras with equal keys share one model."""
        return self.model_dump_json()
