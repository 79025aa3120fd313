"""``gridsight sim``: the governance simulator — run, sweep, verify, mmc."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gridsight.core.dispatch import PolicyRegistry

DEFAULT_SCENARIO = "configs/sim/baseline.yaml"


def _load(scenario: str) -> tuple[Any, Any]:
    from gridsight.core.config import load_township
    from gridsight.governance_sim.scenario import load_scenario, with_live_orders

    sc, town_path = load_scenario(scenario)
    town = load_township(town_path)
    return with_live_orders(sc, town), town


def _policies() -> PolicyRegistry:
    """The dispatch policies: built-ins and plugins', from one plugin manager built here."""
    from gridsight.core.dispatch import load_policies
    from gridsight.core.plugins import build_plugin_manager

    return load_policies(build_plugin_manager())


def _ci(est: dict[str, Any] | None, scale: float = 1.0, digits: int = 3) -> str:
    if not est or est.get("mean") is None:
        return "n/a"
    lo, hi = est["ci95"]
    if lo is None:
        return f"{est['mean'] * scale:.{digits}f} (n={est['n']})"
    return (
        f"{est['mean'] * scale:.{digits}f}  95% CI [{lo * scale:.{digits}f}, "
        f"{hi * scale:.{digits}f}]  n={est['n']}"
    )


def _print_targets(doc: dict[str, Any]) -> None:
    t = doc["targets"]
    click.echo(
        f"scenario {doc['scenario']}: {doc['run']['replications']} replications x "
        f"{doc['run']['days']:g} days, seed {doc['run']['seed']}"
    )
    for name in ("dispatch", "closure", "response_reduction"):
        row = t[name]
        mark = "MET    " if row["met"] else "NOT MET"
        click.echo(f"  [{mark}] {row['target']}")
        click.echo(f"            estimate {_ci(row['estimate'])}  ({row['confidence']})")
    click.echo(
        f"  speed ratio patrol/AI: {_ci(t['response_reduction'].get('speed_ratio'), digits=2)}"
    )
    k = doc["kpis"]
    click.echo(
        f"  dispatch mean {_ci(k.get('dispatch_mean_s'), digits=1)} s; "
        f"closure mean {_ci(k.get('closure_mean_s'), 1 / 60, 1)} min"
    )
    click.echo(
        f"  coverage of short hazards (near_water): AI {_ci(k.get('coverage_ai_short'), digits=2)}"
        f"; patrol {_ci(k.get('coverage_patrol_short'), digits=2)}"
    )


def _check_trace_window(
    trace: str, rows: tuple[tuple[float, str, str, float], ...], start_s: float, end_s: float
) -> None:
    """Fail if no replayed alarm falls in the observation window; warn if some do not."""
    from gridsight.core.errors import DataError

    late = sum(1 for r in rows if r[0] >= end_s)
    if not late:
        return
    window_days = (end_s - start_s) / 86400.0
    span_days = (max(r[0] for r in rows) - start_s) / 86400.0
    if late == len(rows):
        raise DataError(
            f"{trace}: all {late} alerts of the trace fall after the observation window "
            f"({window_days:g} days after the warm-up); pass a larger --days"
        )
    click.echo(
        f"warning: {late} of {len(rows)} alerts of {trace} fall after the observation window "
        f"({window_days:g} days; the trace spans {span_days:.3g} days) and are not simulated",
        err=True,
    )


def _write_json(path: str | None, doc: Any) -> None:
    if not path:
        return
    from gridsight.governance_sim.stats import dumps

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dumps(doc), encoding="utf-8")
    click.echo(f"wrote {p}")


@click.group()
def sim() -> None:
    """The governance simulator: does a deployment meet its service targets?

    \b
    gridsight sim run configs/sim/baseline.yaml -n 30 --days 30 --json out.json --report out/
    gridsight sim run configs/sim/baseline.yaml -n 2 --trace trace.csv --set verifiers=3
    gridsight sim sweep configs/sim/baseline.yaml --vary verifiers=1,2,3
    gridsight sim sweep configs/sim/baseline.yaml --vary 'workers_per_grid=1,2'
    gridsight sim verify
    gridsight sim mmc --arrival-rate 2.4 --service-rate 1 --servers 3
    """


