"""Checking each camera's ``source`` URI against the source plugins, without opening it.

``gridsight run`` opens every camera on its own thread and keeps going when one cannot be
opened, so a typo in a URI shows up only in that camera's status. ``gridsight config
check`` calls :func:`check_camera_sources` to catch it before a deployment: a scheme no
loaded plugin handles, or a URI its plugin finds fault with (``gridsight_check_source``:
e.g. a ``synthetic://`` URI with an unknown scene or parameter).
Whether a file exists or a stream answers is not checked (the config may be checked on
another machine than the one that runs it).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from gridsight.core.config.base import Loc
from gridsight.core.config.hazards import _where
from gridsight.core.errors import ConfigError

if TYPE_CHECKING:
    import pluggy

    from gridsight.core.config.township import Township


def check_camera_sources(township: Township, pm: pluggy.PluginManager) -> None:
    """Raise if a camera's ``source`` cannot be opened by any loaded source plugin.

    Args:
        township: a loaded township.
        pm: the plugin manager: its ``gridsight_register_source_schemes`` say which
            schemes exist (plain paths are always accepted), its
            ``gridsight_check_source`` implementations check URIs of their scheme.

    Raises:
        ConfigError: naming file:line, the camera and the URI for every source whose
            scheme is unknown (with the known ones and a close match), or that its
            plugin finds fault with.
    """
    from gridsight.core.sources.opencv_source import uri_scheme
    from gridsight.core.sources.registry import known_schemes

    known = known_schemes(pm)
    problems: list[str] = []
    for c_idx, cam in enumerate(township.cameras):
        loc: Loc = ("cameras", c_idx, "source")
        scheme = uri_scheme(cam.source)
        if not scheme:
            continue  # a plain file path
        if scheme not in known:
            close = difflib.get_close_matches(scheme, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}://? " if close else ""
            listed = ", ".join(f"{s}://" for s in known) or "none (no source plugin loaded)"
            problems.append(
                f"{_where(township, loc)}: camera {cam.id!r}: no source plugin handles "
                f"{scheme}:// in {cam.source!r}; {hint}known schemes: {listed}, and plain "
                "file paths (or install the plugin that provides this scheme)"
            )
        else:
            for problem in pm.hook.gridsight_check_source(uri=cam.source):
                if problem:
                    problems.append(f"{_where(township, loc)}: camera {cam.id!r}: {problem}")
    if problems:
        if len(problems) == 1:
            raise ConfigError(problems[0])
        raise ConfigError(f"{len(problems)} camera source problems:\n  " + "\n  ".join(problems))
