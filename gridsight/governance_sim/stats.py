"""Statistics across replications: t-intervals, target verdicts, deterministic JSON.

Each replication gives one value per KPI; replications are independent, so the 95%
confidence interval of a KPI's mean is the Student t-interval over replications
(``mean ± t(0.975, n-1) s / sqrt(n)``). Values that are undefined in a replication (no
alarm of that kind, say) are NaN there and leave ``n`` smaller.

Intervals are never clipped to the range a KPI can take: an interval that leaves it
(a share's upper limit above 1) says that the t-interval is not valid at this ``n``,
and clipping would hide that. Such intervals, and any with fewer than :data:`SMALL_N`
replications, carry a ``warning``.

Comparisons (:func:`paired_difference`) use the replications' common random numbers:
replication ``i`` of two scenarios sees the same occurrences, so the interval of the
mean of per-replication differences is usually far narrower than the unpaired one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

# Rounding of every float written to JSON: results must be byte-identical for a seed,
# and 6 decimals are far below any difference a planner acts on.
DECIMALS = 6
# Fewer replications than this: the t-interval's normality assumption is doubtful for
# shares near 0 or 1 and quantiles; the summary says so.
SMALL_N = 10


def kpi_bounds(name: str) -> tuple[float, float]:
    """The range a KPI can take: shares lie in [0, 1], the reduction is at most 1, and
    every other KPI (a count, a time, a ratio) is non-negative."""
    name = name.split("/")[0]  # dispatch_within_target/village/<id> is a share too
    if name == "response_reduction":
        return (-math.inf, 1.0)
    if name == "backlog_growth":
        return (-math.inf, math.inf)
    share = (
        name.endswith(("_within_target", "_within_sla", "_rate", "_prob", "_share"))
        or name.startswith(("coverage_", "utilisation_"))
        or name == "present_on_arrival"
    )
    return (0.0, 1.0) if share else (0.0, math.inf)


def t_interval(values: Sequence[float] | np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """``{"mean", "ci95": [lo, hi], "n"}`` of the finite values (t-interval, unclipped).

    With one value the interval is unknown (None).
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return {"mean": None, "ci95": [None, None], "n": 0}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "ci95": [None, None], "n": 1}
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci95": [mean - half, mean + half], "n": n}


def with_warning(est: dict[str, Any], bounds: tuple[float, float]) -> dict[str, Any]:
    """``est`` with a ``warning`` where its interval leaves ``bounds`` or ``n`` is small."""
    lo, hi = est["ci95"]
    n = est["n"]
    problems = []
    if 0 < n < SMALL_N:
        problems.append(f"only {n} replications")
    if lo is not None and (lo < bounds[0] - 1e-12 or hi > bounds[1] + 1e-12):
        problems.append(
            f"the t-interval leaves the KPI's range [{bounds[0]:g}, {bounds[1]:g}]: "
            "not valid at this n; run more replications"
        )
    return {**est, "warning": "; ".join(problems)} if problems else est


def summarise(rows: Iterable[Mapping[str, float]]) -> dict[str, dict[str, Any]]:
    """Per-KPI t-intervals over replications (rows are each replication's KPI dict)."""
    rows = list(rows)
    names = sorted({k for r in rows for k in r})
    return {
        k: with_warning(t_interval([r.get(k, math.nan) for r in rows]), kpi_bounds(k))
        for k in names
    }


def paired_difference(
    alt: Sequence[float], base: Sequence[float], level: float = 0.95
) -> dict[str, Any]:
    """Mean of per-replication differences ``alt - base`` and its t-interval (paired),
    with the unpaired (Welch) interval's half-width for comparison."""
    a = np.asarray(alt, dtype=np.float64)
    b = np.asarray(base, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    est = t_interval(a[ok] - b[ok], level)
    xa, xb = a[np.isfinite(a)], b[np.isfinite(b)]
    unpaired = math.nan
    if xa.size > 1 and xb.size > 1:
        va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
        se = math.sqrt(va + vb)
        if se > 0:
            dof = (va + vb) ** 2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))
            unpaired = float(stats.t.ppf(0.5 + level / 2.0, dof) * se)
        else:
            unpaired = 0.0
    lo, hi = est["ci95"]
    paired = (hi - lo) / 2.0 if lo is not None else math.nan
    return {**est, "half_width_paired": paired, "half_width_unpaired": unpaired}


def share_meeting(values: Sequence[float], threshold: float) -> dict[str, Any]:
    """Share of replications whose value reaches ``threshold``, with a Wilson 95% interval
    (the probability that one replication's period meets the target)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return {"mean": None, "ci95": [None, None], "n": 0}
    k = int((x >= threshold).sum())
    p = k / n
    z = float(stats.norm.ppf(0.975))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"mean": p, "ci95": [max(0.0, centre - half), min(1.0, centre + half)], "n": n}


def verdict(estimate: dict[str, Any], threshold: float) -> dict[str, Any]:
    """Target verdict: met on the estimate, and how sure (the CI against the threshold)."""
    mean = estimate["mean"]
    lo, hi = estimate["ci95"]
    met = mean is not None and mean >= threshold
    if lo is None or hi is None:
        sure = "unknown"
    elif lo >= threshold:
        sure = "met with 95% confidence"
    elif hi < threshold:
        sure = "not met with 95% confidence"
    else:
        sure = "borderline: the 95% CI contains the target"
    return {"met": bool(met), "confidence": sure}


def rounded(obj: Any) -> Any:
    """``obj`` with floats rounded to :data:`DECIMALS` and non-finite floats as None."""
    if isinstance(obj, float | np.floating):
        f = float(obj)
        if not math.isfinite(f):
            return None
        r = round(f, DECIMALS)
        return 0.0 if r == 0 else r
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Mapping):
        return {str(k): rounded(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded(v) for v in obj]
    return obj


def dumps(obj: Any) -> str:
    """Deterministic JSON text: sorted keys, rounded floats, trailing newline."""
    return json.dumps(rounded(obj), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
