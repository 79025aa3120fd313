"""gridsight: hazard detection for township cameras, and a simulator of its service targets.

The public plugin API — what third-party plugins import, and what will not move with the
next refactor of the internals::

    from gridsight import hookimpl, HazardRule, RuleSettings, Observation, Detections

Names are imported on first use, so ``import gridsight`` stays fast and pulls in no
numpy, pydantic or onnxruntime until a plugin asks for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gridsight.core.backends.base import Backend
    from gridsight.core.backends.model_info import ModelInfo, read_model_info
    from gridsight.core.config.camera import CameraConfig
    from gridsight.core.config.detector import DetectorConfig
    from gridsight.core.config.township import Township
    from gridsight.core.detection.detections import Detections
    from gridsight.core.detection.roles import (
        ROLE_NAMES,
        Role,
        RoleSpec,
        declare_role,
        role_id,
        role_name,
        role_names,
    )
    from gridsight.core.detection.spec import DetectorSpec
    from gridsight.core.dispatch import DispatchPolicy, WorkerState, WorkOrder
    from gridsight.core.errors import (
        BackendUnavailableError,
        ConfigError,
        DataError,
        GridsightError,
        ModelError,
        PluginError,
        SourceError,
    )
    from gridsight.core.events import HazardEvent
    from gridsight.core.hazards.rule import FrameInfo, HazardRule, Observation, RuleSettings
    from gridsight.core.hazards.zones import LineZone, PolygonZone, Zone, anchor_points
    from gridsight.core.hookspecs import hookimpl, hookspec
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.core.sinks.base import EventSink
    from gridsight.core.sources.base import Frame, FrameSource, SourceOptions
    from gridsight.core.tracking.base import Tracker
    from gridsight.core.tracking.bytetrack import TrackerSettings
    from gridsight.orders.notify.base import Notifier

#: Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    "hookimpl": "gridsight.core.hookspecs",
    "hookspec": "gridsight.core.hookspecs",
    "build_plugin_manager": "gridsight.core.plugins",
    "HazardRule": "gridsight.core.hazards.rule",
    "RuleSettings": "gridsight.core.hazards.rule",
    "Observation": "gridsight.core.hazards.rule",
    "Zone": "gridsight.core.hazards.zones",
    "PolygonZone": "gridsight.core.hazards.zones",
    "LineZone": "gridsight.core.hazards.zones",
    "anchor_points": "gridsight.core.hazards.zones",
    "Detections": "gridsight.core.detection.detections",
    "Role": "gridsight.core.detection.roles",
    "ROLE_NAMES": "gridsight.core.detection.roles",
    "RoleSpec": "gridsight.core.detection.roles",
    "declare_role": "gridsight.core.detection.roles",
    "role_id": "gridsight.core.detection.roles",
    "role_name": "gridsight.core.detection.roles",
    "role_names": "gridsight.core.detection.roles",
    "FrameInfo": "gridsight.core.hazards.rule",
    "ModelInfo": "gridsight.core.backends.model_info",
    "read_model_info": "gridsight.core.backends.model_info",
    "Tracker": "gridsight.core.tracking.base",
    "TrackerSettings": "gridsight.core.tracking.bytetrack",
    "DetectorConfig": "gridsight.core.config.detector",
    "DetectorSpec": "gridsight.core.detection.spec",
    "HazardEvent": "gridsight.core.events",
    "EventSink": "gridsight.core.sinks.base",
    "Backend": "gridsight.core.backends.base",
    "Frame": "gridsight.core.sources.base",
    "FrameSource": "gridsight.core.sources.base",
    "SourceOptions": "gridsight.core.sources.base",
    "DispatchPolicy": "gridsight.core.dispatch",
    "Notifier": "gridsight.orders.notify.base",
    "WorkOrder": "gridsight.core.dispatch",
    "WorkerState": "gridsight.core.dispatch",
    "CameraConfig": "gridsight.core.config.camera",
    "Township": "gridsight.core.config.township",
    "GridsightError": "gridsight.core.errors",
    "ConfigError": "gridsight.core.errors",
    "PluginError": "gridsight.core.errors",
    "SourceError": "gridsight.core.errors",
    "ModelError": "gridsight.core.errors",
    "DataError": "gridsight.core.errors",
    "BackendUnavailableError": "gridsight.core.errors",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'gridsight' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
