"""The manual-patrol baseline, run on the same hazard occurrences as the AI model.

Without cameras a hazard is found only when (a) the grid's patrol passes the spot while
it lasts, or (b) a resident reports it and the 12345 / linkage forwarding brings a
worker there. Patrol rounds go through each grid ``rounds_per_day`` times within the
patrol window; a round takes ``round_s`` and passes each camera's spot at a fixed
fraction of the round (the route), with the round's start drawn at random within its
slot. The baseline assumes a free worker for every found hazard — generous to patrol,
so the AI's measured advantage is if anything understated.

Response (onset -> a worker on site) is the patrol pass time, or the reporter's call
plus forwarding plus travel, whichever is first; hazards neither passed nor reported
while present are never found, and that coverage is reported per hazard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gridsight.governance_sim.arrivals import Occurrences
from gridsight.governance_sim.params import DAY_S, HOUR_S, SimConfig


@dataclass(frozen=True, slots=True)
class PatrolOutcome:
    """Per occurrence: whether the baseline finds it, and its response time (NaN if not)."""

    found: np.ndarray
    response: np.ndarray
    by_patrol: np.ndarray


def patrol_pass_times(cfg: SimConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """Sorted times at which the patrol passes each camera's spot, over the whole run."""
    p = cfg.patrol
    days = math.ceil(cfg.horizon.days + cfg.horizon.drain_days) + 1
    cams = cfg.township.cameras
    grid_index = {g.id: i for i, g in enumerate(cfg.township.grids)}
    k = max(round(p.rounds_per_day), 0)
    # The route fixes where in a round each spot is passed; draw it once per camera.
    route_frac = rng.random(len(cams))
    if k == 0:
        return [np.zeros(0) for _ in cams]
    span = max((p.window[1] - p.window[0]) % 24.0 or 24.0, 1e-9) * HOUR_S
    slot = span / k
    slack = max(slot - p.round_s, 0.0)
    # Rounds belong to grids: cameras of one grid share their patrol's round starts.
    starts = (
        np.arange(days)[:, None] * DAY_S + p.window[0] * HOUR_S + np.arange(k)[None, :] * slot
    ).ravel()
    n_grids = max(len(cfg.township.grids), 1)
    offsets = rng.random((n_grids, starts.shape[0])) * slack
    out: list[np.ndarray] = []
    for ci, cam in enumerate(cams):
        gi = grid_index.get(cam.grid, 0)
        t = starts + offsets[gi] + route_frac[ci] * min(p.round_s, slot)
        out.append(t)
    return out


def run_patrol(cfg: SimConfig, occ: Occurrences, rng: np.random.Generator) -> PatrolOutcome:
    """The baseline's finding and response for every occurrence (vectorised per camera)."""
    n = len(occ)
    passes = patrol_pass_times(cfg, rng)
    first_pass = np.full(n, np.inf)
    for ci, t in enumerate(passes):
        sel = np.flatnonzero(occ.camera == ci)
        if sel.size == 0 or t.size == 0:
            continue
        j = np.searchsorted(t, occ.onset[sel], side="left")
        ok = j < t.size
        fp = np.full(sel.size, np.inf)
        fp[ok] = t[j[ok]]
        first_pass[sel] = fp
    by_patrol = first_pass <= occ.end

    # Residents' reports: drawn for every occurrence so the stream stays aligned.
    prob = np.array([hp.patrol_report_prob for _, hp in cfg.hazards])[occ.hazard]
    reports = rng.random(n) < prob
    call = occ.onset + cfg.patrol.report_delay.sample(rng, n)
    forward = cfg.patrol.hotline_delay.sample(rng, n)
    travel = _travel_from_grid(cfg, occ, rng)
    call_ok = reports & (call < occ.end)
    call_arrival = np.where(call_ok, call + forward + travel, np.inf)

    arrival = np.minimum(np.where(by_patrol, first_pass, np.inf), call_arrival)
    found = np.isfinite(arrival)
    response = np.where(found, arrival - occ.onset, np.nan)
    return PatrolOutcome(found=found, response=response, by_patrol=by_patrol)


def _travel_from_grid(cfg: SimConfig, occ: Occurrences, rng: np.random.Generator) -> np.ndarray:
    """Travel time of the grid's worker from the grid centre to each occurrence's camera."""
    t = cfg.township
    grid_xy = {g.id: (g.x_km, g.y_km) for g in t.grids}
    cam_mean = np.empty(len(t.cameras))
    for ci, c in enumerate(t.cameras):
        gx, gy = grid_xy.get(c.grid, (c.x_km, c.y_km))
        cam_mean[ci] = t.travel.trip_s(gx, gy, c.x_km, c.y_km, "ebike")
    mean = cam_mean[occ.camera] if len(occ) else np.zeros(0)
    cv = t.travel.cv
    if cv <= 0:
        rng.normal(size=len(occ))
        return mean
    s = math.sqrt(math.log1p(cv * cv))
    return mean * np.exp(rng.normal(-s * s / 2.0, s, len(occ)))
