"""The staffing answer, and the targets' sensitivity to the assumed inputs.

:func:`search_staff` finds the fewest verifiers, cadres per village and grid staff per
grid (optionally per village) at which every published target is met in at least a
stated share of the periods simulated (``probability``: the share of replications,
each a period of ``horizon.days``, whose attainment reaches the target). Every
candidate runs with the same seed, so all see the same hazards and requests (common
random numbers) and a difference between two candidates is the staffing's, not luck's.
The search goes one resource at a time, from the scenario's numbers downwards, finding
by bisection the smallest value that still meets every target with the others fixed
(coordinate descent; it takes the targets to get no worse with more staff, which the
common random numbers make hold up to the model's own interactions), and repeats
until nothing can be removed. The answer is then confirmed on fresh random numbers
(another seed, twice the replications); where the confirmation fails, the last
resource reduced is raised by one and confirmed again (up to three times).

:func:`tornado` runs each assumed input at a low and a high value (the others at the
scenario's) with common random numbers and reports how far each target's estimate
moves: the bars of a tornado plot, widest first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridsight.core.dispatch import PolicyRegistry
from gridsight.core.errors import SimulationError
from gridsight.governance_sim.experiment import results_document, run_replications
from gridsight.governance_sim.scenario import Scenario, build_sim_config, scenario_with_many

TARGETS = ("dispatch", "closure", "response_reduction")


@dataclass
class Evaluation:
    """One staffing candidate's result."""

    staff: dict[str, int]
    p_meets: dict[str, float]
    meets: bool
    estimates: dict[str, float | None] = field(default_factory=dict)
    note: str = ""


@dataclass
class StaffAnswer:
    """The search's answer and its trail."""

    staff: dict[str, int]
    confirmed: bool
    confirmation: Evaluation | None
    trail: list[Evaluation]


