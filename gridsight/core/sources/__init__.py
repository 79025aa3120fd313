"""Camera sources: opening URIs, sampling frames, reconnecting.

``open_source(uri, options, pm)`` opens any URI through the ``gridsight_open_source``
hook; :class:`CameraReader` runs one camera on its own thread into a bounded,
drop-oldest :class:`FrameQueue`. OpenCV is imported only when a video is opened.
"""

from __future__ import annotations

from gridsight.core.sources.base import Frame, FrameSource, SourceOptions
from gridsight.core.sources.frame_queue import Doorbell, FrameQueue
from gridsight.core.sources.reader import BackoffPolicy, CameraReader, CameraState, ReaderStats
from gridsight.core.sources.registry import known_schemes, open_source
from gridsight.core.sources.sampler import FpsSampler

__all__ = [
    "BackoffPolicy",
    "CameraReader",
    "CameraState",
    "Doorbell",
    "FpsSampler",
    "Frame",
    "FrameQueue",
    "FrameSource",
    "ReaderStats",
    "SourceOptions",
    "known_schemes",
    "open_source",
]
