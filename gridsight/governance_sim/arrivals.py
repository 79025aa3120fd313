"""What arrives: hazard occurrences, the AI's alarms (real and false), residents' requests.

Everything here is generated up front with vectorised numpy from the replication's
named streams, before the SimPy model runs. Generating the occurrences first is what
lets the AI model and the manual-patrol baseline see *the same* occurrences (common
random numbers), and keeps per-event Python work out of the hot loop.

Rates vary by hour of day (and month, for seasonal hazards): a piecewise-constant
non-homogeneous Poisson process per (camera, hazard) pair and per request kind, drawn
by thinning a marked Poisson process (:func:`marked_poisson`) from the pair's own
substream (``streams``). Points of the (time, mark) plane are drawn in layers of fixed
mark bands; a point is an event where its mark is below the rate at its time. The
events of a lower rate are therefore a subset of those of a higher rate, and a pair's
events do not depend on any other pair: a what-if that adds cameras, scales a rate or
changes a profile keeps the common random numbers of everything it does not change.
Each point carries its own uniforms (duration, detection, placement), so a kept event
keeps its duration and detection whatever else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gridsight.governance_sim.params import DAY_S, HOUR_S, HazardParams, SimConfig
from gridsight.governance_sim.streams import Streams

MONTH_DAYS = 365.25 / 12.0


@dataclass(frozen=True, slots=True)
class Occurrences:
    """Hazard occurrences (struct of arrays, sorted by onset).

    Attributes:
        onset: seconds from the start of the run.
        end: when the hazard ends if nobody intervenes.
        camera: index into ``township.cameras``.
        hazard: index into ``config.hazards``.
        alarm: alarm time, NaN where the AI does not raise one.
    """

    onset: np.ndarray
    end: np.ndarray
    camera: np.ndarray
    hazard: np.ndarray
    alarm: np.ndarray

    def __len__(self) -> int:
        return int(self.onset.shape[0])


@dataclass(frozen=True, slots=True)
class Alarms:
    """Alarms the command centre receives, sorted by time.

    Attributes:
        time: alarm time.
        camera: camera index.
        hazard: hazard index.
        occurrence: index into :class:`Occurrences`, -1 for a false alarm.
    """

    time: np.ndarray
    camera: np.ndarray
    hazard: np.ndarray
    occurrence: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])


@dataclass(frozen=True, slots=True)
class Requests:
    """Residents' requests, sorted by time: when, which stream, which grid, where."""

    time: np.ndarray
    stream: np.ndarray
    grid: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])


def hour_multipliers(profile: tuple[float, ...], n_hours: int) -> np.ndarray:
    """The 24-hour profile, normalised to mean 1, repeated over ``n_hours`` hours."""
    p = np.asarray(profile, dtype=np.float64)
    p = p / p.mean() if p.mean() > 0 else np.ones(24)
    return np.resize(p, n_hours)


def month_multipliers(season: tuple[float, ...], start_month: int, n_hours: int) -> np.ndarray:
    """Monthly multiplier of each hour of the run (months of 365.25/12 days)."""
    month = (start_month - 1 + (np.arange(n_hours) / 24.0 // MONTH_DAYS).astype(np.int64)) % 12
    return np.asarray(season, dtype=np.float64)[month]


def _watched_pairs(cfg: SimConfig) -> list[tuple[int, int, HazardParams]]:
    """``(camera index, hazard index, hazard)`` of every simulated hazard an AI camera watches."""
    hazard_ids = [h for h, _ in cfg.hazards]
    pairs: list[tuple[int, int, HazardParams]] = []
    for ci, cam in enumerate(cfg.township.cameras):
        for hz in cam.hazards:
            if hz in hazard_ids:
                hi = hazard_ids.index(hz)
                pairs.append((ci, hi, cfg.hazards[hi][1]))
    return pairs


# Mark bands of the thinning layers, events per hour: layer 0 covers [0, BAND0), layer
# j >= 1 covers [BAND0 2^(j-1), BAND0 2^j). A pair draws as many layers as its peak
# rate needs; a higher peak only appends layers, so the earlier ones keep their draws.
BAND0_PER_HOUR = 2.0**-6


@dataclass(frozen=True, slots=True)
class Points:
    """Events of one thinned process: times (s) and per-event uniforms ``(n, k)``."""

    time: np.ndarray
    u: np.ndarray
    rng_values: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])


