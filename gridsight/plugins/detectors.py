"""Built-in detectors plugin: the bundled synthetic-world detector.

Registered through the ``gridsight`` entry-point group like any third-party plugin. A
config selects it with ``model: bundled``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from gridsight.core.hookspecs import hookimpl
from gridsight.core.detection.spec import DetectorSpec
from gridsight.core.detection.roles import ROLE_NAMES
from gridsight.models import BUNDLED_MODEL_FILE


@hookimpl
def gridsight_register_detectors() -> list[DetectorSpec]:
    """The bundled detector (``gridsight-synth.onnx``): the six roles, in role order.

    The input size is left to the model's own metadata (``imgsz``), the one place it
    is recorded.
    """
    # Resolved without checking that the file exists, so listing plugins works in a
    # checkout before the model is trained; loading it then fails with a ModelError.
    path = Path(str(resources.files("gridsight.models").joinpath(BUNDLED_MODEL_FILE)))
    return [DetectorSpec(name="bundled", path=path, class_names=ROLE_NAMES)]