_common = [
    click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="set a scenario field first (repeatable); the keys --vary takes, a JSON or "
        "YAML value: --set verifiers=3 --set 'staffing.grid_worker.shift_h=[7,19]'",
    ),
    click.option(
        "--replications",
        "-n",
        type=click.IntRange(min=1),
        default=None,
        help="replications (default: the scenario's)",
    ),
    click.option(
        "--days",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="simulated days per replication (default: the scenario's)",
    ),
    click.option(
        "--seed", type=click.IntRange(min=0), default=None, help="seed (default: the scenario's)"
    ),
    click.option(
        "--workers",
        "-j",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="processes running replications in parallel",
    ),
    click.option(
        "--dask",
        "dask_address",
        default=None,
        metavar="ADDRESS",
        help="run replications on a dask.distributed scheduler (tcp://host:8786)",
    ),
    click.option(
        "--json",
        "json_out",
        type=click.Path(dir_okay=False),
        default=None,
        help="write the results JSON here",
    ),
    click.option(
        "--report",
        "report_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="write report.md and PNG plots into this folder",
    ),
    click.option("--quiet", "-q", is_flag=True, help="no progress bar"),
]


def _with_common(f: Any) -> Any:
    for opt in reversed(_common):
        f = opt(f)
    return f


@sim.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO)
@click.option(
    "--alerts",
    "trace",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="replay an engine alert JSONL instead of synthetic alerts",
)
@click.option(
    "--trace",
    "trace_out",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE.csv",
    help="write one row per alarm and request: replication, camera, hazard, kind, alarm_s, "
    "verified_s, dispatched_s, on_site_s, closed_s, worker, village",
)
@_with_common
def run(
    scenario: str,
    trace: str | None,
    trace_out: str | None,
    sets: tuple[str, ...],
    replications: int | None,
    days: float | None,
    seed: int | None,
    workers: int,
    dask_address: str | None,
    json_out: str | None,
    report_dir: str | None,
    quiet: bool,
) -> None:
    """Run SCENARIO (default configs/sim/baseline.yaml) and print the three targets."""
    from gridsight.governance_sim.experiment import results_document, run_replications
    from gridsight.governance_sim.replay import trace_rows
    from gridsight.governance_sim.scenario import build_sim_config, effective_horizon
    from gridsight.governance_sim.sweep import apply_sets

    sc, town = _load(scenario)
    sc = apply_sets(sc, sets)
    rows = None
    if trace is not None:
        horizon = effective_horizon(sc, days)
        rows = trace_rows(
            trace,
            [c.id for c in town.cameras],
            {h: s.duration_min.mean * 60.0 for h, s in sc.hazards.items()},
            offset_s=horizon.start_s,
        )
        _check_trace_window(trace, rows, horizon.start_s, horizon.end_s)
    registry = _policies()
    cfg = build_sim_config(sc, town, policies=registry.policies, days=days, trace=rows)
    seed_ = sc.seed if seed is None else seed
    reps = sc.replications if replications is None else replications
    results = run_replications(
        cfg,
        seed_,
        reps,
        registry=registry,
        workers=workers,
        dask_address=dask_address,
        progress=not quiet,
        trace=trace_out is not None,
    )
    doc = results_document(cfg, seed_, results, source=scenario)
    if sets:
        doc["run"]["set"] = list(sets)
    if trace is not None:
        doc["run"]["trace"] = trace
        doc["run"]["trace_alerts"] = len(rows or ())
        doc["run"]["trace_alerts_after_horizon"] = sum(
            1 for r in rows or () if r[0] >= cfg.horizon.end_s
        )
    _print_targets(doc)
    _write_json(json_out, doc)
    if trace_out:
        from gridsight.governance_sim.trace import write_trace

        p = write_trace(trace_out, (row for r in results for row in r.trace or ()))
        click.echo(f"wrote {p}")
    if report_dir:
        from gridsight.governance_sim.report import write_run_report

        files = write_run_report(report_dir, cfg, doc, results)
        click.echo(f"wrote {', '.join(str(f) for f in files)}")


