"""Tests of the rules' shared building blocks: stationarity, dwell, roles (IoU: core)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from gridsight.core.detection.roles import Role
from gridsight.plugins.rules.common import BoxHistory, DwellTimer, role_mask
from gridsight.plugins.rules.near_water import NearWaterSettings


def _run_history(positions: list[float], window: float = 10.0, fps: float = 5.0) -> list[bool]:
    """x position of one 100x50 box per frame -> stationary flag per frame."""
    hist = BoxHistory(window)
    out = []
    for k, x in enumerate(positions):
        box = np.array([[x, 100, x + 100, 150]])
        out.append(bool(hist.stationary(k / fps, box, 0.6)[0]))
        hist.push(k / fps, box)
    return out


def test_parked_box_becomes_stationary_after_the_window() -> None:
    flags = _run_history([200.0] * 100)
    assert not any(flags[:50])  # younger than 10 s
    assert all(flags[50:])


def test_moving_box_is_never_stationary() -> None:
    assert not any(_run_history([200 + 4.0 * k for k in range(200)]))  # 20 px/s


def test_periodic_look_alikes_do_not_fool_it() -> None:
    # A new box passes every 15 s along the same line at 40 px/s: the box 15 s ago was
    # exactly where this one is now, but at the other checks (3.3 s, 6.7 s) nobody was.
    hist = BoxHistory(10.0)
    hits = 0
    for k in range(600):
        t = k / 5.0
        x = 40.0 * (t % 15.0)
        box = np.array([[x, 100, x + 60, 150]])
        hits += bool(hist.stationary(t, box, 0.6)[0])
        hist.push(t, box)
    assert hits == 0


def test_missing_frames_and_detections() -> None:
    hist = BoxHistory(10.0)
    box = np.array([[200.0, 100, 300, 150]])
    for k in range(100):
        t = k / 5.0
        if k % 3 == 0:
            continue  # a third of the frames never arrive
        hist.push(t, box if k % 4 else np.zeros((0, 4)))  # and a quarter have no box
    assert hist.stationary(20.0, box, 0.6).tolist() == [True]
    empty = BoxHistory(10.0)
    assert empty.stationary(0.0, box, 0.6).tolist() == [False]
    assert empty.stationary(0.0, np.zeros((0, 4)), 0.6).shape == (0,)
    assert BoxHistory(0.0).stationary(0.0, box, 0.6).tolist() == [True]


def test_history_is_bounded() -> None:
    hist = BoxHistory(10.0)
    for k in range(5000):
        hist.push(k / 5.0, np.zeros((1, 4)))
    assert len(hist._times) <= 10 * 5 * 1.2 + 2


def test_stayed_within_follows_a_point_pacing_in_its_region() -> None:
    hist = BoxHistory(10.0, checks=10)
    region = np.array([[0.0, 0.0, 100.0, 100.0]])
    spots = [(20.0, 50.0), (80.0, 50.0), (50.0, 20.0), (50.0, 80.0)]
    for k in range(40):  # 20 s at 2 fps, a new spot every 2.5 s
        x, y = spots[(k // 5) % 4]
        hist.push(k * 0.5, np.array([[x, y, x, y]]))
    here = np.array([[50.0, 50.0], [50.0, 50.0], [50.0, 50.0]])
    regions = np.array([region[0], region[0], [0.0, 0.0, 40.0, 100.0]])
    ok = hist.stayed_within(20.0, here, regions, [60.0, 20.0, 200.0])
    # Within 60 px all along: yes. Within 20 px: no (he was 30 px away). In a region he
    # only visits now and then: no.
    assert ok.tolist() == [True, False, False]
    assert hist.stayed_within(20.0, np.zeros((0, 2)), np.zeros((0, 4)), 1.0).shape == (0,)
    assert not BoxHistory(10.0).stayed_within(5.0, here[:1], region, 60.0).any()


def test_dwell_timer_runs_with_gap_tolerance_and_backdating() -> None:
    timer = DwellTimer(max_gap_s=5.0, window_s=60.0)
    assert timer.update(0.0, False) == 0.0
    assert timer.update(10.0, True, since=2.0) == pytest.approx(8.0)  # back-dated run
    assert timer.update(14.0, False) == pytest.approx(12.0)  # 4 s gap: run goes on
    assert timer.update(15.0, True) == pytest.approx(13.0)
    assert timer.update(21.0, False) == 0.0  # 6 s without: the run is over
    assert timer.update(22.0, True, since=30.0) == 0.0  # since is capped at now


def test_occupancy_fraction_is_time_weighted() -> None:
    timer = DwellTimer(max_gap_s=1.0, window_s=100.0)
    assert timer.occupancy() == 0.0
    for k in range(100):  # 100 s: occupied in the first 25 s, then free
        timer.update(float(k), k < 25)
    assert timer.occupancy() == pytest.approx(25 / 99, abs=1e-9)
    for k in range(100, 300):  # the window slides past the occupied part
        timer.update(float(k), True)
    assert timer.occupancy() == pytest.approx(1.0)
    sparse = DwellTimer(max_gap_s=1.0, window_s=100.0)
    sparse.update(0.0, True)
    sparse.update(50.0, False)  # a long frame gap: the first state holds until then
    sparse.update(100.0, False)
    assert sparse.occupancy() == pytest.approx(0.5)


def test_role_mask_and_role_fields() -> None:
    cid = np.array([0, 1, 2, 3, 4, 5, 4])
    assert role_mask(cid, (Role.CAR,)).tolist() == [0, 0, 0, 0, 1, 0, 1]
    assert role_mask(cid, (Role.CAR, Role.STALL)).sum() == 3
    assert not role_mask(cid, ()).any()
    assert NearWaterSettings(roles="person").roles == (Role.PERSON,)
    assert NearWaterSettings(roles=[" EBike ", 0]).roles == (Role.EBIKE, Role.PERSON)
    with pytest.raises(ValidationError):
        NearWaterSettings(roles=[17])
