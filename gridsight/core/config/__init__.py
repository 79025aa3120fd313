"""Config models and loading: the township, its cameras and zones, from YAML.

Typical use::

    from gridsight.core.config import load_township, validate_camera_hazards
    from gridsight.core.plugins import build_plugin_manager

    town = load_township("configs/jingqiao.yaml")      # places, staff, cameras, zones
    settings = validate_camera_hazards(town, build_plugin_manager())  # rule settings

Other parts load their own YAML files with :func:`load_yaml_model` and get the same
``file:line:column: field.path: message`` errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gridsight.core.config.base import InvariantViolation, Problem, StrictModel, format_loc
from gridsight.core.config.camera import (
    CameraConfig,
    LineZoneConfig,
    PolygonZoneConfig,
    ZoneConfig,
)
from gridsight.core.config.hazards import check_camera_hazards, validate_camera_hazards
from gridsight.core.config.loader import (
    SourceMap,
    load_yaml_model,
    parse_yaml_model,
    source_map,
)
from gridsight.core.config.orders import OrdersConfig
from gridsight.core.config.township import (
    CommandCentre,
    Grid,
    MicroGrid,
    ResponseTeam,
    Staff,
    Township,
    Village,
)
from gridsight.core.config.travel import RoadEdge, RoadGraph, Speeds, TravelModel

if TYPE_CHECKING:
    import pluggy


def load_township(path: str | Path, pm: pluggy.PluginManager | None = None) -> Township:
    """Load and check a township config.

    Args:
        path: the YAML file.
        pm: a plugin manager; if given, every camera's hazard settings are validated
            against the plugins' rule Settings models as well.

    Raises:
        ConfigError: naming file, line, field path and what was expected.
    """
    township = load_yaml_model(path, Township)
    if pm is not None:
        validate_camera_hazards(township, pm)
    return township


def township_json_schema() -> dict[str, object]:
    """The JSON Schema of a township config (for editors and `gridsight config schema`)."""
    schema = Township.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", "gridsight township config")
    return schema


__all__ = [
    "CameraConfig",
    "CommandCentre",
    "Grid",
    "InvariantViolation",
    "LineZoneConfig",
    "MicroGrid",
    "OrdersConfig",
    "PolygonZoneConfig",
    "Problem",
    "ResponseTeam",
    "RoadEdge",
    "RoadGraph",
    "SourceMap",
    "Speeds",
    "Staff",
    "StrictModel",
    "Township",
    "TravelModel",
    "Village",
    "ZoneConfig",
    "check_camera_hazards",
    "format_loc",
    "load_township",
    "load_yaml_model",
    "parse_yaml_model",
    "source_map",
    "township_json_schema",
    "validate_camera_hazards",
]
