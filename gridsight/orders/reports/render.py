"""Markdown and PNG charts of a periodic report (matplotlib, Agg: no display needed)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gridsight.orders.reports.periodic import Attainment, Report
from gridsight.orders.store_clock import stream_time_note

TITLES = {"daily": "Daily log", "weekly": "Weekly joint review", "monthly": "Monthly analysis"}


def _pct(a: Attainment) -> str:
    if a.share is None:
        return "n/a (no order decided)"
    lo, hi = a.ci95
    ci = f" (95% CI {lo:.0%}–{hi:.0%})" if lo is not None and hi is not None else ""
    return f"{a.share:.0%}{ci}, {a.met}/{a.n}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def _table(head: tuple[str, ...], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _charts(rep: Report, out: Path, stem: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[str] = []
    # Closure time against the target line.
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if rep.closure_min:
        hi = max(max(rep.closure_min), rep.close_target_min) * 1.1
        ax.hist(rep.closure_min, bins=30, range=(0, hi), color="#4a7ab5")
    ax.axvline(rep.close_target_min, color="#c0392b", linestyle="--",
               label=f"target {rep.close_target_min:g} min")  # fmt: skip
    ax.set_xlabel("alarm -> closed (minutes)")
    ax.set_ylabel("orders")
    ax.set_title(f"Closure time, {rep.label} ({len(rep.closure_min)} closed)")
    ax.legend()
    fig.tight_layout()
    name = f"{stem}-closure.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    made.append(name)
    # SLA attainment per hazard / kind with the Wilson intervals.
    kinds = [k for k in rep.dispatch_by_kind if rep.dispatch_by_kind[k].n or rep.close_by_kind[k].n]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for offset, (label, table) in enumerate(
        (("dispatch", rep.dispatch_by_kind), ("closure", rep.close_by_kind))
    ):
        xs: list[float] = []
        ys: list[float] = []
        lo_err: list[float] = []
        hi_err: list[float] = []
        for i, k in enumerate(kinds):
            a = table[k]
            share = a.share
            if share is None:
                continue
            low, high = a.ci95
            xs.append(i + (offset - 0.5) * 0.35)
            ys.append(share)
            lo_err.append(share - (low if low is not None else share))
            hi_err.append((high if high is not None else share) - share)
        ax.bar(xs, ys, width=0.35, yerr=[lo_err, hi_err], capsize=3, label=label)
    ax.set_xticks(range(len(kinds)), kinds, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share within target")
    ax.set_title(f"SLA attainment with 95% CIs, {rep.label}")
    ax.legend()
    fig.tight_layout()
    name = f"{stem}-sla.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    made.append(name)
    # Per-worker load (the 20 most notified).
    top = list(rep.workers.items())[:20]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.28 * len(top) + 1)))
    if top:
        names = [w for w, _ in top][::-1]
        ax.barh(names, [load.notified for _, load in top][::-1], label="notified")
        ax.barh(names, [load.resolved for _, load in top][::-1], label="resolved")
        ax.legend()
    ax.set_xlabel("orders")
    ax.set_title(f"Per-worker load, {rep.label}")
    fig.tight_layout()
    name = f"{stem}-workers.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    made.append(name)
    return made


def markdown(rep: Report, charts: list[str]) -> str:
    """The report's Markdown text (charts referenced by file name)."""
    zone = ZoneInfo(rep.timezone)
    day = datetime.fromtimestamp(rep.start, zone).strftime("%Y-%m-%d %H:%M")
    until = datetime.fromtimestamp(rep.end, zone).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"# {TITLES.get(rep.kind, rep.kind)} — {rep.township} {rep.label}",
        "",
        f"Orders created from {day} to {until} ({rep.timezone}).",
        "",
        *([f"> {stream_time_note(rep.stream_time, zone)}", ""] if rep.stream_time else []),
        f"- Orders: **{rep.orders}** ({_counts(rep.by_source)})",
        f"- States now: {_counts(rep.by_state)}",
        f"- Dispatch within {rep.dispatch_target_s:g} s: **{_pct(rep.dispatch)}**",
        f"- Closure within {rep.close_target_min:g} min: **{_pct(rep.close)}**",
        f"- Escalations: {rep.escalations}; SLA breaches told to the supervisor: {rep.breaches}",
        "",
        "SLA shares count orders whose clock was decided (met or breached); still-running "
        "clocks and void ones (rejected, duplicate, cancelled before dispatch) are left out. "
        "Intervals: Wilson score, 95%.",
        "",
        "## Orders per hazard / kind",
        "",
    ]
    rows = [
        (k, n, _pct(rep.dispatch_by_kind[k]), _pct(rep.close_by_kind[k]))
        for k, n in rep.by_kind.items()
    ]
    lines += _table(("kind", "orders", "dispatch SLA", "closure SLA"), rows)
    lines += ["", "## Orders per village", ""]
    lines += _table(("village", "orders"), list(rep.by_village.items()))
    lines += ["", "## Orders per grid (top 15)", ""]
    lines += _table(("grid", "orders"), list(rep.by_grid.items())[:15])
    lines += ["", "## Closure time", ""]
    if rep.closure_min:
        q = sorted(rep.closure_min)
        p90 = q[min(len(q) - 1, int(0.9 * len(q)))]
        within = sum(1 for m in q if m <= rep.close_target_min)
        lines.append(
            f"{len(q)} closed: median {statistics.median(q):.1f} min, p90 {p90:.1f} min, "
            f"{within} within the {rep.close_target_min:g}-minute line."
        )
    else:
        lines.append("No order was closed in this period.")
    if rep.dispatch_s:
        d = sorted(rep.dispatch_s)
        lines.append(
            f"Alarm to first notification: median {statistics.median(d):.1f} s, "
            f"max {d[-1]:.1f} s over {len(d)} dispatched orders."
        )
    lines += ["", f"![closure time]({charts[0]})", "", f"![SLA attainment]({charts[1]})", ""]
    lines += ["## Repeat locations", ""]
    if rep.repeats:
        lines += _table(
            ("camera / grid", "kind", "orders", "reopened"), [tuple(r) for r in rep.repeats[:20]]
        )
    else:
        lines.append("No place had more than one order or a reopening.")
    lines += ["", "## Per-worker load", ""]
    wrows = [
        (
            w,
            load.notified,
            load.acknowledged,
            load.timed_out,
            load.resolved,
            f"{statistics.median(load.ack_s):.0f} s" if load.ack_s else "-",
        )
        for w, load in list(rep.workers.items())[:30]
    ]
    lines += _table(
        ("worker", "notified", "acknowledged", "no ack in time", "resolved", "median ack"), wrows
    )
    lines += ["", f"![per-worker load]({charts[2]})", ""]
    return "\n".join(lines)


def write_report(rep: Report, out: Path) -> Path:
    """Write ``<out>/<kind>-<label>.md`` and its PNG charts; returns the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{rep.kind}-{rep.label}"
    charts = _charts(rep, out, stem)
    path = out / f"{stem}.md"
    path.write_text(markdown(rep, charts), encoding="utf-8")
    return path
