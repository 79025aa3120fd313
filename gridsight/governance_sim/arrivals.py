"""What arrives: hazard occurrences, the AI's alarms (real and false), residents' requests.

Everything here is generated up front with vectorised numpy from the replication's
named streams, before the SimPy model runs. Generating the occurrences first is what
lets the AI model and the manual-patrol baseline see *the same* occurrences (common
random numbers), and keeps per-event Python work out of the hot loop.

Rates vary by hour of day (and month, for seasonal hazards): the horizon is cut into
hours, each (camera, hazard) pair gets a Poisson count per hour with that hour's rate,
and onsets are uniform within the hour — a piecewise-constant non-homogeneous Poisson
process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridsight.governance_sim.params import DAY_S, HOUR_S, HazardParams, SimConfig

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


def _poisson_times(
    rate_per_hour: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Event times of independent piecewise-constant Poisson processes.

    Args:
        rate_per_hour: ``(k, n_hours)`` mean events per hour of each of ``k`` processes.
        rng: the stream to draw from.

    Returns:
        ``(times, process index)``, unsorted.
    """
    counts = rng.poisson(rate_per_hour)
    proc, hour = np.nonzero(counts)
    reps = counts[proc, hour]
    proc = np.repeat(proc, reps)
    hour = np.repeat(hour, reps)
    times = (hour + rng.random(hour.shape[0])) * HOUR_S
    return times, proc


def synthetic_occurrences(
    cfg: SimConfig, rng_occ: np.random.Generator, rng_det: np.random.Generator
) -> Occurrences:
    """Hazard occurrences at the AI cameras over the run, and whether/when each is alarmed.

    An occurrence is alarmed with the hazard's ``detect_prob``, ``detect_delay_s`` after
    onset, and only if it lasts at least that long (the rule's confirmation time).
    """
    n_hours = int(np.ceil(cfg.horizon.days * 24.0))
    watched = _watched_pairs(cfg)
    if not watched:
        empty = np.zeros(0)
        ints = np.zeros(0, dtype=np.int64)
        return Occurrences(empty, empty, ints, ints, empty)
    rows: list[np.ndarray] = []
    for _, _, hp in watched:
        rate = hp.rate_per_camera_day * cfg.rate_scale / 24.0
        rows.append(
            rate
            * hour_multipliers(hp.hour_profile, n_hours)
            * month_multipliers(hp.season, cfg.horizon.start_month, n_hours)
        )
    times, proc = _poisson_times(np.vstack(rows), rng_occ)
    pair_arr = np.asarray([(ci, hi) for ci, hi, _ in watched], dtype=np.int64)
    camera = pair_arr[proc, 0]
    hazard = pair_arr[proc, 1]
    duration = np.empty(times.shape[0])
    for hi, (_, hp) in enumerate(cfg.hazards):
        sel = np.flatnonzero(hazard == hi)
        duration[sel] = hp.duration.sample(rng_occ, sel.shape[0])
    order = np.argsort(times, kind="stable")
    times, camera, hazard, duration = times[order], camera[order], hazard[order], duration[order]
    return Occurrences(
        onset=times,
        end=times + duration,
        camera=camera,
        hazard=hazard,
        alarm=_alarm_times(cfg, times, duration, hazard, rng_det),
    )


def _alarm_times(
    cfg: SimConfig,
    onset: np.ndarray,
    duration: np.ndarray,
    hazard: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    delay = np.array([hp.detect_delay_s for _, hp in cfg.hazards])[hazard]
    prob = np.array([hp.detect_prob for _, hp in cfg.hazards])[hazard]
    seen = (rng.random(onset.shape[0]) < prob) & (duration >= delay)
    return np.where(seen, onset + delay, np.nan)


def false_alarms(
    cfg: SimConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False alarms: ``(time, camera, hazard)``.

    Their rate is set so that they make up ``false_alarm_fraction`` of all alarms:
    false rate = alarmed real rate x f / (1 - f), with the real alerts' hour profile.
    """
    f = cfg.false_alarm_fraction
    n_hours = int(np.ceil(cfg.horizon.days * 24.0))
    if f <= 0.0:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ratio = f / (1.0 - f) if f < 1.0 else 1.0
    watched = _watched_pairs(cfg)
    if not watched:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows: list[np.ndarray] = []
    for _, _, hp in watched:
        # With f == 1 every alarm is false (the M/M/c verification mode): the false
        # alarms then arrive at the real rate, unthinned by detection.
        base = hp.rate_per_camera_day if f >= 1.0 else hp.rate_per_camera_day * hp.detect_prob
        rows.append(
            base
            * cfg.rate_scale
            * ratio
            / 24.0
            * hour_multipliers(hp.hour_profile, n_hours)
            * month_multipliers(hp.season, cfg.horizon.start_month, n_hours)
        )
    times, proc = _poisson_times(np.vstack(rows), rng)
    pair_arr = np.asarray([(ci, hi) for ci, hi, _ in watched], dtype=np.int64)
    return times, pair_arr[proc, 0], pair_arr[proc, 1]


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


def residents_requests(cfg: SimConfig, rng: np.random.Generator) -> Requests:
    """Residents' QR-code and hotline requests, placed in grids by their micro-grid count."""
    n_hours = int(np.ceil(cfg.horizon.days * 24.0))
    grids = cfg.township.grids
    if not cfg.requests or not grids:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return Requests(z, zi, zi, z, z)
    rows = [
        rp.rate_per_day / 24.0 * hour_multipliers(rp.hour_profile, n_hours) for rp in cfg.requests
    ]
    times, stream = _poisson_times(np.vstack(rows), rng)
    weights = np.array([max(g.micro_grids, 1) for g in grids], dtype=np.float64)
    grid = np.asarray(rng.choice(len(grids), size=times.shape[0], p=weights / weights.sum()))
    cx = np.array([g.x_km for g in grids])[grid]
    cy = np.array([g.y_km for g in grids])[grid]
    rad = np.array([g.radius_km for g in grids])[grid] * np.sqrt(rng.random(times.shape[0]))
    ang = rng.random(times.shape[0]) * 2.0 * np.pi
    order = np.argsort(times, kind="stable")
    return Requests(
        time=times[order],
        stream=stream[order],
        grid=grid[order],
        x_km=(cx + rad * np.cos(ang))[order],
        y_km=(cy + rad * np.sin(ang))[order],
    )


def days_of(t: np.ndarray) -> np.ndarray:
    """Day index of each time."""
    return (t // DAY_S).astype(np.int64)
