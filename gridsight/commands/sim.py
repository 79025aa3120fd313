"""``gridsight sim``: the governance simulator — run, sweep, compare, verify, mmc."""

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


def _replicate(
    sc: Any,
    town: Any,
    *,
    seed: int | None,
    replications: int | None,
    days: float | None,
    workers: int,
    dask_address: str | None,
    quiet: bool,
    rows: Any = None,
    trace: bool = False,
) -> tuple[Any, int, list[Any]]:
    """Build SCENARIO's config and run its replications (the common options applied):
    ``(config, seed, results)``."""
    from gridsight.governance_sim.experiment import run_replications
    from gridsight.governance_sim.scenario import build_sim_config

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
        trace=trace,
    )
    return cfg, seed_, results


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
    gridsight sim compare configs/sim/baseline.yaml --alt verifiers=3 -n 30
    gridsight sim calibrate --db orders.sqlite --since 2026-06-01 --until 2026-07-01 --out cal.yaml
    gridsight sim validate cal.yaml --db orders.sqlite --since 2026-06-01 --until 2026-07-01
    gridsight sim staff configs/sim/baseline.yaml --probability 0.9 -n 10
    gridsight sim tornado configs/sim/baseline.yaml --report out/
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
@click.option(
    "--replications-csv",
    "reps_csv",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE.csv",
    help="write every replication's KPIs (one row per replication)",
)
@_with_common
def run(
    scenario: str,
    trace: str | None,
    trace_out: str | None,
    reps_csv: str | None,
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
    from gridsight.governance_sim.experiment import results_document
    from gridsight.governance_sim.replay import trace_rows
    from gridsight.governance_sim.scenario import effective_horizon
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
    cfg, seed_, results = _replicate(
        sc, town, seed=seed, replications=replications, days=days, workers=workers,
        dask_address=dask_address, quiet=quiet, rows=rows, trace=trace_out is not None,
    )  # fmt: skip
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
    for w in doc["warnings"]:
        click.echo(f"warning: {w}", err=True)
    if reps_csv:
        from gridsight.governance_sim.report import write_replications_csv

        click.echo(f"wrote {write_replications_csv(reps_csv, results)}")
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
@click.argument("baseline")
@click.argument("alternatives", nargs=-1)
@click.option(
    "--alt",
    "alts",
    multiple=True,
    metavar="KEY=VALUE[;KEY=VALUE]",
    help="an alternative made from BASELINE by --set changes (repeatable)",
)
@click.option(
    "--replications-csv",
    "reps_csv",
    type=click.Path(dir_okay=False),
    default=None,
    help="write every replication's KPIs of every scenario (one row each)",
)
@_with_common
def compare(
    baseline: str,
    alternatives: tuple[str, ...],
    alts: tuple[str, ...],
    reps_csv: str | None,
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
    """Compare alternatives with BASELINE: paired differences of every KPI.

    Every scenario runs with the same seed and replications, so replication i of each
    sees the same hazard occurrences and requests (common random numbers); differences
    are taken per replication, with Bonferroni-corrected 95% intervals over the
    alternatives. ALTERNATIVES are scenario files; --alt 'verifiers=3;workers_per_grid=2'
    makes one from BASELINE.
    """
    from gridsight.core.errors import ConfigError
    from gridsight.governance_sim.experiment import (
        compare_document,
        results_document,
        run_replications,
    )
    from gridsight.governance_sim.report import compare_table, write_replications_csv
    from gridsight.governance_sim.scenario import build_sim_config
    from gridsight.governance_sim.sweep import apply_sets

    if not alternatives and not alts:
        raise ConfigError("sim compare: give at least one alternative (a file or --alt)")
    sc, town = _load(baseline)
    sc = apply_sets(sc, sets)
    registry = _policies()
    labels = [baseline]
    cfgs = [build_sim_config(sc, town, policies=registry.policies, days=days)]
    for path in alternatives:
        a_sc, a_town = _load(path)
        labels.append(path)
        cfgs.append(
            build_sim_config(apply_sets(a_sc, sets), a_town, policies=registry.policies, days=days)
        )
    for text in alts:
        changes = [t for t in text.split(";") if t.strip()]
        labels.append(text)
        cfgs.append(
            build_sim_config(
                apply_sets(sc, [*sets, *changes]), town, policies=registry.policies, days=days
            )
        )
    seed_ = sc.seed if seed is None else seed
    reps = sc.replications if replications is None else replications
    results = [
        run_replications(
            cfg,
            seed_,
            reps,
            registry=registry,
            workers=workers,
            dask_address=dask_address,
            progress=not quiet,
        )
        for cfg in cfgs
    ]
    docs = [results_document(c, seed_, r) for c, r in zip(cfgs, results, strict=True)]
    doc = compare_document(labels, docs, results)
    doc["run"] = {"seed": seed_, "replications": reps, "days": cfgs[0].horizon.days}
    click.echo(compare_table(doc))
    _write_json(json_out, doc)
    if reps_csv:
        rows = [(label, r) for label, res in zip(labels, results, strict=True) for r in res]
        click.echo(f"wrote {write_replications_csv(reps_csv, rows)}")
    if report_dir:
        out = Path(report_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.md").write_text(compare_table(doc) + "\n", encoding="utf-8")
        click.echo(f"wrote {out / 'compare.md'}")


def _when(text: str, zone: str) -> float:
    """Epoch seconds of ``--since``/``--until``: epoch seconds, or an ISO date/time
    (local time of the township where it has no offset)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from gridsight.core.errors import ConfigError

    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"{text!r}: expected epoch seconds or an ISO date such as 2026-07-01"
        ) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(zone))
    return dt.timestamp()


def read_store(db: str, since: float, until: float, timezone: str) -> Any:
    """What the live store recorded in ``[since, until)``, as the simulator's
    :class:`~gridsight.governance_sim.calibrate.Observed` (read here: the simulator does
    not import the order service)."""
    import sqlalchemy as sa

    from gridsight.governance_sim.calibrate import Observed
    from gridsight.orders.store import OrderStore
    from gridsight.orders.tables import events, transitions, work_orders

    store = OrderStore.open(db, migrate=False)
    try:
        with store.read() as conn:
            states = dict(conn.execute(sa.select(work_orders.c.id, work_orders.c.state)).all())
            ev = [
                (r.camera, r.hazard, float(r.started_at), states.get(r.order_id or "", ""))
                for r in conn.execute(
                    sa.select(events).where(
                        events.c.started_at >= since, events.c.started_at < until
                    )
                )
            ]
            verified: dict[str, tuple[float, str]] = {}
            for r in conn.execute(
                sa.select(transitions.c.order_id, transitions.c.at, transitions.c.actor_role)
                .where(transitions.c.to_state == "verified")
                .order_by(transitions.c.at)
            ):
                verified.setdefault(
                    r.order_id, (float(r.at), "system" if r.actor_role == "system" else "operator")
                )
            orders = []
            for r in conn.execute(
                sa.select(work_orders).where(
                    work_orders.c.created_at >= since, work_orders.c.created_at < until
                )
            ):
                v = verified.get(r.id)
                orders.append(
                    {
                        "source": r.source, "kind": r.kind, "state": r.state,
                        "created_at": r.created_at, "verified_at": v[0] if v else None,
                        "verified_by": v[1] if v else None, "dispatched_at": r.dispatched_at,
                        "acknowledged_at": r.acknowledged_at, "on_site_at": r.on_site_at,
                        "resolved_at": r.resolved_at, "closed_at": r.closed_at,
                    }
                )  # fmt: skip
    finally:
        store.close()
    return Observed(since, until, timezone, ev, orders)


_store_options = [
    click.option("--db", required=True, help="the live orders store (sqlite path or URL)"),
    click.option("--since", required=True, help="start: ISO date/time (local) or epoch s"),
    click.option("--until", required=True, help="end: ISO date/time (local) or epoch s"),
]


def _with_store(f: Any) -> Any:
    for opt in reversed(_store_options):
        f = opt(f)
    return f


@sim.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO)
@_with_store
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="scenario to write")
@click.option("--report", "report_out", type=click.Path(dir_okay=False), default=None)
def calibrate(
    scenario: str, db: str, since: str, until: str, out: str, report_out: str | None
) -> None:
    """Fit SCENARIO's arrival rates and times to the live store; write the result.

    Alarm rates per camera x hazard and hour, requests per kind, the false-alarm share,
    verification, acknowledgement, travel, handling and review times (lognormal, with a
    Kolmogorov-Smirnov fit), each with its 95% interval in the report.
    """
    import yaml

    from gridsight.governance_sim.calibrate import calibrate as fit

    sc, town = _load(scenario)
    zone = town.orders.timezone
    obs = read_store(db, _when(since, zone), _when(until, zone), zone)
    cams = {c.id: tuple(sorted(c.hazards)) for c in town.cameras}
    data, report = fit(obs, sc.model_dump(mode="json"), cams)
    data["name"] = f"{sc.name}-calibrated"
    data["description"] = f"calibrated from {db} over {obs.days:.3g} days"
    data["township"] = str(Path(scenario).resolve().parent / sc.township)
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    click.echo(f"wrote {p}")
    for h, r in report["hazards"].items():
        a = r["real_alarms_per_camera_day"]
        click.echo(
            f"  {h}: {a['mean']:.3f} real alarms per camera-day 95% CI "
            f"[{a['ci95'][0]:.3f}, {a['ci95'][1]:.3f}] (n={a['n']})"
        )
    for name, f in report["times"].items():
        if f is not None:
            ks = "n/a" if f["ks_p"] is None else f"{f['ks_p']:.3f}"
            click.echo(f"  {name}: mean {f['mean']:.1f} cv {f['cv']:.2f} (n={f['n']}, KS p {ks})")
    _write_json(report_out, report)


@sim.command()
@click.argument("scenario")
@_with_store
@_with_common
def validate(
    scenario: str,
    db: str,
    since: str,
    until: str,
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
    """Run SCENARIO (e.g. a calibrated one) and put its KPIs beside the store's."""
    from gridsight.governance_sim.calibrate import observed_kpis
    from gridsight.governance_sim.experiment import results_document
    from gridsight.governance_sim.sweep import apply_sets

    sc, town = _load(scenario)
    sc = apply_sets(sc, sets)
    zone = town.orders.timezone
    obs = read_store(db, _when(since, zone), _when(until, zone), zone)
    cfg, seed_, res = _replicate(
        sc, town, seed=seed, replications=replications, days=days, workers=workers,
        dask_address=dask_address, quiet=quiet,
    )  # fmt: skip
    doc = results_document(cfg, seed_, res, source=scenario)
    seen = observed_kpis(obs, cfg.targets.dispatch_s, cfg.targets.closure_s)
    sim_days = cfg.horizon.days - cfg.horizon.warmup_days
    simulated = {k: doc["kpis"].get(k) for k in seen if k != "real_alerts_per_day"}
    ra = doc["kpis"].get("real_alerts", {})
    simulated["real_alerts_per_day"] = {
        "mean": (ra.get("mean") or 0.0) / sim_days,
        "ci95": [None if v is None else v / sim_days for v in ra.get("ci95", [None, None])],
        "n": ra.get("n", 0),
    }
    click.echo(f"{'KPI':28s} {'observed':>34s}   {'simulated':>34s}")
    for k, o in seen.items():
        click.echo(f"{k:28s} {_ci(o):>34s}   {_ci(simulated.get(k)):>34s}")
    _write_json(json_out, {"observed": seen, "simulated": simulated, "run": doc["run"]})


@sim.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO)
@click.option(
    "--probability",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.9,
    show_default=True,
    help="share of periods (replications) that must meet every target",
)
@click.option("--per-village", is_flag=True, help="search grid staff and cadres per village")
@_with_common
def staff(
    scenario: str,
    probability: float,
    per_village: bool,
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
    """The fewest verifiers, cadres and grid staff that meet every target.

    Searches down from SCENARIO's staff, one resource at a time, with common random
    numbers, then confirms the answer on fresh random numbers with twice the
    replications. A candidate meets when at least --probability of its periods
    (replications of --days) reach every target.
    """
    from gridsight.governance_sim.scenario import build_sim_config
    from gridsight.governance_sim.staffing import search_staff
    from gridsight.governance_sim.sweep import apply_sets

    sc, town = _load(scenario)
    sc = apply_sets(sc, sets)
    registry = _policies()
    cfg = build_sim_config(sc, town, policies=registry.policies, days=days)
    ws = cfg.township.workers
    per_grid = max(
        sum(1 for w in ws if w.grid == g.id and w.role in ("grid_worker", "micro_grid_worker"))
        for g in cfg.township.grids
    )
    cadres = max(sum(1 for w in ws if w.village == v and w.role == "cadre") for v in
                 {w.village for w in ws})  # fmt: skip
    start: dict[str, int] = {"centre.verifiers": cfg.centre.verifiers}
    if per_village:
        for v in sorted({c.village for c in cfg.township.cameras}):
            start[f"village:{v}:workers_per_grid"] = per_grid
            start[f"village:{v}:cadres"] = cadres
    else:
        start["staffing.cadres_per_village"] = cadres
        start["staffing.workers_per_grid"] = per_grid
    start["staffing.volunteers"] = sum(1 for w in ws if w.role == "volunteer")
    seed_ = sc.seed if seed is None else seed
    reps = 10 if replications is None else replications

    def step(ev: Any) -> None:
        if not quiet:
            p = ", ".join(f"{k} {v:.2f}" for k, v in ev.p_meets.items())
            click.echo(f"  {'meets ' if ev.meets else 'fails '} {ev.staff}  ({p})", err=True)

    ans = search_staff(
        sc, town, start, probability=probability, replications=reps, seed=seed_, days=days,
        registry=registry, workers=workers, on_step=step,
    )  # fmt: skip
    click.echo(f"fewest staff meeting every target in >= {probability:g} of periods:")
    for key, n in ans.staff.items():
        click.echo(f"  {key} = {n}  (from {start[key]})")
    conf = ans.confirmation
    if conf is not None:
        p = ", ".join(f"{k} {v:.2f}" for k, v in conf.p_meets.items())
        state = "confirmed" if ans.confirmed else "NOT confirmed"
        click.echo(f"  {state} on fresh random numbers ({2 * reps} replications): {p}")
    _write_json(
        json_out,
        {
            "scenario": sc.name, "probability": probability, "start": start,
            "answer": ans.staff, "confirmed": ans.confirmed,
            "confirmation": None if conf is None else vars(conf),
            "trail": [vars(e) for e in ans.trail],
        },
    )  # fmt: skip


@sim.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO)
@_with_common
def tornado(
    scenario: str,
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
    """How far each target moves when each assumed input goes low or high (tornado)."""
    from gridsight.governance_sim.staffing import tornado as run_tornado
    from gridsight.governance_sim.staffing import write_tornado_png
    from gridsight.governance_sim.sweep import apply_sets

    sc, town = _load(scenario)
    sc = apply_sets(sc, sets)
    seed_ = sc.seed if seed is None else seed
    reps = 10 if replications is None else replications
    doc = run_tornado(sc, town, replications=reps, seed=seed_, days=days,
                      registry=_policies(), workers=workers)  # fmt: skip
    base = doc["baseline"]
    click.echo("baseline: " + ", ".join(f"{t} {v:.3f}" for t, v in base.items() if v is not None))
    for r in doc["rows"]:
        cells = ", ".join(f"{t} {r['low'][t] or 0:.3f}..{r['high'][t] or 0:.3f}" for t in base)
        click.echo(f"  {r['label']:36s} {cells}")
    _write_json(json_out, doc)
    if report_dir:
        out = Path(report_dir)
        out.mkdir(parents=True, exist_ok=True)
        t = sc.targets
        write_tornado_png(
            out / "tornado.png",
            doc,
            {"dispatch": t.attainment, "closure": t.attainment,
             "response_reduction": t.response_reduction},
        )  # fmt: skip
        click.echo(f"wrote {out / 'tornado.png'}")


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
