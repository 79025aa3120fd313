"""Built-in detectors plugin: the bundled synthetic-world detector, fp32 and int8.

Registered through the ``gridsight`` entry-point group like any third-party plugin. A
config selects one with ``model: bundled`` (fp32) or ``model: bundled-int8`` (its static
int8 quantization, ``gridsight world quantize``), and so does ``gridsight run --model``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from gridsight.core.detection.roles import ROLE_NAMES
from gridsight.core.detection.spec import DetectorSpec
from gridsight.core.hookspecs import hookimpl
from gridsight.models import BUNDLED_INT8_MODEL_FILE, BUNDLED_MODEL_FILE


def _packaged(name: str) -> Path:
    # Resolved without checking that the file exists, so listing plugins works in a
    # checkout before the model is trained; loading it then fails with a ModelError.
    return Path(str(resources.files("gridsight.models").joinpath(name)))


@hookimpl
def gridsight_register_detectors() -> list[DetectorSpec]:
    """The bundled detector and its int8 variant: the six roles, in role order.

    The input size is left to the models' own metadata (``imgsz``), the one place it
    is recorded; both files carry the same.
    """
    return [
        DetectorSpec(name="bundled", path=_packaged(BUNDLED_MODEL_FILE), class_names=ROLE_NAMES),
        DetectorSpec(
            name="bundled-int8", path=_packaged(BUNDLED_INT8_MODEL_FILE), class_names=ROLE_NAMES
        ),
    ]
