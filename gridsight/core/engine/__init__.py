"""The engine loop: camera readers -> batcher -> detector -> per-camera tracker and rules
-> events to sinks, with the inference thread, per-camera pipelines, status board and
Prometheus metrics.

``from gridsight.core.engine import Engine, EngineOptions`` is the entry point;
:class:`LiveEngine` is the engine as a service (runs until stopped, takes camera
commands from any thread).
"""

from gridsight.core.detection.spec import resolve_model
from gridsight.core.engine.engine import Engine
from gridsight.core.engine.health import EngineHealth
from gridsight.core.engine.live import CameraCommand, EngineStopped, LiveEngine
from gridsight.core.engine.options import EngineOptions, EngineSummary, new_run_id

__all__ = [
    "CameraCommand",
    "Engine",
    "EngineHealth",
    "EngineOptions",
    "EngineStopped",
    "EngineSummary",
    "LiveEngine",
    "new_run_id",
    "resolve_model",
]
