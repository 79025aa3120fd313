"""Building the plugin manager and reading the registries it collects.

The manager is built in a function, never at import, and callers pass it on: no
function builds one behind its caller's back. Built-ins (the entry points of the
``gridsight`` distribution itself) and third-party plugins both come through the
``gridsight`` entry-point group.

An installed (entry-point) plugin fails alone: one that fails to import, whose hooks do
not fit the hookspecs (a misspelt hook or argument name), whose registration hook raises
or returns something that is not what the hook asks for, is reported (a warning naming
the plugin, the error and its ``file:line``, kept in :func:`load_errors` and shown by
``gridsight plugins``) and left out; the others load and every command still works. A
plugin passed in ``plugins=`` (a test, an embedding program) is the caller's own code:
its faults raise :class:`PluginError` at once.

Environment:
    GRIDSIGHT_LOAD_PLUGINS: comma-separated names of the third-party entry points to
        load (an allow-list). Unset loads all; an empty string loads none. Built-ins are
        always loaded, like pytest's essential plugins.
    GRIDSIGHT_DISABLE_PLUGINS: comma-separated entry-point names not to load, built-ins
        included (e.g. ``synthetic``).
    GRIDSIGHT_TRACE_PLUGINS: set to 1 to print every hook call and result to stderr.
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

import pluggy

from gridsight.core import hookspecs
from gridsight.core.errors import GridsightError, PluginError, origin

ENTRY_POINT_GROUP = "gridsight"
#: The distribution whose entry points are the built-ins.
BUILTIN_DISTRIBUTION = "gridsight"
ENV_LOAD = "GRIDSIGHT_LOAD_PLUGINS"
ENV_DISABLE = "GRIDSIGHT_DISABLE_PLUGINS"
ENV_TRACE = "GRIDSIGHT_TRACE_PLUGINS"
_LOAD_ERRORS = "_gridsight_load_errors"
_ISOLATED = "_gridsight_isolated"

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


def _source_of(obj: object) -> str:
    """``file:line`` where a plugin, a hook function or a class is defined (or ``?``)."""
    import inspect

    try:
        target = inspect.unwrap(obj) if callable(obj) else obj
        path = inspect.getsourcefile(target)  # type: ignore[arg-type]
        line = inspect.getsourcelines(target)[1]  # type: ignore[arg-type]
    except (TypeError, OSError):
        return "?"
    return f"{path}:{line}"


def fail_plugin(
    pm: pluggy.PluginManager, name: str, message: str, exc: BaseException | None = None
) -> None:
    """Leave an installed plugin out: record why, warn once, unregister it.

    Raises:
        PluginError: the plugin was not installed through an entry point (see module doc).
    """
    if name not in getattr(pm, _ISOLATED, set()):
        raise PluginError(f"plugin {name!r}: {message}") from exc
    failures: dict[str, str] = getattr(pm, _LOAD_ERRORS)
    failures[name] = message
    log.warning(
        "plugin %r is left out: %s. Fix or uninstall it, or leave it out with %s=%s.",
        name,
        message,
        ENV_DISABLE,
        name,
        exc_info=exc,
    )
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)


def _unknown_hooks(pm: pluggy.PluginManager) -> None:
    """Implementations of hooks that have no hookspec (a misspelt hook name)."""
    for hook_name in list(vars(pm.hook)):
        caller = getattr(pm.hook, hook_name)
        if not isinstance(caller, pluggy.HookCaller) or caller.has_spec():
            continue
        for impl in list(caller.get_hookimpls()):
            if impl.optionalhook:
                continue
            specs = [h for h in dir(hookspecs) if h.startswith("gridsight_")]
            close = difflib.get_close_matches(hook_name, specs, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail_plugin(
                pm,
                impl.plugin_name,
                f"unknown hook {hook_name!r} at {_source_of(impl.function)}{hint}; hooks "
                "start with 'gridsight_' (is a hook name misspelt?)",
            )


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
    isolated: set[str] = set()
    setattr(pm, _LOAD_ERRORS, failures)
    setattr(pm, _ISOLATED, isolated)
    if load_entrypoints:
        allowed = _names(ENV_LOAD)
        disabled = _names(ENV_DISABLE) or set()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if not _wanted(ep, allowed, disabled) or pm.get_plugin(ep.name) is not None:
                continue
            isolated.add(ep.name)
            try:
                plugin = ep.load()
            except Exception as exc:
                failures[ep.name] = f"{type(exc).__name__}: {exc} (at {origin(exc)})"
                log.warning(
                    "plugin %r (%s) failed to import and is not loaded: %s: %s (at %s). "
                    "Fix or uninstall it, or leave it out with %s=%s.",
                    ep.name,
                    ep.value,
                    type(exc).__name__,
                    exc,
                    origin(exc),
                    ENV_DISABLE,
                    ep.name,
                    exc_info=exc,
                )
                continue
            try:
                _register(pm, plugin, ep.name)
            except PluginError as exc:
                fail_plugin(pm, ep.name, f"{exc} (defined at {_source_of(plugin)})", exc)
    for plugin in plugins:
        _register(pm, plugin, None)
    _unknown_hooks(pm)
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


def plugin_results(pm: pluggy.PluginManager, hook: str) -> list[tuple[str, list[Any]]]:
    """Each plugin's result of a registration hook (no arguments), plugin by plugin.

    Every call still goes through pluggy (so ``GRIDSIGHT_TRACE_PLUGINS`` shows it); an
    installed plugin whose hook raises or returns something other than a list is left out
    (:func:`fail_plugin`), naming the hook and ``file:line``.
    """
    caller = getattr(pm.hook, hook)
    impls = list(caller.get_hookimpls())
    out: list[tuple[str, list[Any]]] = []
    for impl in reversed(impls):  # pluggy's order: last registered first
        others = [i.plugin for i in impls if i.plugin is not impl.plugin]
        try:
            result = pm.subset_hook_caller(hook, remove_plugins=others)()
        except Exception as exc:
            fail_plugin(
                pm,
                impl.plugin_name,
                f"{hook} raised {type(exc).__name__}: {exc} (at {origin(exc)})",
                exc,
            )
            continue
        items = result[0] if result else []
        if items is None:
            items = []
        if not isinstance(items, list | tuple):
            fail_plugin(
                pm,
                impl.plugin_name,
                f"{hook} at {_source_of(impl.function)} returned "
                f"{type(items).__name__}, expected a list",
            )
            continue
        out.append((impl.plugin_name, list(items)))
    return out


def collect_named(results: Iterable[list[T]], kind: str, key: str = "name") -> dict[str, T]:
    """Flatten a registration hook's results into ``{name: item}``; duplicates are an error."""
    out: dict[str, T] = {}
    for group in results:
        for item in group or []:
            name = getattr(item, key, None)
            if not isinstance(name, str) or not name:
                raise PluginError(
                    f"a registered {kind} {item!r} (defined at {_source_of(item)}) has no "
                    f"{key!r} string attribute"
                )
            if name in out and out[name] is not item:
                raise PluginError(f"two plugins register the {kind} {name!r}")
            out[name] = item
    return out


