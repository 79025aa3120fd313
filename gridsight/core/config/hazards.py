"""Checking each camera's hazard settings against the rules the plugins provide.

The township config is loaded without plugins (so ``gridsight config schema`` and tools
that only need places work anywhere); the hazard settings are then validated against
each rule's ``Settings`` model, found through the plugin manager.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gridsight.core.config.base import Loc, format_loc
from gridsight.core.config.loader import source_map
from gridsight.core.config.validation import validation_problems
from gridsight.core.errors import ConfigError
from gridsight.core.hazards.zones import zones_from_config

if TYPE_CHECKING:
    import pluggy

    from gridsight.core.config.township import Township
    from gridsight.core.hazards.rule import HazardRule, RuleSettings


def _where(township: Township, loc: Loc) -> str:
    smap = source_map(township)
    if smap is None:
        return format_loc(loc)
    return smap.where(loc)


def declare_township_roles(township: Township) -> None:
    """Declare the config's own ``roles:`` (before any rule settings name them).

    Raises:
        ConfigError: a role name is refused or a class already maps to another role,
            naming the line of ``roles:``.
    """
    from gridsight.core.detection.roles import declare_role

    for name, classes in township.roles.items():
        try:
            declare_role(name, classes)
        except ConfigError as exc:
            raise ConfigError(f"{_where(township, ('roles', name))}: {exc}") from exc


def check_camera_hazards(
    township: Township, rule_classes: dict[str, type[HazardRule]]
) -> dict[str, dict[str, RuleSettings]]:
    """Validate every camera's hazard settings with the given rule classes.

    Args:
        township: a loaded township.
        rule_classes: ``{hazard id: HazardRule subclass}`` (e.g. from
            ``gridsight.core.plugins.hazard_rules(pm)``).

    Returns:
        ``{camera id: {hazard id: validated settings}}``.

    Raises:
        ConfigError: naming every camera, hazard and field that is wrong (with file and
            line when the township was loaded from YAML): an unknown hazard id (listing
            the known ones), settings that do not fit the rule's model, or a zone the
            settings name that the camera does not define.
    """
    declare_township_roles(township)
    known = sorted(rule_classes)
    problems: list[str] = []
    out: dict[str, dict[str, RuleSettings]] = {}
    for c_idx, cam in enumerate(township.cameras):
        zones = {z.name: z.kind for z in cam.zones}
        validated: dict[str, RuleSettings] = {}
        for hazard, raw in cam.hazards.items():
            base: Loc = ("cameras", c_idx, "hazards", hazard)
            rule = rule_classes.get(hazard)
            if rule is None:
                close = difflib.get_close_matches(hazard, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                problems.append(
                    f"{_where(township, base)}: camera {cam.id!r}: unknown hazard {hazard!r}; "
                    f"{hint}known hazards: {', '.join(known) or 'none (no hazard plugin loaded)'}"
                )
                continue
            try:
                settings = rule.Settings.model_validate(raw)
            except ValidationError as exc:
                problems.extend(_settings_errors(township, cam.id, hazard, base, exc, rule))
                continue
            missing = [z for z in rule.zone_names(settings) if z not in zones]
            for zone_name in missing:
                problems.append(
                    f"{_where(township, base)}: camera {cam.id!r}, hazard {hazard!r}: zone "
                    f"{zone_name!r} is not defined on this camera "
                    f"(its zones: {', '.join(sorted(zones)) or 'none'})"
                )
            if not missing:
                # Build the rule as `gridsight run` will, so that what its constructor
                # refuses (a zone of the wrong kind, inconsistent settings) is found here.
                try:
                    rule(settings, zones_from_config(cam.zone_dicts()))
                except ConfigError as exc:
                    problems.append(
                        f"{_where(township, base)}: camera {cam.id!r}, hazard {hazard!r}: {exc}"
                    )
            validated[hazard] = settings
        out[cam.id] = validated
    if problems:
        head = f"{len(problems)} hazard setting problem{'s' if len(problems) != 1 else ''}:"
        raise ConfigError(
            problems[0] if len(problems) == 1 else head + "\n  " + "\n  ".join(problems)
        )
    return out


def _settings_errors(
    township: Township,
    camera: str,
    hazard: str,
    base: Loc,
    exc: ValidationError,
    rule: type[HazardRule],
) -> list[str]:
    out = []
    for rel, message in validation_problems(exc, rule.Settings, noun="setting"):
        loc: Loc = (*base, *rel)
        field = format_loc(rel) if rel else "(settings)"
        shown = (
            message if message.startswith(("unknown setting", "missing")) else f"{field}: {message}"
        )
        out.append(f"{_where(township, loc)}: camera {camera!r}, hazard {hazard!r}: {shown}")
    return out


def validate_camera_hazards(township: Township, pm: pluggy.PluginManager) -> dict[str, Any]:
    """Validate every camera's hazard settings against the plugins' rule Settings models.

    Returns:
        ``{camera id: {hazard id: validated RuleSettings}}``.

    Raises:
        ConfigError: see :func:`check_camera_hazards`.
        PluginError: two plugins provide the same hazard id.
    """
    from gridsight.core.plugins import hazard_rules, roles, trackers

    roles(pm)  # plugins' roles first: the rules' settings may name them
    trackers(pm)
    check_camera_trackers(township)
    return check_camera_hazards(township, hazard_rules(pm))


def check_camera_trackers(township: Township) -> None:
    """Every camera's ``tracker:`` is a known tracker and its ``tracker_settings:`` fit.

    Raises:
        ConfigError: naming the camera, the line and what is wrong.
    """
    from gridsight.core.tracking.base import tracker_settings

    problems = []
    for c_idx, cam in enumerate(township.cameras):
        try:
            tracker_settings(cam.tracker, None, cam.tracker_settings)
        except ConfigError as exc:
            where = _where(township, ("cameras", c_idx, "tracker"))
            problems.append(f"{where}: camera {cam.id!r}: {exc}")
    if problems:
        raise ConfigError("\n".join(problems))
