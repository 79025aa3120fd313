"""Built-in synthetic plugin: opens and checks ``synthetic://<scene>?seed=N&fps=F&w=W&h=H``
sources."""

from __future__ import annotations

from gridsight.core.errors import GridsightError
from gridsight.core.hookspecs import hookimpl
from gridsight.core.sources.base import FrameSource, SourceOptions


@hookimpl
def gridsight_open_source(uri: str, options: SourceOptions) -> FrameSource | None:
    """Open a synthetic camera; None for every other scheme.

    Raises:
        SourceError: a synthetic URI with an unknown scene or a bad query parameter.
    """
    from gridsight.simulator.uri import is_synthetic_uri

    if not is_synthetic_uri(uri):
        return None
    # Imported here so loading the plugin does not import OpenCV drawing code.
    from gridsight.simulator.source import SyntheticSource

    return SyntheticSource(uri, options)


@hookimpl
def gridsight_register_source_schemes() -> list[str]:
    """The synthetic world's scheme, listed in ``gridsight plugins`` and source errors."""
    return ["synthetic"]


@hookimpl
def gridsight_check_source(uri: str) -> str | None:
    """What is wrong with a ``synthetic://`` URI (unknown scene or parameter), or None."""
    from gridsight.simulator.uri import is_synthetic_uri, parse_world_uri

    if not is_synthetic_uri(uri):
        return None
    try:
        parse_world_uri(uri)
    except GridsightError as exc:
        return str(exc)
    return None