def _collect(
    pm: pluggy.PluginManager,
    hook: str,
    kind: str,
    key: str = "name",
    check: Any = None,
) -> dict[str, Any]:
    """:func:`collect_named` over :func:`plugin_results`, each plugin's items checked
    (``check(item)`` returns a problem or None) before they count; an installed plugin
    with a faulty item is left out whole."""
    groups: list[list[Any]] = []
    for plugin_name, items in plugin_results(pm, hook):
        problems = []
        for item in items:
            name = getattr(item, key, None)
            if not isinstance(name, str) or not name:
                problems.append(
                    f"{item!r} (defined at {_source_of(item)}) has no {key!r} string attribute"
                )
                continue
            problem = check(item) if check is not None else None
            if problem:
                problems.append(f"{kind} {name!r} (defined at {_source_of(item)}): {problem}")
        if problems:
            fail_plugin(pm, plugin_name, f"{hook}: {'; '.join(problems)}")
            continue
        groups.append(items)
    return collect_named(groups, kind, key)


def _rule_problem(cls: Any) -> str | None:
    from gridsight.core.hazards.rule import HazardRule, RuleSettings

    if not (isinstance(cls, type) and issubclass(cls, HazardRule)):
        return f"{cls!r} is not a gridsight.HazardRule"
    settings = getattr(cls, "Settings", None)
    if not (isinstance(settings, type) and issubclass(settings, RuleSettings)):
        return f"the rule's Settings model {settings!r} must derive from gridsight.RuleSettings"
    return None


