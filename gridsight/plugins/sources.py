"""Built-in sources plugin: video files and network streams through OpenCV/FFmpeg."""

from __future__ import annotations

from gridsight.core.hookspecs import hookimpl
from gridsight.core.sources.base import FrameSource, SourceOptions


@hookimpl
def gridsight_register_source_schemes() -> list[str]:
    """``rtsp``, ``rtsps``, ``rtmp``, ``http``, ``https`` and ``file`` (plain paths too)."""
    from gridsight.core.sources.opencv_source import SCHEMES

    return list(SCHEMES)


@hookimpl
def gridsight_open_source(uri: str, options: SourceOptions) -> FrameSource | None:
    """Open files, plain paths and network streams; None for other schemes."""
    from gridsight.core.sources.opencv_source import OpenCVSource, handles

    if not handles(uri):
        return None
    return OpenCVSource(uri, options)