def _changes(staff: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    villages: dict[str, dict[str, int]] = {}
    for key, v in staff.items():
        if key.startswith("village:"):
            _, vid, what = key.split(":")
            villages.setdefault(vid, {})[what] = v
        else:
            out[key] = v
    if villages:
        out["staffing.villages"] = villages
    return out


def evaluate(
    sc: Scenario,
    town: Any,
    staff: dict[str, int],
    *,
    probability: float,
    replications: int,
    seed: int,
    days: float | None,
    registry: PolicyRegistry | None,
    workers: int = 1,
) -> Evaluation:
    """Run one candidate; it meets when every target's share of periods reaching it is
    at least ``probability``."""
    try:
        cfg = build_sim_config(scenario_with_many(sc, _changes(staff)), town, days=days)
    except SimulationError as exc:  # nobody on duty at some hour: cannot meet anything
        return Evaluation(dict(staff), dict.fromkeys(TARGETS, 0.0), False, note=str(exc))
    res = run_replications(cfg, seed, replications, registry=registry, workers=workers)
    doc = results_document(cfg, seed, res)
    p = {t: float(doc["targets"][t]["p_period_meets"]["mean"] or 0.0) for t in TARGETS}
    est = {t: doc["targets"][t]["estimate"]["mean"] for t in TARGETS}
    return Evaluation(dict(staff), p, all(v >= probability for v in p.values()), est)


def search_staff(
    sc: Scenario,
    town: Any,
    start: dict[str, int],
    *,
    probability: float = 0.9,
    replications: int = 10,
    seed: int = 1,
    days: float | None = None,
    registry: PolicyRegistry | None = None,
    workers: int = 1,
    confirm_replications: int | None = None,
    minimum: int = 0,
    on_step: Callable[[Evaluation], None] | None = None,
) -> StaffAnswer:
    """The fewest staff meeting every target (see the module docstring).

    Args:
        start: ``{dotted field: value}`` to search from, e.g. ``{"centre.verifiers": 4,
            "staffing.cadres_per_village": 2, "staffing.workers_per_grid": 2}``, or
            ``village:<id>:workers_per_grid`` / ``village:<id>:cadres`` keys; it must
            meet the targets.
        minimum: the smallest value tried (verifiers are kept at 1 or more).

    Raises:
        ValueError: the starting point does not meet the targets.
    """
    trail: list[Evaluation] = []

    def run(staff: dict[str, int], s: int = seed, n: int = replications) -> Evaluation:
        ev = evaluate(sc, town, staff, probability=probability, replications=n, seed=s,
                      days=days, registry=registry, workers=workers)  # fmt: skip
        trail.append(ev)
        if on_step is not None:
            on_step(ev)
        return ev

    first = run(dict(start))
    if not first.meets:
        raise ValueError(
            f"the starting staff {start} does not meet the targets "
            f"(share of periods meeting them: {first.p_meets}); start higher"
        )
    best = dict(start)
    accepted: list[str] = []  # resources in the order their removals were accepted
    changed = True
    while changed:
        changed = False
        for key in start:
            # Bisection on this resource, the others fixed: the smallest value that
            # meets, taking the targets as monotone in staff (checked by the runs).
            lo = max(minimum, 1 if key == "centre.verifiers" else 0)
            hi = best[key]
            while lo < hi:
                mid = (lo + hi) // 2
                if run({**best, key: mid}).meets:
                    hi = mid
                else:
                    lo = mid + 1
            if hi < best[key]:
                best = {**best, key: hi}
                accepted.append(key)
                changed = True
    confirmation = None
    confirmed = False
    n_conf = confirm_replications or 2 * replications
    for _ in range(3):
        confirmation = run(best, seed + 1_000_003, n_conf)
        if confirmation.meets:
            confirmed = True
            break
        if not accepted:
            break  # the starting staff itself fails on fresh random numbers
        last = accepted.pop()  # undo the last removal that was accepted
        best = {**best, last: best[last] + 1}
    return StaffAnswer(best, confirmed, confirmation, trail)


# Assumed inputs and their low/high values (dotted field, low, high, label).
DEFAULT_INPUTS: tuple[tuple[str, Any, Any, str], ...] = (
    ("alerts.rate_scale", 0.7, 1.3, "alert rate x0.7 / x1.3"),
    ("alerts.false_alarm_fraction", 0.1, 0.35, "false-alarm share 0.10 / 0.35"),
    ("dispatch.p_no_ack", 0.0, 0.15, "no acknowledgement 0 / 15%"),
    ("dispatch.decision_s", 0.0, 10.0, "order -> notification 0 / 10 s"),
    ("travel.cv", 0.0, 0.5, "travel-time cv 0 / 0.5"),
    ("travel.on_site_s", 0.0, 180.0, "time to find the spot 0 / 180 s"),
    ("field.linger_min", 0.0, 60.0, "stay at the last job 0 / 60 min"),
)


def scaled_dist(sc: Scenario, dotted: str, factor: float) -> dict[str, Any]:
    """A distribution field of ``sc`` with its mean times ``factor``."""
    node: Any = sc
    for part in dotted.split("."):
        node = getattr(node, part)
    d = node.model_dump()
    d["mean"] = d["mean"] * factor
    return d


def tornado(
    sc: Scenario,
    town: Any,
    inputs: Sequence[tuple[str, Any, Any, str]] | None = None,
    *,
    replications: int = 10,
    seed: int = 1,
    days: float | None = None,
    registry: PolicyRegistry | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Each target's estimate at each input's low and high value (common random
    numbers), and the baseline; rows sorted by the widest swing of any target."""
    if inputs is None:
        inputs = [
            *DEFAULT_INPUTS,
            ("centre.verify_s", scaled_dist(sc, "centre.verify_s", 0.6),
             scaled_dist(sc, "centre.verify_s", 1.6), "verification time x0.6 / x1.6"),
            ("dispatch.ack_s", scaled_dist(sc, "dispatch.ack_s", 0.5),
             scaled_dist(sc, "dispatch.ack_s", 2.0), "acknowledgement time x0.5 / x2"),
        ]  # fmt: skip

    def est(changes: dict[str, Any]) -> dict[str, float | None]:
        cfg = build_sim_config(scenario_with_many(sc, changes), town, days=days)
        res = run_replications(cfg, seed, replications, registry=registry, workers=workers)
        doc = results_document(cfg, seed, res)
        return {t: doc["targets"][t]["estimate"]["mean"] for t in TARGETS}

    # Every value is checked before anything runs.
    for path, lo, hi, _ in inputs:
        for v in (lo, hi):
            build_sim_config(scenario_with_many(sc, {path: v}), town, days=days)
    base = est({})
    rows: list[dict[str, Any]] = []
    for path, lo, hi, label in inputs:
        low, high = est({path: lo}), est({path: hi})
        swing = max(abs((high[t] or 0.0) - (low[t] or 0.0)) for t in TARGETS)
        rows.append({"input": path, "label": label, "low": low, "high": high, "swing": swing})
    rows.sort(key=lambda r: -float(r["swing"]))
    return {"baseline": base, "rows": rows, "replications": replications, "seed": seed}


def write_tornado_png(path: Any, doc: dict[str, Any], thresholds: dict[str, float]) -> None:
    """One panel per target: a bar per input from its low to its high value's estimate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = doc["rows"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 0.5 * len(rows) + 2), sharey=True)
    labels = [r["label"] for r in rows]
    y = list(range(len(rows)))[::-1]
    for ax, t in zip(axes, TARGETS, strict=True):
        base = doc["baseline"][t] or 0.0
        for yi, r in zip(y, rows, strict=True):
            lo, hi = r["low"][t], r["high"][t]
            if lo is None or hi is None:
                continue
            ax.barh(yi, lo - base, left=base, color="tab:blue", height=0.6)
            ax.barh(yi, hi - base, left=base, color="tab:orange", height=0.6)
        ax.axvline(base, color="black", lw=1)
        ax.axvline(thresholds[t], color="red", ls="--", lw=1, label=f"target {thresholds[t]:g}")
        ax.set(title=t, xlabel="estimate (blue: low value, orange: high value)")
        ax.legend(fontsize=8)
    axes[0].set_yticks(y, labels)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
