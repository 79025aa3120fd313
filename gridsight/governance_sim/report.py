"""Reports: Markdown + PNG plots of a run, and of a sweep.

Plots use matplotlib's Agg backend (no display needed). A run report shows the
distributions of dispatch and closure times with the target lines, utilisation per role,
and the AI vs manual-patrol comparison (paired responses and coverage per hazard).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gridsight.governance_sim.params import ROLES, SimConfig
from gridsight.governance_sim.replication import ReplicationResult


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt(est: dict[str, Any] | None, scale: float = 1.0, digits: int = 3) -> str:
    if not est or est.get("mean") is None:
        return "n/a"
    lo, hi = est["ci95"]
    m = est["mean"] * scale
    if lo is None or hi is None:
        return f"{m:.{digits}f} (n={est['n']})"
    return f"{m:.{digits}f} [{lo * scale:.{digits}f}, {hi * scale:.{digits}f}] (n={est['n']})"


def _num(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _json(obj: Any) -> str:
    from gridsight.governance_sim.stats import dumps

    return dumps(obj).rstrip()


def by_group_table(kpis: dict[str, Any], by: str) -> str:
    """Markdown table of both targets' attainment per village, hazard or hour."""
    prefix = f"dispatch_within_target/{by}/"
    keys = sorted(k.removeprefix(prefix) for k in kpis if k.startswith(prefix))
    rows = [f"| {by} | P(dispatch <= target) | P(closure <= target) |", "|---|---|---|"]
    for key in keys:
        d = kpis.get(f"dispatch_within_target/{by}/{key}")
        c = kpis.get(f"closure_within_target/{by}/{key}")
        rows.append(f"| {key} | {_fmt(d)} | {_fmt(c)} |")
    return "\n".join(rows) + "\n"


def write_replications_csv(
    path: str | Path, results: Sequence[ReplicationResult] | Sequence[tuple[str, Any]]
) -> Path:
    """Every replication's KPIs, one row each (``scenario`` first when labelled)."""
    import csv

    labelled = [r if isinstance(r, tuple) else ("", r) for r in results]
    names = sorted({k for _, r in labelled for k in r.kpis})
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["scenario", "replication", *names])
        for label, r in labelled:
            out.writerow([label, r.index, *(_cell(r.kpis.get(n)) for n in names)])
    return p


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    return f"{v:.6g}"


COMPARE_KPIS: tuple[tuple[str, float, str], ...] = (
    ("dispatch_within_target", 1.0, ""),
    ("closure_within_target", 1.0, ""),
    ("response_reduction", 1.0, ""),
    ("dispatch_mean_s", 1.0, "s"),
    ("closure_mean_s", 1 / 60, "min"),
    ("utilisation_grid_worker", 1.0, ""),
    ("backlog_mean", 1.0, "orders"),
)


def compare_table(doc: dict[str, Any]) -> str:
    """Markdown: each alternative's paired difference from the baseline on key KPIs."""
    lines = [
        f"Baseline: {doc['baseline']}. {doc['ci_method']}.",
        "",
        "| alternative | KPI | difference [CI] | half-width paired / unpaired |",
        "|---|---|---|---|",
    ]
    for name, alt in doc["alternatives"].items():
        for kpi, scale, unit in COMPARE_KPIS:
            d = alt["differences"].get(kpi)
            if d is None:
                continue
            label = kpi.removesuffix("_s") + (f" ({unit})" if unit else "")
            hp, hu = d["half_width_paired"], d["half_width_unpaired"]
            widths = f"{hp * scale:.3g} / {hu * scale:.3g}" if hp == hp else "n/a"
            lines.append(f"| {name} | {label} | {_fmt(d, scale, 3)} | {widths} |")
    return "\n".join(lines)


def _pooled(results: Sequence[ReplicationResult], key: str) -> np.ndarray:
    arrays = [r.samples.get(key, np.zeros(0)) for r in results]
    return np.concatenate(arrays) if arrays else np.zeros(0)


