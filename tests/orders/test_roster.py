"""The live roster is the simulator's staff: same people, places, modes and shifts."""

from __future__ import annotations

import pytest

from gridsight.governance_sim.scenario import Scenario, StaffingSpec, township_view
from gridsight.orders.config import RoleShift, Staffing
from gridsight.orders.roster import ROLE_ORDER, build_staff

from .helpers import jingqiao


def _scenario(staffing: StaffingSpec) -> Scenario:
    return Scenario(name="roster", township="unused.yaml", staffing=staffing)


def _as_sim(staffing: Staffing) -> StaffingSpec:
    return StaffingSpec(**{r: getattr(staffing, r).model_dump() for r in ROLE_ORDER})


@pytest.mark.parametrize(
    "staffing",
    [
        Staffing(),
        Staffing(
            grid_worker=RoleShift(shift_h=(7, 19), mode="car", night_share=0.25),
            volunteer=RoleShift(shift_h=(6, 22), mode="ebike", night_share=0.5),
        ),
    ],
)
def test_same_people_as_the_simulator(staffing: Staffing) -> None:
    town = jingqiao()
    live = build_staff(town, staffing)
    sim = township_view(town, _scenario(_as_sim(staffing))).workers
    assert len(live) == len(sim) == 49 + 186 + 12 + 260
    for a, b in zip(live, sim, strict=True):
        assert (a.role, a.village, a.grid, a.mode, a.shift) == (
            b.role,
            b.village,
            b.grid,
            b.mode,
            b.shift,
        )
        assert (a.x_km, a.y_km) == pytest.approx((b.x_km, b.y_km), abs=1e-12)
    # The policies break ties by worker id: within a village our ids sort as the
    # simulator's do, so a tie goes to the same person.
    sim_id = {a.id: b.id for a, b in zip(live, sim, strict=True)}
    for village in {m.village for m in live}:
        ours = sorted(m.id for m in live if m.village == village)
        assert [sim_id[i] for i in ours] == sorted(w.id for w in sim if w.village == village)
    assert len({m.id for m in live}) == len(live)


def test_default_staffing_equals_the_simulators_defaults() -> None:
    sim = StaffingSpec()
    for role in ROLE_ORDER:
        ours = getattr(Staffing(), role)
        theirs = getattr(sim, role)
        assert (ours.shift_h, ours.mode, ours.night_share, ours.night_shift_h) == (
            theirs.shift_h,
            theirs.mode,
            theirs.night_share,
            theirs.night_shift_h,
        )


@pytest.mark.parametrize("hour", [0.0, 6.99, 7.0, 8.0, 12.5, 17.99, 18.0, 21.0, 23.9])
def test_shift_rule_equals_the_simulators(hour: float) -> None:
    town = jingqiao()
    staffing = Staffing(grid_worker=RoleShift(night_share=0.3))
    live = build_staff(town, staffing)
    sim = township_view(town, _scenario(_as_sim(staffing))).workers
    t = 3 * 86400.0 + hour * 3600.0
    assert [m.on_duty_at(hour) for m in live] == [w.on_duty(t) for w in sim]
