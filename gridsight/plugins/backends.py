"""Built-in backends plugin: onnxruntime, opencv and tensorrt.

Importing this module is cheap: each backend imports its runtime only when used.
"""

from __future__ import annotations

from gridsight.core.backends.base import Backend
from gridsight.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from gridsight.core.backends.opencv_backend import OpenCVBackend
from gridsight.core.backends.tensorrt_backend import TensorRTBackend
from gridsight.core.hookspecs import hookimpl


@hookimpl
def gridsight_register_backends() -> list[type[Backend]]:
    """The three built-in backends (availability is checked when one is selected)."""
    return [OnnxRuntimeBackend, OpenCVBackend, TensorRTBackend]