def marked_poisson(
    rate_per_hour: np.ndarray,
    rng: np.random.Generator,
    uniforms: int = 0,
    dist: Any = None,
) -> Points:
    """A non-homogeneous Poisson process with a piecewise-constant rate, by thinning.

    Args:
        rate_per_hour: mean events per hour of each hour of the run.
        rng: the process's own substream.
        uniforms: uniforms drawn per candidate point (kept with the events).
        dist: a :class:`~gridsight.governance_sim.params.Dist` drawn once per candidate
            point (kept with the events: e.g. the hazard's duration), or None.

    Returns:
        The events, sorted by time.
    """
    n_hours = rate_per_hour.shape[0]
    peak = float(rate_per_hour.max()) if n_hours else 0.0
    times: list[np.ndarray] = []
    us: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo, hi = 0.0, BAND0_PER_HOUR
    while peak > 0.0:
        n = int(rng.poisson((hi - lo) * n_hours))
        t = rng.random(n) * n_hours  # hours
        mark = lo + rng.random(n) * (hi - lo)
        u = rng.random((n, uniforms))
        v = dist.sample(rng, n) if dist is not None else np.zeros(n)
        keep = mark < rate_per_hour[np.minimum(t.astype(np.int64), n_hours - 1)]
        times.append(t[keep] * HOUR_S)
        us.append(u[keep])
        vals.append(v[keep])
        if hi >= peak:
            break
        lo, hi = hi, hi * 2.0
    if not times:
        return Points(np.zeros(0), np.zeros((0, uniforms)), np.zeros(0))
    time = np.concatenate(times)
    order = np.argsort(time, kind="stable")
    return Points(time[order], np.concatenate(us)[order], np.concatenate(vals)[order])


def _pair_rates(cfg: SimConfig, hp: HazardParams, n_hours: int) -> np.ndarray:
    """Real occurrences per hour of one watched (camera, hazard) pair."""
    return (
        hp.rate_per_camera_day
        * cfg.rate_scale
        / 24.0
        * hour_multipliers(hp.hour_profile, n_hours)
        * month_multipliers(hp.season, cfg.horizon.start_month, n_hours)
    )


def synthetic_occurrences(cfg: SimConfig, streams: Streams) -> Occurrences:
    """Hazard occurrences at the AI cameras over the run, and whether/when each is alarmed.

    Each (camera, hazard) pair draws from its substream ``occurrences/<camera>/<hazard>``
    its onsets, durations and detection uniforms. An occurrence is alarmed with the
    hazard's ``detect_prob``, ``detect_delay_s`` after onset, and only if it lasts at
    least that long (the rule's confirmation time).
    """
    n_hours = int(np.ceil(cfg.horizon.days * 24.0))
    watched = _watched_pairs(cfg)
    onset: list[np.ndarray] = []
    dur: list[np.ndarray] = []
    det: list[np.ndarray] = []
    cams: list[np.ndarray] = []
    hzs: list[np.ndarray] = []
    cameras = cfg.township.cameras
    for ci, hi, hp in watched:
        name = f"occurrences/{cameras[ci].id}/{cfg.hazards[hi][0]}"
        pts = marked_poisson(_pair_rates(cfg, hp, n_hours), streams.sub(name), 1, hp.duration)
        onset.append(pts.time)
        dur.append(pts.rng_values)
        det.append(pts.u[:, 0])
        cams.append(np.full(len(pts), ci, dtype=np.int64))
        hzs.append(np.full(len(pts), hi, dtype=np.int64))
    if not onset:
        empty = np.zeros(0)
        ints = np.zeros(0, dtype=np.int64)
        return Occurrences(empty, empty, ints, ints, empty)
    times = np.concatenate(onset)
    order = np.lexsort((np.concatenate(hzs), np.concatenate(cams), times))
    times = times[order]
    camera = np.concatenate(cams)[order]
    hazard = np.concatenate(hzs)[order]
    duration = np.concatenate(dur)[order]
    u_det = np.concatenate(det)[order]
    return Occurrences(
        onset=times,
        end=times + duration,
        camera=camera,
        hazard=hazard,
        alarm=_alarm_times(cfg, times, duration, hazard, u_det),
    )


def _alarm_times(
    cfg: SimConfig,
    onset: np.ndarray,
    duration: np.ndarray,
    hazard: np.ndarray,
    u_detect: np.ndarray,
) -> np.ndarray:
    delay = np.array([hp.detect_delay_s for _, hp in cfg.hazards])[hazard]
    prob = np.array([hp.detect_prob for _, hp in cfg.hazards])[hazard]
    seen = (u_detect < prob) & (duration >= delay)
    return np.where(seen, onset + delay, np.nan)


