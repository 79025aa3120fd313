"""Fixtures for the config tests: a small valid township in YAML text."""

from __future__ import annotations

from pathlib import Path

import pytest

# Line numbers in the tests refer to this text: keep it stable (append, don't insert).
SMALL_TOWN = """\
id: smalltown
name: 小镇
command_centre: {name: centre, position: [5.0, 4.0]}
villages:
  - {id: east, name: 东村, position: [8.0, 4.0]}
  - {id: west, name: 西村, position: [2.0, 4.0]}
grids:
  - {id: east-g01, village: east, position: [8.2, 4.1], micro_grids: 3}
  - id: west-g01
    village: west
    position: [2.1, 3.9]
    micro_grids:
      - {id: west-g01-a}
      - {id: west-g01-b, workers: 2}
staff:
  grid_workers: 2
  micro_grid_workers: 6
  safety_volunteers: 10
  teams:
    - {id: team-east, village: east, helpers: 2}
cameras:
  - id: cam-1
    name: pond
    village: east
    grid: east-g01
    source: "synthetic://reservoir?seed=1"
    resolution: [640, 360]
    zones:
      - {name: water_edge, kind: polygon, points: [[0, 200], [640, 200], [640, 360], [0, 360]]}
      - {name: door, kind: line, points: [[10, 10], [100, 10]], inward: right}
    hazards:
      near_water: {zone: water_edge}
"""


@pytest.fixture
def small_town_text() -> str:
    return SMALL_TOWN


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write YAML text to a file in tmp_path and return its path."""

    def _write(text: str, name: str = "town.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
