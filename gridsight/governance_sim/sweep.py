"""Sweeps: vary one scenario parameter and see where the targets start to fail.

Every value is run with the same seed, so its replications see the same hazard
occurrences as the other values' (common random numbers): differences between values
come from the parameter, not from luck.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import yaml

from gridsight.core.dispatch import BUILTIN_REGISTRY, PolicyRegistry
from gridsight.core.errors import ConfigError
from gridsight.governance_sim.experiment import results_document, run_replications
from gridsight.governance_sim.scenario import Scenario, build_sim_config, scenario_with

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


def parse_vary(text: str) -> tuple[str, str, list[Any]]:
    """``NAME=V1,V2,...`` -> (name, dotted field path, values parsed as YAML scalars).

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
    if "." not in name and name not in ALIASES and name not in Scenario.model_fields:
        close = difflib.get_close_matches(name, sorted(ALIASES), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"--vary {name!r}: unknown parameter; {hint}names: {', '.join(sorted(ALIASES))}, "
            "or a dotted field path of the scenario such as centre.verifiers"
        )
    values = [yaml.safe_load(v.strip()) for v in raw.split(",") if v.strip()]
    if not values:
        raise ConfigError(f"--vary {text!r}: no values after '='")
    return name, ALIASES.get(name, name), values


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
    rows: list[dict[str, Any]] = []
    for v in values:
        cfg = build_sim_config(scenario_with(sc, path, v), town, policies=reg.policies, days=days)
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
