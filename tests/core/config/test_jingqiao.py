"""configs/jingqiao.yaml: the town of the deployment, as docs/deployment.md describes it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gridsight.core.config import load_township, township_json_schema, validate_camera_hazards
from gridsight.core.plugins import build_plugin_manager

JINGQIAO = Path(__file__).resolve().parents[3] / "configs" / "jingqiao.yaml"


@pytest.fixture(scope="module")
def town():
    return load_township(JINGQIAO)


def test_published_counts(town):
    assert len(town.villages) == 12
    assert len(town.grids) == 49
    assert len(town.micro_grids) == 186
    assert len(town.cameras) == 12
    staff = town.staff_counts()
    assert staff["grid_workers"] == 49
    assert staff["micro_grid_workers"] == 186
    assert staff["safety_volunteers"] == 260
    assert town.population == 40000


def test_named_and_placeholder_villages(town):
    named = {v.name for v in town.villages if not v.placeholder}
    assert named == {"芮家社区", "水晶村", "邰村", "笪村", "新桥", "芝山"}
    placeholders = [v for v in town.villages if v.placeholder]
    assert len(placeholders) == 6
    assert all("placeholder" in v.id and "placeholder" in v.name for v in placeholders)
    assert town.village("tai").natural_villages == 9


def test_every_village_has_grids_and_teams_are_1_3_n(town):
    assert all(town.grids_of(v.id) for v in town.villages)
    assert all(t.police == 1 and t.grid_or_auxiliary == 3 for t in town.staff.teams)


def test_cameras_per_scene_and_hazard(town):
    scenes = Counter(c.scene for c in town.cameras)
    assert scenes == {"reservoir": 2, "stairwell": 4, "fire_lane": 3, "street": 3}
    assert town.cameras_per_hazard() == {"ebike": 4, "fire_lane": 3, "near_water": 2, "vending": 3}
    assert any("赭山头水库" in c.name for c in town.cameras if c.scene == "reservoir")
    seeds = [c.source.split("seed=")[1].split("&")[0] for c in town.cameras]
    assert len(set(seeds)) == 12
    assert len({c.village for c in town.cameras}) >= 6


def test_hazard_settings_valid_for_builtin_rules(town):
    pm = build_plugin_manager()
    settings = validate_camera_hazards(town, pm)
    assert set(settings) == {c.id for c in town.cameras}
    assert all(len(per_camera) == 1 for per_camera in settings.values())


def test_travel_times_are_plausible(town):
    travel = town.travel
    centre = town.command_centre.position
    times = [travel.time_between(centre, g.position) for g in town.grids]
    # An e-bike crosses a ~10 km town in well under an hour, and no grid is next door.
    assert min(times) > 2.0 and max(times) < 40.0
    walk = travel.time_between(centre, town.grids[0].position, "walk")
    car = travel.time_between(centre, town.grids[0].position, "car")
    assert walk > times[0] > car


def test_jingqiao_validates_against_its_json_schema(town):
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    data = yaml.safe_load(JINGQIAO.read_text(encoding="utf-8"))
    jsonschema.validate(data, township_json_schema())
    json.dumps(data, ensure_ascii=False)


def test_zones_match_the_simulator_scenes(town):
    """The synthetic cameras' zones are the scenes' own (else the demo scores nonsense)."""
    simulator = pytest.importorskip("gridsight.simulator")
    scene_zones = getattr(simulator, "scene_zones", None)
    if scene_zones is None:
        pytest.skip("gridsight.simulator has no scene_zones")
    import numpy as np

    stale = []
    for cam in town.cameras:
        want = {z["name"]: z for z in scene_zones(cam.source)}
        have = {z.name: z for z in cam.zones}
        if set(want) != set(have) or any(
            not np.allclose(np.asarray(want[n]["points"], float), have[n].points, atol=0.051)
            or want[n].get("inward", "left") != getattr(have[n], "inward", "left")
            for n in want
        ):
            stale.append(cam.id)
    assert not stale, (
        f"zones of {stale} differ from the simulator's scenes; run "
        "`gridsight config refresh-zones configs/jingqiao.yaml --write`"
    )
