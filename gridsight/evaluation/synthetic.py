"""Synthetic cameras in the engine: aligning their configs with their worlds, and their truth.

A ``synthetic://`` camera's world decides its zones and its clock. For events to be
scored against the world's ground truth, the camera config must agree with it:

- **zones**: the world's own zones (``scene_zones``) at the camera's resolution;
- **fps**: may be lowered (the world is continuous in time; fewer frames cost less).

The clock needs no aligning: the synthetic source stamps every frame with the world's
own wall time (``World.wall_time``), which calendar rules read from the frame.

:func:`align_synthetic_camera` returns such a config; :func:`synthetic_truth` the
episodes and near misses of the first ``duration`` seconds as scoring spans.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from gridsight.evaluation.scoring import Span

if TYPE_CHECKING:
    from gridsight.core.config.camera import CameraConfig


def is_synthetic(camera: CameraConfig) -> bool:
    """True for a ``synthetic://`` camera."""
    return camera.source.strip().lower().startswith("synthetic://")


def _spec(camera: CameraConfig, fps: float | None = None) -> Any:
    from gridsight.simulator import parse_world_uri

    spec = parse_world_uri(camera.source)
    width, height = camera.resolution
    return dataclasses.replace(
        spec, width=width, height=height, fps=float(fps) if fps is not None else spec.fps
    )


def align_synthetic_camera(camera: CameraConfig, *, fps: float | None = None) -> CameraConfig:
    """The camera config with the world's zones (and ``fps``, if given).

    Non-synthetic cameras are returned unchanged; hazard settings are kept as they are.
    """
    if not is_synthetic(camera):
        return camera
    from gridsight.simulator import scene_zones

    spec = _spec(camera, fps)
    update: dict[str, Any] = {"source": spec.uri(), "zones": scene_zones(spec)}
    if fps is not None:
        update["fps"] = float(fps)
    data = camera.model_dump(mode="python")
    data.update(update)
    return type(camera).model_validate(data)


def synthetic_truth(camera: CameraConfig, duration: float) -> tuple[list[Span], dict[str, Any]]:
    """Truth spans (episodes + near misses) of the first ``duration`` s, and the world's facts.

    Episodes still going at ``duration`` end there. Near misses carry the scene's hazard
    (they are look-alikes of it) and ``near_miss=True``.
    """
    return world_truth(camera.id, _spec(camera), duration)


def world_truth(camera_id: str, world: Any, duration: float) -> tuple[list[Span], dict[str, Any]]:
    """:func:`synthetic_truth` of a world given by URI or spec, under the id ``camera_id``.

    For scoring saved runs, whose reports keep each camera's (aligned) source URI.
    """
    from gridsight.simulator import World, parse_world_uri
    from gridsight.simulator.schedule import HAZARD_OF_SCENE

    world = World(parse_world_uri(world) if isinstance(world, str) else world)
    episodes, near = world.labels(duration)
    hazard = HAZARD_OF_SCENE[world.spec.scene]
    spans = [
        Span(camera_id, str(ep["hazard"]), float(ep["start"]), min(float(ep["end"]), duration))
        for ep in episodes
        if float(ep["start"]) < duration
    ]
    spans += [
        Span(
            camera_id,
            hazard,
            float(nm["start"]),
            min(float(nm["end"]), duration),
            str(nm.get("kind", "")),
            near_miss=True,
        )
        for nm in near
        if float(nm["start"]) < duration
    ]
    return spans, world.describe()