@sim.command()
@click.argument("scenario")
@click.option(
    "--vary",
    "vary",
    required=True,
    metavar="NAME=V1,V2,...",
    help="parameter and values: verifiers, workers_per_grid, cameras, policy, "
    "alert_rate, false_alarms, volunteers, or a dotted field path",
)
@_with_common
def sweep(
    scenario: str,
    vary: str,
    sets: tuple[str, ...],
    replications: int | None,
    days: float | None,
    seed: int | None,
    workers: int,
    dask_address: str | None,
    json_out: str | None,
    report_dir: str | None,
    quiet: bool,
) -> None:
    """Vary one parameter of SCENARIO and tabulate SLA attainment against it."""
    from gridsight.governance_sim.report import sweep_table, write_sweep_report
    from gridsight.governance_sim.scenario import build_sim_config
    from gridsight.governance_sim.sweep import apply_sets, parse_vary, run_sweep

    sc, town = _load(scenario)
    sc = apply_sets(sc, sets)
    name, path, values = parse_vary(vary)
    seed_ = sc.seed if seed is None else seed
    reps = sc.replications if replications is None else replications
    rows = run_sweep(
        sc,
        town,
        name,
        path,
        values,
        replications=reps,
        days=days,
        seed=seed_,
        registry=_policies(),
        workers=workers,
        dask_address=dask_address,
        progress=not quiet,
    )
    click.echo(sweep_table(name, rows))
    _write_json(json_out, {"scenario": sc.name, "vary": name, "path": path, "rows": rows})
    if report_dir:
        files = write_sweep_report(report_dir, sc.name, name, rows, build_sim_config(sc, town))
        click.echo(f"wrote {', '.join(str(f) for f in files)}")


@sim.command()
@click.option(
    "--scenario",
    default=DEFAULT_SCENARIO,
    show_default=True,
    help="scenario whose township the full-model checks use",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None)
@click.option("--quick", is_flag=True, help="shorter runs (looser, for smoke tests)")
@click.option("--seed", type=click.IntRange(min=0), default=12345, show_default=True)
def verify(scenario: str, json_out: str | None, quick: bool, seed: int) -> None:
    """Run the verification suite: queueing theory, Little's law, closed-form extremes,
    and the field queue as M/G/c against Ciw."""
    from gridsight.governance_sim.verify import run_verification

    sc, town = _load(scenario)
    checks = run_verification(sc, town, quick=quick, seed=seed)
    try:
        import ciw  # noqa: F401
    except ImportError:
        click.echo("note: Ciw is not installed (pip install ciw): field queue vs Ciw not run")
    for c in checks:
        lo, hi = c.ci95
        ci = "n/a" if math.isnan(lo) else f"[{lo:.5g}, {hi:.5g}]"
        click.echo(
            f"{'PASS' if c.passed else 'FAIL'}  {c.name}: simulated {c.estimate:.5g} "
            f"95% CI {ci} (n={c.n}); theory {c.theory:.5g}"
        )
    failed = [c for c in checks if not c.passed]
    click.echo(f"{len(checks) - len(failed)}/{len(checks)} checks passed")
    _write_json(json_out, {"checks": [c.as_dict() for c in checks], "passed": not failed})
    if failed:
        raise SystemExit(1)


@sim.command()
@click.option(
    "--arrival-rate",
    "lam",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="lambda (per time unit)",
)
@click.option(
    "--service-rate",
    "mu",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="mu per server",
)
@click.option("--servers", "c", type=click.IntRange(min=1), required=True)
@click.option("--replications", type=click.IntRange(min=2), default=20, show_default=True)
@click.option(
    "--horizon",
    type=click.FloatRange(min=0, min_open=True),
    default=5000.0,
    show_default=True,
    help="simulated time per replication (10% warm-up)",
)
@click.option(
    "--t",
    "t",
    type=click.FloatRange(min=0),
    default=None,
    help="threshold for P(wait > t) (default 1/mu)",
)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None)
def mmc(
    lam: float,
    mu: float,
    c: int,
    replications: int,
    horizon: float,
    t: float | None,
    seed: int,
    json_out: str | None,
) -> None:
    """Simulate an M/M/c queue and print the estimates with CIs next to Erlang C."""
    from gridsight.governance_sim.verify import mmc_checks

    checks = mmc_checks(lam, mu, c, replications=replications, horizon=horizon, seed=seed, t=t)
    click.echo(f"{'quantity':<42} {'simulated':>10} {'95% CI':>24} {'theory':>10}")
    for ch in checks:
        label = ch.name.split(") ", 1)[-1]
        lo, hi = ch.ci95
        click.echo(
            f"{label:<42} {ch.estimate:>10.5f} {f'[{lo:.5f}, {hi:.5f}]':>24} {ch.theory:>10.5f}"
        )
    _write_json(
        json_out,
        {
            "arrival_rate": lam,
            "service_rate": mu,
            "servers": c,
            "replications": replications,
            "horizon": horizon,
            "seed": seed,
            "checks": [ch.as_dict() for ch in checks],
        },
    )
