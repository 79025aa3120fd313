"""Synthetic cameras in the engine: aligning their configs with their worlds, and their truth.

A ``synthetic://`` camera's world decides its zones and its clock. For events to be
scored against the world's ground truth, the camera config must agree with it:

- **zones**: the world's own zones (``scene_zones``) at the camera's resolution;
- **clock**: a rule with a ``clock_start`` setting (``vending``'s allowed hours) must read
  the world's time of day, not the wall clock of the machine running the demo;
- **fps**: may be lowered (the world is continuous in time; fewer frames cost less).

:func:`align_synthetic_camera` returns such a config; :func:`synthetic_truth` the
episodes and near misses of the first ``duration`` seconds as scoring spans.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gridsight.evaluation.scoring import Span

if TYPE_CHECKING:
    from gridsight.core.config.camera import CameraConfig
    from gridsight.core.hazards.rule import HazardRule


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


def world_clock(camera: CameraConfig) -> str:
    """The world's time of day at stream time 0, ``HH:MM:SS``."""
    from gridsight.simulator import World

    return str(World(_spec(camera)).describe()["clock_start"])


def align_synthetic_camera(
    camera: CameraConfig,
    rule_classes: Mapping[str, type[HazardRule]],
    *,
    fps: float | None = None,
) -> CameraConfig:
    """The camera config with the world's zones and clock (and ``fps``, if given).

    Non-synthetic cameras are returned unchanged. Hazard settings the config sets
    explicitly (e.g. its own ``clock_start``) are kept.
    """
    if not is_synthetic(camera):
        return camera
    from gridsight.simulator import scene_zones

    spec = _spec(camera, fps)
    hazards: dict[str, dict[str, Any]] = {}
    clock: str | None = None
    for hazard, settings in camera.hazards.items():
        merged = dict(settings or {})
        rule = rule_classes.get(hazard)
        wants_clock = rule is not None and "clock_start" in rule.Settings.model_fields
        if wants_clock and "clock_start" not in merged:
            clock = clock or world_clock(camera)
            merged["clock_start"] = clock
        hazards[hazard] = merged
    update: dict[str, Any] = {
        "source": spec.uri(),
        "zones": scene_zones(spec),
        "hazards": hazards,
    }
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
