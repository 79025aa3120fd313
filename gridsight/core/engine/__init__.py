"""The engine loop: camera readers -> batcher -> detector -> per-camera tracker and rules
-> events to sinks, with the inference thread, per-camera pipelines, status board and
Prometheus metrics.

``from gridsight.core.engine import Engine, EngineOptions`` is the entry point.
"""

from gridsight.core.detection.spec import resolve_model
from gridsight.core.engine.engine import Engine, EngineOptions, EngineSummary, new_run_id

__all__ = ["Engine", "EngineOptions", "EngineSummary", "new_run_id", "resolve_model"]