def write_run_report(
    out_dir: str | Path, cfg: SimConfig, doc: dict[str, Any], results: Sequence[ReplicationResult]
) -> list[Path]:
    """Write report.md and PNG plots into ``out_dir``; returns the files written."""
    plt = _plt()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    t = cfg.targets

    # Dispatch and closure distributions with their target lines.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    d = _pooled(results, "dispatch_s")
    c = _pooled(results, "closure_s") / 60.0
    # Clip the long tail (orders that waited for somebody to come on duty) so the
    # bulk near the target stays readable; say how many lie beyond.
    d_max = max(3.0 * t.dispatch_s, float(np.quantile(d, 0.99)) if d.size else 0.0)
    beyond = int((d > d_max).sum())
    axes[0].hist(np.minimum(d, d_max), bins=60, range=(0.0, d_max), color="#4c72b0")
    if beyond:
        axes[0].text(
            0.98,
            0.6,
            f"{beyond} alarms > {d_max:.0f} s\n(in the last bin)",
            transform=axes[0].transAxes,
            ha="right",
            fontsize=8,
        )
    axes[0].axvline(t.dispatch_s, color="red", ls="--", label=f"target {t.dispatch_s:g} s")
    axes[0].set(xlabel="alarm -> worker notified (s)", ylabel="alarms", title="Dispatch time")
    axes[0].legend()
    c_max = max(2.0 * t.closure_s / 60.0, float(np.quantile(c, 0.995)) if c.size else 0.0)
    axes[1].hist(np.minimum(c, c_max), bins=60, range=(0.0, c_max), color="#55a868")
    axes[1].axvline(
        t.closure_s / 60.0, color="red", ls="--", label=f"target {t.closure_s / 60:g} min"
    )
    axes[1].set(xlabel="alarm -> case closed (min)", ylabel="alarms", title="Closure time")
    axes[1].legend()
    fig.suptitle(f"{cfg.name}: {len(results)} replications, pooled alarms")
    fig.tight_layout()
    files.append(out / "dispatch_closure.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    # Utilisation per role with 95% CIs.
    k = doc["kpis"]
    names = [*ROLES, "verifier"]
    est = [k.get(f"utilisation_{r}", {}) for r in names]
    means = [e.get("mean") or 0.0 for e in est]
    err = [
        [
            m - (e["ci95"][0] if e.get("ci95") and e["ci95"][0] is not None else m)
            for m, e in zip(means, est, strict=True)
        ],
        [
            (e["ci95"][1] if e.get("ci95") and e["ci95"][1] is not None else m) - m
            for m, e in zip(means, est, strict=True)
        ],
    ]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(
        names, np.asarray(means) * 100.0, yerr=np.asarray(err) * 100.0, capsize=4, color="#8172b2"
    )
    ax.set(ylabel="busy time / on-duty time (%)", title="Utilisation per role (95% CI)")
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    files.append(out / "utilisation.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    # AI vs patrol: paired responses and coverage per hazard.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ai = _pooled(results, "response_ai_paired_s") / 60.0
    pa = _pooled(results, "response_patrol_paired_s") / 60.0
    if ai.size and pa.size:
        bins = np.logspace(
            np.log10(max(min(ai.min(), pa.min()), 0.1)), np.log10(max(ai.max(), pa.max()) + 1), 50
        )
        axes[0].hist(pa, bins=bins, alpha=0.6, label=f"manual patrol (mean {pa.mean():.0f} min)")
        axes[0].hist(ai, bins=bins, alpha=0.6, label=f"AI alert loop (mean {ai.mean():.1f} min)")
        axes[0].set_xscale("log")
    axes[0].set(
        xlabel="hazard onset -> worker on site (min, log)",
        ylabel="occurrences",
        title="Response, occurrences found by both",
    )
    axes[0].legend()
    hazards = [h for h, _ in cfg.hazards]
    x = np.arange(len(hazards))
    cov_ai = [(k.get(f"coverage_ai_{h}", {}).get("mean") or 0.0) for h in hazards]
    cov_pa = [(k.get(f"coverage_patrol_{h}", {}).get("mean") or 0.0) for h in hazards]
    axes[1].bar(x - 0.2, np.asarray(cov_pa) * 100, width=0.4, label="manual patrol")
    axes[1].bar(x + 0.2, np.asarray(cov_ai) * 100, width=0.4, label="AI alert loop")
    axes[1].set_xticks(x, hazards)
    axes[1].set(ylabel="occurrences found (%)", title="Coverage per hazard", ylim=(0, 105))
    axes[1].legend()
    fig.tight_layout()
    files.append(out / "ai_vs_patrol.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    files.append(out / "report.md")
    files[-1].write_text(run_markdown(cfg, doc, [f.name for f in files[:-1]]), encoding="utf-8")
    return files


def targets_markdown(doc: dict[str, Any]) -> str:
    """The targets table."""
    rows = [
        "| target | estimate (95% CI) | met | confidence | P(one period meets it) |",
        "|---|---|---|---|---|",
    ]
    for name in ("dispatch", "closure", "response_reduction"):
        tg = doc["targets"][name]
        p = tg.get("p_period_meets")
        period = f"{_fmt(p, digits=2)} ({p['period_days']:g} days)" if p else "n/a"
        rows.append(
            f"| {tg['target']} | {_fmt(tg['estimate'])} | {'yes' if tg['met'] else 'NO'} | "
            f"{tg['confidence']} | {period} |"
        )
    sr = doc["targets"]["response_reduction"].get("speed_ratio")
    rows.append("")
    rows.append(f"Speed ratio (patrol / AI mean response): {_fmt(sr, digits=2)}.")
    return "\n".join(rows)


def run_markdown(cfg: SimConfig, doc: dict[str, Any], images: Sequence[str]) -> str:
    """report.md of a run (STRESS-DES style run description included)."""
    r = doc["run"]
    k = doc["kpis"]
    lines = [
        f"# Simulation report: {cfg.name}",
        "",
        "## Targets",
        "",
        targets_markdown(doc),
        "",
        "## Run",
        "",
        f"- Replications: {r['replications']}, seed {r['seed']} ({r['rng']}).",
        f"- Run length: {r['days']:g} days, of which a warm-up of {r['warmup_days']:g} days is "
        f"discarded; alarms stop at day {r['days']:g} and open orders drain for "
        f"{r['drain_days']:g} more days.",
        f"- Alerts: {r['alerts']}; {r['cameras']} AI cameras, {r['workers']} people who can be "
        f"dispatched, {r['verifiers']} verifiers, policy `{r['policy']}`.",
        f"- Confidence intervals: {r['ci_method']}.",
        f"- Software: {', '.join(f'{n} {v}' for n, v in sorted(doc['meta']['versions'].items()))}.",
        f"- Config digest: `{doc['config_digest']}`.",
        "",
        "## Key figures (mean [95% CI] over replications)",
        "",
        "| KPI | value |",
        "|---|---|",
    ]
    for name, scale, unit in (
        ("dispatch_mean_s", 1, "s"),
        ("dispatch_p95_s", 1, "s"),
        ("response_mean_s", 1 / 60, "min"),
        ("response_p95_s", 1 / 60, "min"),
        ("closure_mean_s", 1 / 60, "min"),
        ("closure_p90_s", 1 / 60, "min"),
        ("closure_p95_s", 1 / 60, "min"),
        ("escalation_rate", 1, ""),
        ("open_at_end_of_drain", 1, "orders"),
        ("cancelled_on_clear", 1, "orders"),
        ("dispatch_within_sla", 1, ""),
        ("closure_within_sla", 1, ""),
        ("verify_wait_mean_s", 1, "s"),
        ("backlog_mean", 1, "orders"),
        ("backlog_at_end", 1, "orders"),
        ("request_closure_mean_s", 1 / 60, "min"),
        ("coverage_ai_short", 1, ""),
        ("coverage_patrol_short", 1, ""),
        ("coverage_ai_all", 1, ""),
        ("coverage_patrol_all", 1, ""),
        ("response_ai_paired_mean_s", 1 / 60, "min"),
        ("response_patrol_paired_mean_s", 1 / 60, "min"),
        ("alerts", 1, "per replication"),
        ("requests", 1, "per replication"),
    ):
        # The KPI's name without the unit suffix of its JSON key, and the unit shown.
        label = name.removesuffix("_s") if unit in ("s", "min") else name
        lines.append(
            f"| {label} ({unit}) | {_fmt(k.get(name), scale, 2)} |"
            if unit
            else f"| {label} | {_fmt(k.get(name), scale, 3)} |"
        )
    if doc.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in doc["warnings"]]
    lines += ["", "## Attainment by village, hazard and hour of the alarm", ""]
    lines += [by_group_table(k, by) for by in ("village", "hazard", "hour")]
    lines += ["", "## Parameters", "", "```json", _json(doc.get("parameters", {})), "```"]
    lines += ["", "## Plots", ""]
    lines += [f"![{Path(i).stem}]({i})" for i in images]
    lines += [
        "",
        "Definitions: dispatch = alarm -> first worker notified; response = hazard onset -> "
        "worker on site; closure = alarm -> case closed after the centre's review. The 80% "
        "target is judged on the reduction 1 - AI/patrol of the mean response over "
        "occurrences both find; short hazards (near_water) are often never found by "
        "patrol, shown as coverage. See docs/simulation.md.",
        "",
    ]
    return "\n".join(lines)


def write_sweep_report(
    out_dir: str | Path, scenario: str, name: str, rows: Sequence[dict[str, Any]], cfg: SimConfig
) -> list[Path]:
    """sweep.md (table) and sweep.png (SLA attainment vs the varied parameter)."""
    plt = _plt()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = [str(r["value"]) for r in rows]
    numeric = all(
        isinstance(r["value"], int | float) and not isinstance(r["value"], bool) for r in rows
    )
    # Numbers on a numeric axis (spaced by value); anything else as categories.
    x = np.array([float(r["value"]) for r in rows]) if numeric else np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    series = (
        ("dispatch", "P(dispatch <= target)"),
        ("closure", "P(closure <= target)"),
        ("response_reduction", "response reduction vs patrol"),
    )
    for key, label in series:
        # A value of 0.0 is a result, not a missing one (``x or nan`` dropped it).
        m = np.array([_num(r["targets"][key]["estimate"]["mean"]) for r in rows])
        lo = np.array([_num(r["targets"][key]["estimate"]["ci95"][0]) for r in rows])
        hi = np.array([_num(r["targets"][key]["estimate"]["ci95"][1]) for r in rows])
        ax.errorbar(
            x,
            m,
            yerr=[np.nan_to_num(m - lo), np.nan_to_num(hi - m)],
            marker="o",
            capsize=3,
            label=label,
        )
    ax.axhline(
        cfg.targets.attainment,
        color="red",
        ls="--",
        lw=1,
        label=f"attainment {cfg.targets.attainment:g}",
    )
    ax.axhline(
        cfg.targets.reduction,
        color="purple",
        ls=":",
        lw=1,
        label=f"reduction {cfg.targets.reduction:g}",
    )
    if not numeric:
        ax.set_xticks(x, labels)
    ax.set(xlabel=name, ylabel="estimate (95% CI)", title=f"{scenario}: SLA attainment vs {name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = out / "sweep.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    md = out / "sweep.md"
    md.write_text(
        f"# Sweep of {name} on {scenario}\n\n"
        + sweep_table(name, rows)
        + f"\n\n![sweep]({png.name})\n",
        encoding="utf-8",
    )
    return [md, png]


def sweep_table(name: str, rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table: one row per value with the three targets' estimates and verdicts."""
    out = [
        f"| {name} | P(dispatch <= target) | P(closure <= target) | response reduction | all met |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        tg = r["targets"]
        cells = [
            f"{_fmt(tg[k]['estimate'])}{'' if tg[k]['met'] else ' ✗'}"
            for k in ("dispatch", "closure", "response_reduction")
        ]
        ok = all(tg[k]["met"] for k in ("dispatch", "closure", "response_reduction"))
        out.append(f"| {r['value']} | " + " | ".join(cells) + f" | {'yes' if ok else 'no'} |")
    return "\n".join(out)
