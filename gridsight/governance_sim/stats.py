"""Statistics across replications: t-intervals, target verdicts, deterministic JSON.

Each replication gives one value per KPI; replications are independent, so the 95%
confidence interval of a KPI's mean is the Student t-interval over replications
(``mean ± t(0.975, n-1) s / sqrt(n)``). Values that are undefined in a replication (no
alarm of that kind, say) are NaN there and leave ``n`` smaller.
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


def kpi_bounds(name: str) -> tuple[float, float]:
    """The range a KPI can take: shares lie in [0, 1], the reduction is at most 1, and
    every other KPI (a count, a time, a ratio) is non-negative."""
    if name == "response_reduction":
        return (-math.inf, 1.0)
    share = (
        name.endswith(("_within_target", "_rate", "_prob"))
        or name.startswith(("coverage_", "utilisation_"))
        or name == "present_on_arrival"
    )
    return (0.0, 1.0) if share else (0.0, math.inf)


def t_interval(
    values: Sequence[float] | np.ndarray,
    level: float = 0.95,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> dict[str, Any]:
    """``{"mean", "ci95": [lo, hi], "n"}`` of the finite values (t-interval).

    The interval is clipped to ``bounds``, the range the KPI can take: with few
    replications a share near 1 would otherwise get an upper limit above 1.
    With one value the interval is ``[mean, mean]``'s honest counterpart: unknown (None).
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
    lo, hi = bounds
    return {"mean": mean, "ci95": [max(lo, mean - half), min(hi, mean + half)], "n": n}


def summarise(rows: Iterable[Mapping[str, float]]) -> dict[str, dict[str, Any]]:
    """Per-KPI t-intervals over replications (rows are each replication's KPI dict)."""
    rows = list(rows)
    names = sorted({k for r in rows for k in r})
    return {k: t_interval([r.get(k, math.nan) for r in rows], bounds=kpi_bounds(k)) for k in names}


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
