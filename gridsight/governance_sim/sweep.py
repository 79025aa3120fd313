"""Sweeps: vary one scenario parameter and see where the targets start to fail.

Every value is run with the same seed, so its replications see the same hazard
occurrences as the other values' (common random numbers): differences between values
come from the parameter, not from luck.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Any

import yaml

from gridsight.core.dispatch import BUILTIN_REGISTRY, PolicyRegistry
from gridsight.core.errors import ConfigError
from gridsight.governance_sim.experiment import results_document, run_replications
from gridsight.governance_sim.scenario import (
    Scenario,
    build_sim_config,
    scenario_with,
    scenario_with_many,
)

# Short names for the parameters planners vary most; any dotted field path works too.
ALIASES: dict[str, str] = {
    "verifiers": "centre.verifiers",
    "workers_per_grid": "staffing.workers_per_grid",
    "cameras": "alerts.camera_count",
    "policy": "dispatch.policy",
    "alert_rate": "alerts.rate_scale",
    "false_alarms": "alerts.false_alarm_fraction",
    "volunteers": "staffing.volunteers",
}


def _path(name: str, flag: str) -> str:
    """The dotted field path of a short name or a dotted path (checked later)."""
    if "." not in name and name not in ALIASES and name not in Scenario.model_fields:
        close = difflib.get_close_matches(name, sorted(ALIASES), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{flag} {name!r}: unknown parameter; {hint}names: {', '.join(sorted(ALIASES))}, "
            "or a dotted field path of the scenario such as centre.verifiers"
        )
    return ALIASES.get(name, name)


def parse_value(raw: str) -> Any:
    """One value: JSON (``[7, 19]``, ``{"dist": "exp", "mean": 20}``, ``2``, ``true``), else
    a YAML scalar (``grid_owner_first``)."""
    raw = raw.strip()
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return yaml.safe_load(raw)


def parse_values(raw: str) -> list[Any]:
    """``V1,V2,...``: read as one JSON array when it is one (``[7,19],[8,18]`` is two
    lists; ``1,2,3`` three numbers), else split at commas into YAML scalars."""
    try:
        values = json.loads(f"[{raw}]")
    except json.JSONDecodeError:
        values = [yaml.safe_load(v.strip()) for v in raw.split(",") if v.strip()]
    return list(values)


def parse_vary(text: str) -> tuple[str, str, list[Any]]:
    """``NAME=V1,V2,...`` -> (name, dotted field path, values).

    Values are JSON where they parse as JSON (lists and objects included:
    ``staffing.grid_worker.shift_h=[7,19],[8,18]``), else YAML scalars.

    Raises:
        ConfigError: no ``=``, no values, or a name that is neither a short name nor a
            field of the scenario.
    """
    if "=" not in text:
        raise ConfigError(
            f"--vary {text!r}: expected NAME=V1,V2,... e.g. verifiers=1,2,3 "
            f"(names: {', '.join(sorted(ALIASES))}, or a dotted field path)"
        )
    name, _, raw = text.partition("=")
    name = name.strip()
    path = _path(name, "--vary")
    values = parse_values(raw)
    if not values:
        raise ConfigError(f"--vary {text!r}: no values after '='")
    return name, path, values


def parse_set(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` (``--set``; the keys ``--vary`` takes, a JSON or YAML value) ->
    (dotted field path, value).

    Raises:
        ConfigError: no ``=`` or an unknown key.
    """
    if "=" not in text:
        raise ConfigError(
            f"--set {text!r}: expected KEY=VALUE, e.g. verifiers=3 or "
            "staffing.grid_worker.shift_h=[7,19]"
        )
    name, _, raw = text.partition("=")
    return _path(name.strip(), "--set"), parse_value(raw)


def apply_sets(sc: Scenario, sets: Sequence[str]) -> Scenario:
    """The scenario with every ``--set KEY=VALUE`` applied (validated once, together).

    Raises:
        ConfigError: a key names no field or a value does not fit it.
    """
    if not sets:
        return sc
    return scenario_with_many(sc, dict(parse_set(t) for t in sets))


def run_sweep(
    sc: Scenario,
    town: Any,
    name: str,
    path: str,
    values: Sequence[Any],
    *,
    replications: int,
    days: float | None,
    seed: int,
    registry: PolicyRegistry | None = None,
    workers: int = 1,
    dask_address: str | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """One results document per value, each with ``value`` and ``path`` added.

    ``registry`` holds the dispatch policies the values may name (``load_policies(pm)``
    of the caller's plugin manager); None knows only the built-ins.
    """
    reg = BUILTIN_REGISTRY if registry is None else registry
    # Every value is checked before the first replication runs: a bad one is found now,
    # not after the earlier values' runs.
    cfgs = [
        build_sim_config(scenario_with(sc, path, v), town, policies=reg.policies, days=days)
        for v in values
    ]
    rows: list[dict[str, Any]] = []
    for v, cfg in zip(values, cfgs, strict=True):
        res = run_replications(
            cfg,
            seed,
            replications,
            registry=reg,
            workers=workers,
            dask_address=dask_address,
            progress=progress,
        )
        doc = results_document(cfg, seed, res)
        rows.append({"value": v, "path": path, **doc})
    return rows