def false_alarms(cfg: SimConfig, streams: Streams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False alarms: ``(time, camera, hazard)``, each pair from ``false_alarms/<camera>/<hazard>``.

    Their rate is set so that they make up ``false_alarm_fraction`` of all alarms:
    false rate = alarmed real rate x f / (1 - f), with the real alerts' hour profile.
    """
    f = cfg.false_alarm_fraction
    n_hours = int(np.ceil(cfg.horizon.days * 24.0))
    none = np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    watched = _watched_pairs(cfg)
    if f <= 0.0 or not watched:
        return none
    ratio = f / (1.0 - f) if f < 1.0 else 1.0
    times: list[np.ndarray] = []
    cams: list[np.ndarray] = []
    hzs: list[np.ndarray] = []
    cameras = cfg.township.cameras
    for ci, hi, hp in watched:
        # With f == 1 every alarm is false (the M/M/c verification mode): the false
        # alarms then arrive at the real rate, unthinned by detection.
        base = 1.0 if f >= 1.0 else hp.detect_prob
        rate = _pair_rates(cfg, hp, n_hours) * base * ratio
        name = f"false_alarms/{cameras[ci].id}/{cfg.hazards[hi][0]}"
        pts = marked_poisson(rate, streams.sub(name))
        times.append(pts.time)
        cams.append(np.full(len(pts), ci, dtype=np.int64))
        hzs.append(np.full(len(pts), hi, dtype=np.int64))
    return np.concatenate(times), np.concatenate(cams), np.concatenate(hzs)


def merge_alarms(
    occ: Occurrences,
    fa: tuple[np.ndarray, np.ndarray, np.ndarray],
    end_s: float,
    real_alarms: bool = True,
) -> Alarms:
    """Real alarms and false alarms before ``end_s``, sorted by time (ties: real first).

    Args:
        occ: the occurrences (their alarm times are the real alarms).
        fa: the false alarms ``(time, camera, hazard)``.
        end_s: alarms from this time on are dropped.
        real_alarms: False drops the real alarms (every alarm false: the M/M/c mode).
    """
    real = np.flatnonzero(~np.isnan(occ.alarm)) if real_alarms else np.zeros(0, dtype=np.int64)
    time = np.concatenate([occ.alarm[real], fa[0]])
    camera = np.concatenate([occ.camera[real], fa[1]])
    hazard = np.concatenate([occ.hazard[real], fa[2]])
    occurrence = np.concatenate([real, np.full(fa[0].shape[0], -1, dtype=np.int64)])
    keep = time < end_s
    time, camera, hazard, occurrence = time[keep], camera[keep], hazard[keep], occurrence[keep]
    order = np.lexsort((occurrence < 0, time))
    return Alarms(time[order], camera[order], hazard[order], occurrence[order])


def residents_requests(cfg: SimConfig, streams: Streams) -> Requests:
    """Residents' QR-code and hotline requests, each kind from ``requests/<kind>``.

    A request is placed in a grid with probability proportional to the grid's
    ``weight`` (its micro-grid count unless the scenario gives households), then at a
    uniform point of the grid's disc; the placement uniforms belong to the request, so
    the same requests land in the same places whatever the staffing.
    """
    n_hours = int(np.ceil(cfg.horizon.days * 24.0))
    grids = cfg.township.grids
    if not cfg.requests or not grids:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return Requests(z, zi, zi, z, z)
    weights = np.array([max(g.weight, 0.0) for g in grids], dtype=np.float64)
    cum = np.cumsum(weights / weights.sum())
    times: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    us: list[np.ndarray] = []
    for si, rp in enumerate(cfg.requests):
        rate = rp.rate_per_day / 24.0 * hour_multipliers(rp.hour_profile, n_hours)
        pts = marked_poisson(rate, streams.sub(f"requests/{rp.kind}"), 3)
        times.append(pts.time)
        kinds.append(np.full(len(pts), si, dtype=np.int64))
        us.append(pts.u)
    time = np.concatenate(times)
    order = np.argsort(time, kind="stable")
    time = time[order]
    stream = np.concatenate(kinds)[order]
    u = np.concatenate(us)[order]
    grid = np.minimum(np.searchsorted(cum, u[:, 0], side="right"), len(grids) - 1)
    cx = np.array([g.x_km for g in grids])[grid]
    cy = np.array([g.y_km for g in grids])[grid]
    rad = np.array([g.radius_km for g in grids])[grid] * np.sqrt(u[:, 1])
    ang = u[:, 2] * 2.0 * np.pi
    return Requests(
        time=time,
        stream=stream,
        grid=grid.astype(np.int64),
        x_km=cx + rad * np.cos(ang),
        y_km=cy + rad * np.sin(ang),
    )


def days_of(t: np.ndarray) -> np.ndarray:
    """Day index of each time."""
    return (t // DAY_S).astype(np.int64)