def hazard_rules(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{hazard id: HazardRule class}`` from all plugins.

    A registered class must be a ``HazardRule`` with a ``hazard`` id and a ``Settings``
    model deriving from ``RuleSettings`` (checked here, so ``config check`` and ``run``
    agree); an installed plugin with a class that is not is left out (see module doc).

    Raises:
        PluginError: two plugins register one hazard id, or a plugin given in
            ``plugins=`` registers a faulty class (the message names it and its file:line).
    """
    return _collect(
        pm, "gridsight_register_hazard_rules", "hazard", key="hazard", check=_rule_problem
    )


def backends(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{backend name: Backend class}`` from all plugins."""
    return _collect(pm, "gridsight_register_backends", "backend")


def sinks(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{sink name: EventSink class}`` from all plugins."""
    return _collect(pm, "gridsight_register_sinks", "sink")


def detectors(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{detector name: DetectorSpec}`` from all plugins."""
    return _collect(pm, "gridsight_register_detectors", "detector")


def roles(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{role name: RoleSpec}`` from all plugins, each declared in the role vocabulary.

    Raises:
        PluginError: two plugins declare one role, or a role name or class is refused.
    """
    from gridsight.core.detection.roles import declare_roles

    found = _collect(pm, "gridsight_register_roles", "role")
    try:
        declare_roles(found.values())
    except GridsightError as exc:
        raise PluginError(f"a plugin's gridsight_register_roles: {exc}") from exc
    return found


def trackers(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{tracker name: class}`` from all plugins, each registered with the core's trackers
    (so a camera's ``tracker:`` may name it)."""
    from gridsight.core.tracking.base import register_tracker

    def problem(cls: Any) -> str | None:
        try:
            register_tracker(cls)
        except GridsightError as exc:
            return str(exc)
        return None

    return _collect(pm, "gridsight_register_trackers", "tracker", check=problem)


def dispatch_policies(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{policy name: DispatchPolicy class}``: the built-ins and all plugins' policies."""
    from gridsight.core.dispatch import load_policies  # the one policy lookup

    return dict(load_policies(pm).policies)


def notifiers(pm: pluggy.PluginManager) -> dict[str, Any]:
    """``{notifier name: Notifier class}`` from all plugins."""
    return _collect(pm, "gridsight_register_notifiers", "notifier")


def check_registries(pm: pluggy.PluginManager) -> list[str]:
    """Call every registration hook once, so each faulty installed plugin is found and left
    out now (``gridsight plugins``); returns the conflicts between plugins (two plugins
    registering one name), which no single plugin can be blamed for."""
    conflicts = []
    for collect in (
        hazard_rules,
        backends,
        sinks,
        detectors,
        roles,
        trackers,
        dispatch_policies,
        notifiers,
    ):
        try:
            collect(pm)
        except GridsightError as exc:
            conflicts.append(str(exc))
    return conflicts


def declare_plugin_vocabulary(pm: pluggy.PluginManager, cameras: object = None) -> None:
    """Declare the plugins' roles and trackers, and a township's own ``roles:``, before
    any camera's settings name them (the engine calls this first)."""
    roles(pm)
    trackers(pm)
    if hasattr(cameras, "roles"):
        from gridsight.core.config.hazards import declare_township_roles

        declare_township_roles(cameras)  # type: ignore[arg-type]
