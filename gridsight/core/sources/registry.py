"""Opening a camera URI through the ``gridsight_open_source`` plugin hook."""

from __future__ import annotations

import pluggy

from gridsight.core.errors import GridsightError, SourceError
from gridsight.core.sources.base import FrameSource, SourceOptions


def known_schemes(pm: pluggy.PluginManager) -> list[str]:
    """Sorted URI schemes the registered source plugins say they handle."""
    schemes: set[str] = set()
    for group in pm.hook.gridsight_register_source_schemes():
        schemes.update(str(s).lower() for s in group or [])
    return sorted(schemes)


def open_source(uri: str, options: SourceOptions | None, pm: pluggy.PluginManager) -> FrameSource:
    """Open ``uri`` with the first source plugin that handles its scheme.

    Args:
        uri: e.g. ``rtsp://cam/stream``, ``file:///data/a.mp4``, ``/data/a.mp4`` or
            ``synthetic://reservoir?seed=1``.
        options: sampling options; defaults to ``SourceOptions()``.
        pm: the plugin manager (``gridsight.core.plugins.build_plugin_manager``).

    Returns:
        An open ``FrameSource``.

    Raises:
        SourceError: no plugin handles the scheme (the message lists the known ones), or
            the plugin could not open the source.

    Example:
        >>> src = open_source("/data/cam1.mp4", SourceOptions(fps=5), pm)  # doctest: +SKIP
    """
    options = options or SourceOptions()
    try:
        source: FrameSource | None = pm.hook.gridsight_open_source(uri=uri, options=options)
    except GridsightError:
        raise
    except Exception as exc:
        # A plugin bug must not look like a traceback from the engine: name the URI.
        raise SourceError(f"opening {uri!r} failed in a source plugin: {exc!r}") from exc
    if source is None:
        scheme = uri.split("://", 1)[0] + "://" if "://" in uri else "(plain path)"
        known = ", ".join(f"{s}://" for s in known_schemes(pm)) or "none registered"
        raise SourceError(
            f"no source plugin opens {uri!r} (scheme {scheme}); known schemes: {known}, "
            "and plain file paths. Check the camera's `source`, or install the plugin "
            "that provides this scheme."
        )
    return source
