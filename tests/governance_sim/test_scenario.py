"""Scenario files: every shipped scenario builds; bad ones fail naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridsight.core.config import load_township
from gridsight.core.errors import ConfigError, SimulationError
from gridsight.governance_sim.scenario import build_sim_config, load_scenario, scenario_with_many

from .conftest import ROOT, make_cfg

SCENARIOS = sorted((ROOT / "configs" / "sim").glob("*.yaml"))


def test_there_are_several_scenarios() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {"baseline", "understaffed", "cameras_300", "night_shift"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_builds(path: Path) -> None:
    sc, town_path = load_scenario(path)
    cfg = build_sim_config(sc, load_township(town_path))
    assert cfg.township.workers and cfg.township.cameras
    assert cfg.name == sc.name


def test_baseline_uses_the_published_staff_and_cameras(baseline) -> None:
    sc, town = baseline
    cfg = build_sim_config(sc, town)
    roles = [w.role for w in cfg.township.workers]
    assert roles.count("grid_worker") == 49 and roles.count("micro_grid_worker") == 186
    assert roles.count("volunteer") == 260 and len(cfg.township.cameras) == 12
    assert cfg.hazard("fire_lane").rate_per_camera_day == pytest.approx(0.28)


def test_a_misspelt_field_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"name: x\ntownship: {ROOT / 'configs' / 'jingqiao.yaml'}\ncentre:\n  verifierz: 2\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"bad.yaml:4:.*verifierz"):
        load_scenario(bad)


def test_missing_township_file_is_named(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("name: x\ntownship: nowhere.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load_scenario(p)


def test_nobody_on_duty_is_an_error_naming_village_and_hour(baseline) -> None:
    day_only = {"shift_h": [8, 18], "mode": "ebike"}
    changes = {
        f"staffing.{r}": day_only
        for r in ("grid_worker", "micro_grid_worker", "cadre", "volunteer")
    }
    with pytest.raises(SimulationError, match=r"nobody of village '.+' is on duty at 00:00"):
        make_cfg(baseline, changes)
    with pytest.raises(SimulationError, match="no workers at all"):
        make_cfg(
            baseline,
            {
                "staffing.workers_per_grid": 0,
                "staffing.cadres_per_village": 0,
                "staffing.volunteers": 0,
            },
        )


def test_unknown_policy_lists_the_known_ones(baseline) -> None:
    sc, town = baseline
    sc2 = scenario_with_many(sc, {"dispatch.policy": "random"})
    with pytest.raises(SimulationError, match="grid_owner_first"):
        build_sim_config(sc2, town, policies={"grid_owner_first": object})


def test_camera_count_scales_with_the_same_hazard_mix(baseline) -> None:
    cfg = make_cfg(baseline, {"alerts.camera_count": 300})
    cams = cfg.township.cameras
    assert len(cams) == 300 and len({c.id for c in cams}) == 300
    assert {c.hazards for c in cams} == {c.hazards for c in cams[:12]}
    assert len({c.grid for c in cams}) == 49


def test_impossible_value_in_a_change_names_the_field(baseline) -> None:
    sc, _ = baseline
    with pytest.raises(ConfigError, match=r"centre\.verifiers"):
        scenario_with_many(sc, {"centre.verifiers": 0})
    with pytest.raises(ConfigError, match="no field 'nope'"):
        scenario_with_many(sc, {"centre.nope": 1})


def test_nobody_on_duty_in_a_file_names_the_file_and_line_of_staffing(tmp_path: Path) -> None:
    p = tmp_path / "night.yaml"
    p.write_text(
        f"name: x\ntownship: {ROOT / 'configs' / 'jingqiao.yaml'}\nseed: 1\nstaffing:\n"
        + "".join(
            f"  {r}: {{shift_h: [8, 18]}}\n"
            for r in ("grid_worker", "micro_grid_worker", "cadre", "volunteer")
        ),
        encoding="utf-8",
    )
    sc, town_path = load_scenario(p)
    with pytest.raises(SimulationError, match=r"night\.yaml:4:1: staffing: nobody of village"):
        build_sim_config(sc, load_township(town_path))


def test_code_defaults_are_the_baseline_so_other_scenarios_differ_only_where_they_say(
    baseline,
) -> None:
    sc, _ = baseline
    defaults = type(sc)(name="x", township="t").model_dump()
    written = sc.model_dump()
    for key in ("name", "description", "township"):
        defaults.pop(key)
        written.pop(key)
    assert written == defaults
