"""The synthetic camera world: procedural scenes, actors, hazard episodes, ground truth.

Entry points:

- :func:`open_world` — a :class:`World` from a ``synthetic://<scene>?seed=N`` URI:
  ``render(index)`` gives a frame and its :class:`FrameTruth`; ``labels(duration)`` the
  hazard episodes and near misses; ``truth(duration)`` all of it as JSON-ready data.
- :func:`scene_zones` — a synthetic camera's zones in camera-config form.
- :func:`parse_world_uri` — the URI's :class:`WorldSpec`.
"""

from __future__ import annotations

from gridsight.simulator.uri import SCENES, WorldSpec, parse_world_uri
from gridsight.simulator.world import FrameTruth, World, open_world, scene_zones

__all__ = [
    "SCENES",
    "FrameTruth",
    "World",
    "WorldSpec",
    "open_world",
    "parse_world_uri",
    "scene_zones",
]
