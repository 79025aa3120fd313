"""The shared staff expansion and shift rule (gridsight.core.roster)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from gridsight.core.config import load_township
from gridsight.core.roster import ROLES, on_duty_at, ring, shift_of, staff_slots

CONFIG = "configs/jingqiao.yaml"


@dataclass(frozen=True)
class Spec:
    shift_h: tuple[float, float] = (8.0, 18.0)
    night_shift_h: tuple[float, float] = (18.0, 8.0)
    night_share: float = 0.0


@pytest.mark.parametrize(
    ("shift", "hour", "on"),
    [
        ((8.0, 18.0), 7.99, False),
        ((8.0, 18.0), 8.0, True),
        ((8.0, 18.0), 18.0, False),
        ((18.0, 8.0), 23.0, True),
        ((18.0, 8.0), 3.0, True),
        ((18.0, 8.0), 8.0, False),
        ((18.0, 8.0), 12.0, False),
        ((0.0, 24.0), 23.99, True),
    ],
)
def test_on_duty_at(shift: tuple[float, float], hour: float, on: bool) -> None:
    assert on_duty_at(shift, hour) is on


@pytest.mark.parametrize("share", [0.0, 0.25, 0.3, 0.5, 1.0])
def test_night_shift_is_spread_evenly(share: float) -> None:
    spec = Spec(night_share=share)
    nights = [shift_of(spec, k) == spec.night_shift_h for k in range(100)]
    assert sum(nights) == round(100 * share)
    # Never two more nights in any 10 consecutive people than the share allows.
    for start in range(0, 91):
        assert sum(nights[start : start + 10]) <= int(10 * share) + 1


def test_ring_points_are_on_the_circle() -> None:
    assert ring(1.0, 2.0, 0, 1, 0.5) == (1.0, 2.0)
    for k in range(6):
        x, y = ring(1.0, 2.0, k, 6, 0.5)
        assert ((x - 1.0) ** 2 + (y - 2.0) ** 2) ** 0.5 == pytest.approx(0.5)


def test_jingqiao_staff_counts_places_and_indices() -> None:
    town = load_township(CONFIG)
    slots = staff_slots(town)
    counts = Counter(s.role for s in slots)
    assert counts == {"grid_worker": 49, "micro_grid_worker": 186, "cadre": 12, "volunteer": 260}
    for role in ROLES:
        assert [s.k for s in slots if s.role == role] == list(range(counts[role]))
    grids = {g.id: g for g in town.grids}
    for s in slots:
        if s.role == "grid_worker":
            assert (s.x_km, s.y_km) == grids[s.grid].position and s.place == s.grid
        elif s.role == "micro_grid_worker":
            assert s.place.startswith(s.grid + "-m")
        else:
            assert s.grid == "" and s.place == s.village
    per_village = Counter(s.village for s in slots if s.role == "volunteer")
    assert set(per_village.values()) <= {21, 22}  # 260 dealt round 12 villages
    nths = [s.nth for s in slots if s.role == "volunteer" and s.village == town.villages[0].id]
    assert nths == list(range(per_village[town.villages[0].id]))


def test_overrides_replace_the_config_counts() -> None:
    town = load_township(CONFIG)
    slots = staff_slots(town, workers_per_grid=3, cadres_per_village=0, volunteers=24)
    counts = Counter(s.role for s in slots)
    assert counts == {"grid_worker": 49, "micro_grid_worker": 98, "volunteer": 24}
    assert staff_slots(town, workers_per_grid=0, cadres_per_village=2, volunteers=0) == [
        s for s in staff_slots(town, workers_per_grid=0, cadres_per_village=2) if s.role == "cadre"
    ]
