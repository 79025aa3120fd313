"""Building the plugin manager and reading the registries it collects.

The manager is built in a function, never at import, and callers pass it on: no
function builds one behind its caller's back. Built-ins (the entry points of the
``gridsight`` distribution itself) and third-party plugins both come through the
``gridsight`` entry-point group.

A plugin that fails to import is reported (a warning naming it and the error, kept in
:func:`load_errors` and shown by ``gridsight plugins``) and the others load: one broken
plugin never takes the rest down. A plugin whose hooks do not fit the hookspecs (a
misspelt hook or argument name) is a :class:`PluginError`: that is a bug to fix now.

Environment:
    GRIDSIGHT_LOAD_PLUGINS: comma-separated names of the third-party entry points to
        load (an allow-list). Unset loads all; an empty string loads none. Built-ins are
        always loaded, like pytest's essential plugins.
    GRIDSIGHT_DISABLE_PLUGINS: comma-separated entry-point names not to load, built-ins
        included (e.g. ``synthetic``).
    GRIDSIGHT_TRACE_PLUGINS: set to 1 to print every hook call and result to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

import pluggy

from gridsight.core import hookspecs
from gridsight.core.errors import PluginError

ENTRY_POINT_GROUP = "gridsight"
#: The distribution whose entry points are the built-ins.
BUILTIN_DISTRIBUTION = "gridsight"
ENV_LOAD = "GRIDSIGHT_LOAD_PLUGINS"
ENV_DISABLE = "GRIDSIGHT_DISABLE_PLUGINS"
ENV_TRACE = "GRIDSIGHT_TRACE_PLUGINS"
_LOAD_ERRORS = "_gridsight_load_errors"

log = logging.getLogger("gridsight.plugins")

T = TypeVar("T")


def _names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def is_builtin(ep: EntryPoint) -> bool:
    """Whether an entry point is one of gridsight's own built-in plugins."""
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) or ""
    return name.lower() == BUILTIN_DISTRIBUTION or ep.value.startswith("gridsight.plugins.")


def _wanted(ep: EntryPoint, allowed: set[str] | None, disabled: set[str]) -> bool:
    if ep.name in disabled:
        return False
    return is_builtin(ep) or allowed is None or ep.name in allowed


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
        PluginError: a plugin implements a hook that does not exist (a misspelt hook
            name) or with arguments its hookspec does not have. A plugin that fails to
            import is not an error: see :func:`load_errors`.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    failures: dict[str, str] = {}
    setattr(pm, _LOAD_ERRORS, failures)
    if load_entrypoints:
        allowed = _names(ENV_LOAD)
        disabled = _names(ENV_DISABLE) or set()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if not _wanted(ep, allowed, disabled) or pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                failures[ep.name] = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "plugin %r (%s) failed to import and is not loaded: %s: %s. Fix or "
                    "uninstall it, or leave it out with %s=%s.",
                    ep.name,
                    ep.value,
                    type(exc).__name__,
                    exc,
                    ENV_DISABLE,
                    ep.name,
                )
                continue
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


def load_errors(pm: pluggy.PluginManager) -> dict[str, str]:
    """``{entry-point name: error}`` of the plugins that failed to import."""
    errors: dict[str, str] = getattr(pm, _LOAD_ERRORS, {})
    return dict(errors)


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
    """``{hazard id: HazardRule class}`` from all plugins.

    Raises:
        PluginError: two plugins register one hazard id, or a registered class is not a
            ``HazardRule`` with a ``hazard`` id and a ``Settings`` model deriving from
            ``RuleSettings`` (checked here, so ``config check`` and ``run`` agree).
    """
    from gridsight.core.hazards.rule import HazardRule, RuleSettings

    rules = collect_named(pm.hook.gridsight_register_hazard_rules(), "hazard", key="hazard")
    for hazard, cls in rules.items():
        settings = getattr(cls, "Settings", None)
        if not (isinstance(cls, type) and issubclass(cls, HazardRule)):
            raise PluginError(f"hazard {hazard!r}: {cls!r} is not a gridsight.HazardRule")
        if not (isinstance(settings, type) and issubclass(settings, RuleSettings)):
            raise PluginError(
                f"hazard {hazard!r}: the rule's Settings model {settings!r} must derive "
                "from gridsight.RuleSettings"
            )
    return rules


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
    """``{policy name: DispatchPolicy class}``: the built-ins and all plugins' policies."""
    from gridsight.core.dispatch import load_policies  # the one policy lookup

    return dict(load_policies(pm).policies)


def notifiers(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{notifier name: Notifier class}`` from all plugins."""
    return collect_named(pm.hook.gridsight_register_notifiers(), "notifier")
