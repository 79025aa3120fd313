"""Calibration and validation from the live work-order store.

``gridsight sim calibrate --db URL --since --until --out scenario.yaml`` reads what the
live service recorded (engine events, work orders and their transitions; the reading is
done by the command, so the simulator does not import the order service) into
:class:`Observed`, and :func:`calibrate` fits:

* alarm rates per camera x hazard (events per camera-day, Poisson 95% interval) and per
  hour of day (local time), the false-alarm share (orders rejected by an operator), and
  the occurrence rate per hazard the scenario needs (real alarms / ``detect_prob``);
* residents' requests per kind per day;
* verification (new -> verified by an operator), acknowledgement (dispatched ->
  acknowledged), travel (acknowledged -> on site), handling (on site -> resolved, per
  hazard, less the scenario's report time) and review (resolved -> closed) times, each
  as a lognormal (mean, cv) with a Kolmogorov–Smirnov goodness of fit.

The scenario written is the base scenario with the fitted values put in; the report
(JSON) holds every estimate with its interval and fit. What cannot be read from the
store stays as it was and is listed: detection probability (a missed hazard leaves no
record), hazard durations (the store sees a hazard end when a worker clears it),
travel distances (the roster's positions are not kept per trip).

:func:`observed_kpis` gives the store's own attainment and times over the window, which
``gridsight sim validate`` puts beside the simulated ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats

from gridsight.core.errors import DataError
from gridsight.governance_sim.stats import t_interval

DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class Observed:
    """What the store recorded in ``[since, until)`` (epoch seconds).

    Attributes:
        since: start of the window.
        until: end of the window.
        timezone: IANA zone of the township (hours of day are local).
        events: ``(camera, hazard, started_at, order state or "")`` of every engine
            event that started in the window.
        orders: one dict per order created in the window: ``source``, ``kind``,
            ``state``, ``created_at``, ``verified_at``, ``verified_by`` (``system`` or
            ``operator``), ``dispatched_at``, ``acknowledged_at``, ``on_site_at``,
            ``resolved_at``, ``closed_at`` (None where it did not happen).
    """

    since: float
    until: float
    timezone: str
    events: list[tuple[str, str, float, str]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)

    @property
    def days(self) -> float:
        """Length of the window in days."""
        return (self.until - self.since) / DAY_S


def poisson_rate(count: int, exposure: float) -> dict[str, Any]:
    """Rate ``count / exposure`` with its exact (Garwood) 95% interval."""
    lo = stats.chi2.ppf(0.025, 2 * count) / 2 if count > 0 else 0.0
    hi = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    return {
        "mean": count / exposure,
        "ci95": [float(lo) / exposure, float(hi) / exposure],
        "n": count,
    }


def fit_lognormal(values: Sequence[float | None]) -> dict[str, Any] | None:
    """Lognormal (mean, cv) by the moments of the logs, its mean's 95% interval and a
    Kolmogorov–Smirnov test of the fit; None with fewer than 5 positive values."""
    x = np.asarray([v for v in values if v is not None and v > 0], dtype=np.float64)
    if x.size < 5:
        return None
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std(ddof=1))
    mean = math.exp(mu + sigma * sigma / 2)
    cv = math.sqrt(math.expm1(sigma * sigma))
    ks = stats.kstest(x, "lognorm", args=(sigma, 0, math.exp(mu))) if sigma > 0 else None
    return {
        "dist": "lognormal",
        "mean": mean,
        "cv": cv,
        "n": int(x.size),
        "sample_mean": t_interval(x),
        "ks_statistic": None if ks is None else float(ks.statistic),
        "ks_p": None if ks is None else float(ks.pvalue),
    }


def _hour(t: float, zone: ZoneInfo) -> int:
    return datetime.fromtimestamp(t, zone).hour


def _span(o: dict[str, Any], a: str, b: str) -> float | None:
    if o.get(a) is None or o.get(b) is None:
        return None
    return float(o[b]) - float(o[a])


def calibrate(
    obs: Observed, base: dict[str, Any], cameras: dict[str, tuple[str, ...]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the scenario's inputs to what the store recorded.

    Args:
        obs: the store's records over the window.
        base: the base scenario as a dict (``Scenario.model_dump()``).
        cameras: ``{camera id: hazards it watches}`` of the township.

    Returns:
        ``(scenario dict with the fitted values, report)``.

    Raises:
        DataError: the window is empty or holds no events.
    """
    if obs.until <= obs.since:
        raise DataError(f"calibrate: --until must be after --since (got {obs.since}..{obs.until})")
    if not obs.events:
        raise DataError("calibrate: the store has no engine events in the window")
    zone = ZoneInfo(obs.timezone)
    days = obs.days
    sc = {k: v for k, v in base.items()}
    report: dict[str, Any] = {
        "window": {"since": obs.since, "until": obs.until, "days": days},
        "events": len(obs.events),
        "orders": len(obs.orders),
        "kept_from_base": [
            "hazards.*.detect_prob (a missed hazard leaves no record)",
            "hazards.*.duration_min (the store sees hazards end when a worker clears them)",
            "township travel speeds and detour (positions per trip are not stored)",
        ],
    }
    # Alarms per camera x hazard, and per hazard and hour.
    per_pair: dict[str, Any] = {}
    hazards = sorted({h for hs in cameras.values() for h in hs})
    for cam, hs in sorted(cameras.items()):
        for h in hs:
            n = sum(1 for e in obs.events if e[0] == cam and e[1] == h)
            per_pair[f"{cam}/{h}"] = poisson_rate(n, days)
    report["alarms_per_camera_day"] = per_pair
    rejected = sum(1 for e in obs.events if e[3] == "rejected")
    fa = rejected / len(obs.events)
    report["false_alarm_fraction"] = {**poisson_rate(rejected, len(obs.events)), "mean": fa}
    sc["alerts"] = {**sc.get("alerts", {}), "false_alarm_fraction": fa}
    hz_out: dict[str, Any] = {}
    new_hazards = {k: dict(v) for k, v in sc.get("hazards", {}).items()}
    for h in hazards:
        watching = sum(1 for hs in cameras.values() if h in hs)
        real = [e for e in obs.events if e[1] == h and e[3] != "rejected"]
        rate = poisson_rate(len(real), watching * days)
        counts = np.bincount([_hour(e[2], zone) for e in real], minlength=24).astype(float)
        profile = (counts + 0.5) / (counts + 0.5).mean()  # +0.5: no hour is impossible
        entry = new_hazards.setdefault(h, {})
        p = float(entry.get("detect_prob", 1.0)) or 1.0
        entry["rate_per_camera_day"] = rate["mean"] / p
        entry["hour_profile"] = [round(float(v), 4) for v in profile]
        entry["season"] = [1.0] * 12  # one window cannot show a season
        handling = fit_lognormal(
            [
                _span(o, "on_site_at", "resolved_at")
                for o in obs.orders
                if o["source"] == "camera" and o["kind"] == h
            ]
        )
        report_min = float(sc.get("field", {}).get("report_min", {}).get("mean", 0.0))
        if handling is not None:
            entry["handling_min"] = {
                "dist": "lognormal",
                "mean": max(handling["mean"] / 60.0 - report_min, 0.1),
                "cv": handling["cv"],
            }
        hz_out[h] = {
            "real_alarms_per_camera_day": rate,
            "rate_per_camera_day": rate["mean"] / p,
            "detect_prob_assumed": p,
            "hour_counts": counts.astype(int).tolist(),
            "handling_s": handling,
        }
    sc["hazards"] = new_hazards
    report["hazards"] = hz_out
    # Residents' requests per kind.
    req_out: dict[str, Any] = {}
    new_req = {k: dict(v) for k, v in sc.get("requests", {}).items()}
    for kind in sorted({o["kind"] for o in obs.orders if o["source"] != "camera"}):
        n = sum(1 for o in obs.orders if o["source"] != "camera" and o["kind"] == kind)
        req_out[kind] = poisson_rate(n, days)
        if kind in new_req:
            new_req[kind]["rate_per_day"] = req_out[kind]["mean"]
    sc["requests"] = new_req
    report["requests_per_day"] = req_out
    # Times of the loop.
    cam_orders = [o for o in obs.orders if o["source"] == "camera"]
    fits = {
        "verify_s": fit_lognormal(
            [
                _span(o, "created_at", "verified_at")
                for o in cam_orders
                if o["verified_by"] == "operator"
            ]
        ),
        "ack_s": fit_lognormal([_span(o, "dispatched_at", "acknowledged_at") for o in obs.orders]),
        "travel_s": fit_lognormal([_span(o, "acknowledged_at", "on_site_at") for o in obs.orders]),
        "review_s": fit_lognormal([_span(o, "resolved_at", "closed_at") for o in obs.orders]),
    }
    report["times"] = fits
    centre = dict(sc.get("centre", {}))
    if fits["verify_s"] is not None:
        centre["verify_s"] = _dist(fits["verify_s"], 1.0)
    if fits["review_s"] is not None:
        centre["review_min"] = _dist(fits["review_s"], 60.0)
    sc["centre"] = centre
    dispatch = dict(sc.get("dispatch", {}))
    if fits["ack_s"] is not None:
        dispatch["ack_s"] = _dist(fits["ack_s"], 1.0)
    sc["dispatch"] = dispatch
    if fits["travel_s"] is not None:
        sc["travel"] = {**sc.get("travel", {}), "cv": min(fits["travel_s"]["cv"], 2.0)}
    return sc, report


