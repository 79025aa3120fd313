"""The live pipeline, assembled once for every entry point (``run``, ``demo``,
``serve``, ``node``): see :mod:`gridsight.live.pipeline`.

Example:
    >>> from gridsight.live import LiveOptions, build_pipeline
    >>> pipe = build_pipeline("configs/jingqiao.yaml", LiveOptions(db="o.sqlite"))  # doctest: +SKIP
    >>> summary = pipe.run(); pipe.close()                                          # doctest: +SKIP
"""

from __future__ import annotations

from gridsight.live.bus import LiveBus
from gridsight.live.engine_host import CameraView, EngineHost
from gridsight.live.pipeline import LiveOptions, LivePipeline, build_pipeline, event_message

__all__ = [
    "CameraView",
    "EngineHost",
    "LiveBus",
    "LiveOptions",
    "LivePipeline",
    "build_pipeline",
    "event_message",
]
