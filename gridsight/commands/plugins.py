"""``gridsight plugins``: which plugins are loaded, where from, and what they provide.

Built-in and third-party plugins are listed alike, since both come through the
``gridsight`` entry-point group. Set ``GRIDSIGHT_LOAD_PLUGINS`` to an allow-list of entry
point names to see what a restricted set provides.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import click
import pluggy

from gridsight.core.errors import GridsightError, PluginError

# Registration hook -> (what it provides, how to name one item). The order is the
# order of the listing.
PROVIDES: dict[str, tuple[str, Callable[[Any], str]]] = {
    "gridsight_register_hazard_rules": ("hazards", lambda rule: str(rule.hazard)),
    "gridsight_register_detectors": ("detectors", lambda spec: str(spec.name)),
    "gridsight_register_backends": ("backends", lambda cls: str(cls.name)),
    "gridsight_register_source_schemes": ("source schemes", lambda scheme: f"{scheme}://"),
    "gridsight_register_sinks": ("sinks", lambda cls: str(cls.name)),
    "gridsight_register_dispatch_policies": ("dispatch policies", lambda cls: str(cls.name)),
    "gridsight_register_notifiers": ("notifiers", lambda cls: str(cls.name)),
    "gridsight_register_roles": ("roles", lambda spec: str(spec.name)),
    "gridsight_register_trackers": ("trackers", lambda cls: str(cls.name)),
}


def _origin(name: str, plugin: object, eps: dict[str, EntryPoint]) -> dict[str, str | None]:
    """Where a plugin comes from: its module (or class) and its distribution, if any."""
    if isinstance(plugin, ModuleType):
        module = plugin.__name__
    else:
        cls = plugin if isinstance(plugin, type) else type(plugin)
        module = f"{cls.__module__}.{cls.__qualname__}"
    ep = eps.get(name)
    # Only an entry point that points at this very module vouches for its distribution
    # (a plugin registered by hand under the same name does not).
    if ep is None or not module.startswith(ep.value.split(":")[0]):
        return {"module": module, "distribution": None, "entry_point": None}
    d = ep.dist
    dist = f"{d.metadata['Name']} {d.version}" if d is not None else None
    return {"module": module, "distribution": dist, "entry_point": f"{ep.name} = {ep.value}"}


def _provided(pm: pluggy.PluginManager, plugin: object) -> dict[str, Any]:
    """``{category: [names]}`` from this plugin's own registration hook implementations."""
    out: dict[str, Any] = {}
    for caller in pm.get_hookcallers(plugin) or []:
        entry = PROVIDES.get(caller.name)
        if entry is None:
            continue
        category, name_of = entry
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            try:
                result: Any = impl.function()  # registration hooks take no arguments
                items = list(result or [])
                out[category] = sorted(name_of(item) for item in items)
            except Exception as exc:  # a broken plugin must not hide the others
                out[category] = {"error": f"{type(exc).__name__}: {exc}"}
    order = [category for category, _ in PROVIDES.values()]
    return dict(sorted(out.items(), key=lambda kv: order.index(kv[0])))


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Every registered plugin: name, origin, hooks it implements, what it provides."""
    from gridsight.core.plugins import ENTRY_POINT_GROUP

    eps = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    out = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:  # blocked
            continue
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        out.append(
            {
                "name": name,
                **_origin(name, plugin, eps),
                "hooks": hooks,
                "provides": _provided(pm, plugin),
            }
        )
    return out


def _hazard_table(pm: pluggy.PluginManager) -> list[dict[str, str]]:
    from gridsight.core.plugins import hazard_rules

    rules = hazard_rules(pm)  # raises PluginError on duplicate hazard ids
    return [
        {"hazard": hazard, "description": rule.description, "rule": rule.__qualname__}
        for hazard, rule in sorted(rules.items())
    ]


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
def plugins(as_json: bool) -> None:
    """List plugins: where each comes from, its hooks, and the hazards, backends, sinks,
    source schemes, detectors and dispatch policies it provides.

    \b
    Environment:
      GRIDSIGHT_LOAD_PLUGINS=a,b     load only these third-party entry points
                                     ("" loads none; built-ins always load)
      GRIDSIGHT_DISABLE_PLUGINS=a,b  do not load these, built-ins included
      GRIDSIGHT_TRACE_PLUGINS=1      trace every hook call to stderr
    """
    from gridsight.core.plugins import build_plugin_manager, check_registries, load_errors

    try:
        pm = build_plugin_manager()
    except (PluginError, GridsightError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    # A conflict between plugins (two register one hazard id) must not hide the listing
    # that shows where each comes from: list first, report the conflict, then fail.
    conflicts = check_registries(pm)
    conflict = "; ".join(conflicts) or None
    try:
        hazards = _hazard_table(pm)
    except GridsightError:
        hazards = []
    listing = describe_plugins(pm)
    failed = load_errors(pm)
    if as_json:
        out = {"plugins": listing, "hazards": hazards, "failed": failed, "conflict": conflict}
        click.echo(json.dumps(out, indent=2))
        if conflict:
            sys.exit(2)
        return
    for item in listing:
        where = item["module"]
        if item["distribution"]:
            where += f" ({item['distribution']})"
        click.echo(f"{item['name']}: {where}")
        click.echo(f"  hooks: {', '.join(item['hooks']) or '(none)'}")
        for category, names in item["provides"].items():
            shown = names["error"] if isinstance(names, dict) else ", ".join(names) or "(none)"
            click.echo(f"  {category}: {shown}")
    for name, error in sorted(failed.items()):
        click.echo(f"{name}: FAILED TO LOAD: {error}")
    click.echo(f"hazards ({len(hazards)}):")
    for row in hazards:
        click.echo(f"  {row['hazard']:<12} {row['description']}")
    if conflict:
        click.echo(f"error: {conflict}", err=True)
        sys.exit(2)
