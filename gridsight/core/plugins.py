"""Building the plugin manager and reading the registries it collects.

The manager is built in a function, never at import: built-ins are loaded from the
``gridsight`` entry-point group exactly like third-party plugins.

Environment:
    GRIDSIGHT_LOAD_PLUGINS: comma-separated entry-point names to load (an allow-list).
        Unset loads all; an empty string loads none.
    GRIDSIGHT_TRACE_PLUGINS: set to 1 to print every hook call and result to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pluggy

from gridsight.core import hookspecs
from gridsight.core.errors import PluginError

ENTRY_POINT_GROUP = "gridsight"
ENV_LOAD = "GRIDSIGHT_LOAD_PLUGINS"
ENV_TRACE = "GRIDSIGHT_TRACE_PLUGINS"

T = TypeVar("T")


def _allowed_names() -> set[str] | None:
    raw = os.environ.get(ENV_LOAD)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None) -> None:
    """Register one plugin; a hook implementation whose arguments do not match its
    hookspec (e.g. a misspelt argument name) becomes a PluginError naming the plugin."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"plugin {name or plugin!r} does not fit the gridsight hooks: {exc}"
        ) from exc


def build_plugin_manager(
    *, load_entrypoints: bool = True, plugins: Iterable[object] = ()
) -> pluggy.PluginManager:
    """Create a plugin manager with the hookspecs, entry-point plugins and extra plugins.

    Args:
        load_entrypoints: load the ``gridsight`` entry-point group (built-ins included).
        plugins: extra plugin objects (modules or instances) to register, e.g. in tests.

    Raises:
        PluginError: an entry point fails to import, or a plugin implements a hook that
            does not exist (a misspelt hook name).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entrypoints:
        allowed = _allowed_names()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and ep.name not in allowed:
                continue
            if pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} ({ep.value}) failed to import: {exc}. "
                    f"Fix or uninstall it, or exclude it with {ENV_LOAD}."
                ) from exc
            _register(pm, plugin, ep.name)
    for plugin in plugins:
        _register(pm, plugin, None)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"{exc} (is a hook name misspelt? hooks start with 'gridsight_')"
        ) from exc
    if os.environ.get(ENV_TRACE, "") not in ("", "0"):
        pm.trace.root.setwriter(lambda msg: sys.stderr.write(f"[gridsight-plugins] {msg}"))
        pm.enable_tracing()
    return pm


def collect_named(results: Iterable[list[T]], kind: str, key: str = "name") -> dict[str, T]:
    """Flatten a registration hook's results into ``{name: item}``; duplicates are an error."""
    out: dict[str, T] = {}
    for group in results:
        for item in group or []:
            name = getattr(item, key)
            if name in out and out[name] is not item:
                raise PluginError(f"two plugins register the {kind} {name!r}")
            out[name] = item
    return out


def hazard_rules(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{hazard id: HazardRule class}`` from all plugins."""
    return collect_named(pm.hook.gridsight_register_hazard_rules(), "hazard", key="hazard")


def backends(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{backend name: Backend class}`` from all plugins."""
    return collect_named(pm.hook.gridsight_register_backends(), "backend")


def sinks(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{sink name: EventSink class}`` from all plugins."""
    return collect_named(pm.hook.gridsight_register_sinks(), "sink")


def detectors(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{detector name: DetectorSpec}`` from all plugins."""
    return collect_named(pm.hook.gridsight_register_detectors(), "detector")


def dispatch_policies(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{policy name: DispatchPolicy class}`` from all plugins."""
    return collect_named(pm.hook.gridsight_register_dispatch_policies(), "dispatch policy")


def notifiers(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{notifier name: Notifier class}`` from all plugins."""
    return collect_named(pm.hook.gridsight_register_notifiers(), "notifier")
