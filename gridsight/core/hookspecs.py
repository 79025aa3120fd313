"""The plugin API: every hook gridsight calls, as empty typed functions.

Each hook is named ``gridsight_<verb phrase>``. Registration hooks return lists (every
plugin contributes); "who handles this" hooks stop at the first non-None result;
observers return None. Built-in plugins use these hooks exactly like third-party ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from gridsight.core.backends.base import Backend
    from gridsight.core.detection.roles import RoleSpec
    from gridsight.core.detection.spec import DetectorSpec
    from gridsight.core.dispatch import DispatchPolicy
    from gridsight.core.events import HazardEvent
    from gridsight.core.hazards.rule import HazardRule
    from gridsight.core.sinks.base import EventSink
    from gridsight.core.sources.base import FrameSource, SourceOptions

PROJECT = "gridsight"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def gridsight_register_hazard_rules() -> list[type[HazardRule]]:
    """Register hazard rule classes.

    Each class names its hazard id (``hazard``), its settings model (``Settings``, a
    pydantic model validated from a camera's config) and the zones it needs.

    Returns:
        A list of ``HazardRule`` subclasses. Results of all plugins are collected;
        two plugins providing the same hazard id is an error.
    """


@hookspec
def gridsight_register_detectors() -> list[DetectorSpec]:
    """Register detector models (an ONNX file, its class names and role mapping).

    Returns:
        A list of ``DetectorSpec``. Results of all plugins are collected.
    """


@hookspec
def gridsight_register_roles() -> list[RoleSpec]:
    """Declare object roles beyond the built-in six (a dog, a gas cylinder, a boat).

    Each role gets the next free role id and maps the model class names it lists;
    rules' role settings and configs' ``class_to_role`` may then name it. The built-in
    roles keep their ids and classes.

    Returns:
        A list of ``RoleSpec``. Results of all plugins are collected; a class that two
        roles claim is an error.
    """


@hookspec
def gridsight_register_trackers() -> list[type]:
    """Register tracker classes, chosen per camera by its config's ``tracker:`` name.

    Each class has a unique ``name``, a ``Settings`` pydantic model (validated from the
    camera's ``tracker_settings:``) and is built as ``cls(settings)``; its instances
    implement ``gridsight.Tracker`` (``update(detections, ts)``, ``reset()``,
    ``track_count``). One instance per camera, called on the engine's thread.

    Returns:
        A list of tracker classes. Results of all plugins are collected; two plugins
        providing the same name is an error.
    """


@hookspec
def gridsight_register_backends() -> list[type[Backend]]:
    """Register inference backend classes (onnxruntime, opencv, tensorrt, ...).

    Returns:
        A list of ``Backend`` subclasses, each with a unique ``name``. Results of all
        plugins are collected.
    """


@hookspec(firstresult=True)
def gridsight_open_source(uri: str, options: SourceOptions) -> FrameSource | None:
    """Open a camera source URI (``rtsp://``, ``file://``, ``synthetic://``, ...).

    Args:
        uri: the source URI as written in the camera config.
        options: sampling options (target fps, loop, no-frame timeout, ...).

    Returns:
        A ``FrameSource`` if this plugin handles the URI's scheme, else None.
        Stops at the first non-None result.
    """


@hookspec
def gridsight_register_source_schemes() -> list[str]:
    """Register the URI schemes a plugin's ``gridsight_open_source`` handles.

    Used to tell the user which schemes exist when no plugin opens a URI.

    Returns:
        A list of schemes without ``://`` (e.g. ``["rtsp", "file"]``). Results of all
        plugins are collected.
    """


@hookspec
def gridsight_check_source(uri: str) -> str | None:
    """Check a camera source URI of a scheme this plugin handles, without opening it.

    Called by ``gridsight config check`` for every camera, so that a typo in a URI is
    found before a deployment rather than in one camera's status at run time. Whether a
    file exists or a stream answers is not checked (the config may be checked on another
    machine than the one that runs it).

    Args:
        uri: the source URI as written in the camera config.

    Returns:
        A message saying what is wrong with the URI (e.g. an unknown parameter), or None
        if it is fine or not of this plugin's scheme. Results of all plugins are
        collected; every non-None result is a problem.
    """


@hookspec
def gridsight_register_sinks() -> list[type[EventSink]]:
    """Register event sink classes (JSONL, SQLite, webhook, ...), each with a unique ``name``.

    Returns:
        A list of ``EventSink`` subclasses. Results of all plugins are collected.
    """


@hookspec
def gridsight_hazard_event(event: HazardEvent) -> None:
    """Observe every hazard event (start, update, end) the engine emits.

    Args:
        event: the event, as written to the sinks.

    Returns:
        Nothing. Every plugin is called; an exception in one is logged and counted and
        does not stop the others or the engine.
    """


@hookspec
def gridsight_register_dispatch_policies() -> list[type[DispatchPolicy]]:
    """Register work-order dispatch policies (used by the live service and the simulator).

    Returns:
        A list of ``DispatchPolicy`` subclasses, each with a unique ``name``. Results of
        all plugins are collected.
    """


@hookspec
def gridsight_register_notifiers() -> list[type]:
    """Register work-order notifier classes (webhook, MQTT, Apprise, ...).

    Each class is a ``gridsight.orders.notify.base.Notifier`` subclass with a unique
    ``name`` and the URL ``schemes`` it handles (``("http", "https")``); it is built from
    a ``--notify`` URL or a ``notify:`` channel of the township config. (Typed as plain
    classes here because the core does not import the orders layer above it.)

    Returns:
        A list of ``Notifier`` subclasses. Results of all plugins are collected; two
        plugins providing the same name is an error.
    """