def _dist(fit: dict[str, Any], unit_s: float) -> dict[str, Any]:
    return {"dist": "lognormal", "mean": fit["mean"] / unit_s, "cv": fit["cv"]}


def _wilson(k: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"mean": None, "ci95": [None, None], "n": 0}
    p = k / n
    z = 1.959963984540054
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"mean": p, "ci95": [max(0.0, c - h), min(1.0, c + h)], "n": n}


def observed_kpis(obs: Observed, dispatch_s: float, closure_s: float) -> dict[str, Any]:
    """The store's own KPIs over the window, for real camera alarms (not rejected):
    attainment of both targets (orders still open count as misses; Wilson intervals)
    and mean dispatch and closure times (t-intervals over orders)."""
    real = [o for o in obs.orders if o["source"] == "camera" and o["state"] != "rejected"]
    d = [_span(o, "created_at", "dispatched_at") for o in real]
    c = [_span(o, "created_at", "closed_at") for o in real]
    n = len(real)
    return {
        "dispatch_within_target": _wilson(
            sum(1 for x in d if x is not None and x <= dispatch_s), n
        ),
        "closure_within_target": _wilson(sum(1 for x in c if x is not None and x <= closure_s), n),
        "dispatch_mean_s": t_interval([x for x in d if x is not None]),
        "closure_mean_s": t_interval([x for x in c if x is not None]),
        "real_alerts_per_day": {"mean": n / obs.days, "ci95": [None, None], "n": n},
    }
