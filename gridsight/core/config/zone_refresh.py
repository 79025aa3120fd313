"""Refreshing the zones of synthetic cameras from the simulator's scene layouts.

A ``synthetic://`` camera watches a procedurally drawn scene; the simulator knows where
that scene's water edge, lobby or fire lane lies in the image. This module rewrites the
``zones:`` of each such camera in a township YAML file with the simulator's zones,
*editing the text in place* (located through the YAML node marks), so every comment,
the key order and all other cameras stay exactly as they were.

Use it through the CLI::

    gridsight config refresh-zones configs/jingqiao.yaml           # show what would change
    gridsight config refresh-zones configs/jingqiao.yaml --write   # rewrite the file

or from Python with any ``scene_zones(uri) -> list[zone dict]`` function: the command
passes ``gridsight.simulator.scene_zones`` (the engine's config code never imports the
simulator), tests pass a fake one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from gridsight.core.config.camera import CameraConfig
from gridsight.core.config.loader import parse_yaml_model
from gridsight.core.config.township import Township
from gridsight.core.errors import ConfigError

SceneZones = Callable[[str], Sequence[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ZoneChange:
    """One camera whose zones were replaced."""

    camera: str
    before: tuple[str, ...]
    after: tuple[str, ...]


def _number(value: float) -> str:
    rounded = round(float(value), 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:g}"


def format_zone(zone: dict[str, Any]) -> str:
    """One zone as a one-line YAML flow mapping, the style of configs/jingqiao.yaml."""
    points = ", ".join(f"[{_number(x)}, {_number(y)}]" for x, y in zone["points"])
    text = f"{{name: {zone['name']}, kind: {zone['kind']}, points: [{points}]"
    if zone.get("kind") == "line":
        text += f", inward: {zone.get('inward', 'left')}"
    return text + "}"


def _content_end(text: str, start: int, end: int) -> int:
    """Index just past the last line of ``text[start:end]`` that is not blank or a comment."""
    pos = end
    while pos > start:
        line_start = max(start, text.rfind("\n", start, pos - 1) + 1)
        line = text[line_start:pos].strip()
        if line and not line.startswith("#"):
            nl = text.find("\n", line_start, end)
            return end if nl == -1 else nl + 1
        pos = line_start
    return start


def refresh_zones_text(
    text: str, scene_zones: SceneZones, *, source: str = "<string>"
) -> tuple[str, list[ZoneChange]]:
    """Replace the zones of every ``synthetic://`` camera with ``scene_zones(uri)``.

    Args:
        text: the township YAML.
        scene_zones: returns a scene's zones in the camera-config form for a source URI.
        source: the file name for messages.

    Returns:
        The new text (checked to load as a valid township) and the cameras changed.

    Raises:
        ConfigError: the input or the result is not a valid township, or a camera is
            written in flow style (``- {id: ...}``), which cannot be edited in place.
    """
    parse_yaml_model(text, Township, source=source)  # refuse to edit a broken file
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return text, []
    cameras = next(
        (v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "cameras"),
        None,
    )
    if not isinstance(cameras, yaml.SequenceNode):
        return text, []
    edits: list[tuple[int, int, str]] = []
    changes: list[ZoneChange] = []
    for cam_node in cameras.value:
        pairs = [(k.value, k, v) for k, v in cam_node.value]
        fields = {name: v for name, _, v in pairs}
        uri = getattr(fields.get("source"), "value", "")
        if not str(uri).startswith("synthetic://"):
            continue
        cam_id = getattr(fields.get("id"), "value", "?")
        if cam_node.flow_style:
            raise ConfigError(
                f"{source}:{cam_node.start_mark.line + 1}: camera {cam_id!r} is written in flow "
                "style; write it as a block mapping to refresh its zones"
            )
        try:
            new_zones = [dict(z) for z in scene_zones(str(uri))]
        except Exception as exc:  # the simulator's own failure, reported per camera
            raise ConfigError(
                f"camera {cam_id!r}: scene_zones({uri!r}) failed: {type(exc).__name__}: {exc}"
            ) from exc
        names = [k for k, _, _ in pairs]
        indent = " " * pairs[0][1].start_mark.column
        body = (
            "zones:\n" + "".join(f"{indent}  - {format_zone(z)}\n" for z in new_zones)
            if new_zones
            else "zones: []\n"
        )
        if "zones" in names:
            k = names.index("zones")
            start = pairs[k][1].start_mark.index
            end = (
                pairs[k + 1][1].start_mark.index if k + 1 < len(pairs) else cam_node.end_mark.index
            )
            before = tuple(
                str(z.get("name")) for z in yaml.safe_load(text[start:end])["zones"] or []
            )
        else:
            # No zones yet: insert them before `hazards:` (or after the last key).
            before = ()
            if "hazards" in names:
                start = pairs[names.index("hazards")][1].start_mark.index
                end = start
                body = body + indent
            else:
                start = end = _content_end(text, cam_node.start_mark.index, cam_node.end_mark.index)
                body = indent + body
        if start != end:
            end = _content_end(text, start, end)
        edits.append((start, end, body))
        changes.append(ZoneChange(str(cam_id), before, tuple(str(z["name"]) for z in new_zones)))
    new_text = text
    for start, end, body in sorted(edits, reverse=True):
        new_text = new_text[:start] + body + new_text[end:]
    township = parse_yaml_model(new_text, Township, source=f"{source} (refreshed)")
    _check_applied(township, changes)
    return new_text, changes


def _check_applied(township: Township, changes: list[ZoneChange]) -> None:
    """The rewritten file must hold exactly the simulator's zones for each changed camera."""
    for change in changes:
        cam: CameraConfig = township.camera(change.camera)
        got = tuple(z.name for z in cam.zones)
        if got != change.after:
            raise ConfigError(
                f"refreshing zones of camera {change.camera!r} failed: expected zones "
                f"{change.after}, the rewritten file has {got}"
            )
