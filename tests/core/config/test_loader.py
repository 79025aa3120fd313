"""The YAML loader: errors name the file, the line and the field path, and what was expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from gridsight.core.config import Township, load_township, load_yaml_model, parse_yaml_model
from gridsight.core.config.base import StrictModel
from gridsight.core.errors import ConfigError


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based line number of the nth line containing ``needle``."""
    hits = [k + 1 for k, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth]


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_township(path)
    return str(info.value)


def test_small_town_loads(write_yaml, small_town_text):
    town = load_township(write_yaml(small_town_text))
    assert [v.id for v in town.villages] == ["east", "west"]
    assert [m.id for m in town.micro_grids] == [
        "east-g01-m01",
        "east-g01-m02",
        "east-g01-m03",
        "west-g01-a",
        "west-g01-b",
    ]
    assert all(m.grid == "east-g01" for m in town.grid("east-g01").micro_grids)
    assert town.staff_counts()["micro_grid_workers"] == 6
    assert town.cameras[0].zone_dicts()[1] == {
        "name": "door",
        "kind": "line",
        "points": ((10.0, 10.0), (100.0, 10.0)),
        "inward": "right",
    }


def test_misspelt_key_names_file_line_key_and_suggestion(write_yaml, small_town_text):
    text = small_town_text.replace("    grid: east-g01\n", "    gird: east-g01\n")
    path = write_yaml(text)
    message = error_of(path)
    line = line_of(text, "gird:")
    assert f"{path}:{line}:5: cameras[0].gird: unknown key 'gird'; did you mean 'grid'?" in message
    # The missing 'grid' it was meant to be is not reported a second time.
    assert "missing" not in message


def test_misspelt_key_in_nested_zone_union(write_yaml, small_town_text):
    text = small_town_text.replace("kind: line, points", "kind: line, pionts")
    path = write_yaml(text)
    message = error_of(path)
    line = line_of(text, "pionts")
    assert f"{path}:{line}:" in message
    assert "cameras[0].zones[1].pionts: unknown key 'pionts'; did you mean 'points'?" in message


def test_misspelt_top_level_key(write_yaml, small_town_text):
    text = small_town_text.replace("villages:\n", "vilages:\n")
    message = error_of(write_yaml(text))
    assert f":{line_of(text, 'vilages:')}:1: vilages: unknown key 'vilages'" in message
    assert "did you mean 'villages'?" in message


def test_wrong_type_names_field_and_value(write_yaml, small_town_text):
    text = small_town_text.replace("safety_volunteers: 10", "safety_volunteers: many")
    path = write_yaml(text)
    message = error_of(path)
    assert f"{path}:{line_of(text, 'safety_volunteers')}:3: staff.safety_volunteers:" in message
    assert "valid integer" in message and "'many'" in message


def test_unknown_village_reference(write_yaml, small_town_text):
    text = small_town_text.replace("{id: east-g01, village: east,", "{id: east-g01, village: eats,")
    path = write_yaml(text)
    message = error_of(path)
    assert f"{path}:{line_of(text, 'village: eats')}:" in message
    assert "grids[0].village: grid 'east-g01' is in village 'eats', which is not defined" in message
    assert "did you mean 'east'?" in message


def test_camera_grid_of_another_village(write_yaml, small_town_text):
    text = small_town_text.replace("    grid: east-g01\n", "    grid: west-g01\n")
    message = error_of(write_yaml(text))
    assert f":{line_of(text, '    grid: west-g01')}:5: cameras[0].grid:" in message
    assert "belongs to village 'west'" in message


def test_self_intersecting_zone(write_yaml, small_town_text):
    text = small_town_text.replace(
        "[[0, 200], [640, 200], [640, 360], [0, 360]]",
        "[[0, 200], [640, 360], [640, 200], [0, 360]]",
    )
    path = write_yaml(text)
    message = error_of(path)
    assert f"{path}:{line_of(text, 'water_edge, kind')}:" in message
    assert "cameras[0].zones[0].points: the polygon is self-intersecting" in message


def test_zone_outside_image(write_yaml, small_town_text):
    text = small_town_text.replace("[640, 360], [0, 360]]", "[700, 360], [0, 360]]")
    message = error_of(write_yaml(text))
    assert (
        "cameras[0].zones[0].points[2]: point (700, 360) of zone 'water_edge' is outside" in message
    )
    assert "640x360" in message
    assert f":{line_of(text, 'water_edge, kind')}:" in message


def test_line_zone_needs_two_distinct_points(write_yaml, small_town_text):
    text = small_town_text.replace("[[10, 10], [100, 10]]", "[[10, 10], [10, 10]]")
    assert "two distinct points" in error_of(write_yaml(text))
    text = small_town_text.replace("[[10, 10], [100, 10]]", "[[10, 10], [100, 10], [5, 5]]")
    assert "cameras[0].zones[1].points" in error_of(write_yaml(text))


def test_hazard_refers_to_missing_zone(write_yaml, small_town_text):
    text = small_town_text.replace("near_water: {zone: water_edge}", "near_water: {zone: shore}")
    message = error_of(write_yaml(text))
    assert f":{line_of(text, 'zone: shore')}:" in message
    assert (
        "cameras[0].hazards.near_water.zone: hazard 'near_water' refers to zone 'shore'" in message
    )
    text = small_town_text.replace("near_water: {zone: water_edge}", "ebike: {line: gate}")
    message = error_of(write_yaml(text))
    assert "cameras[0].hazards.ebike.line: hazard 'ebike' refers to zone 'gate'" in message


def test_duplicate_ids(write_yaml, small_town_text):
    text = small_town_text.replace("{id: west, name: 西村", "{id: east, name: 西村")
    message = error_of(write_yaml(text))
    assert "villages[1].id: village id 'east' is used more than once" in message


def test_duplicate_micro_grid_ids_across_grids(write_yaml, small_town_text):
    text = small_town_text.replace("{id: west-g01-a}", "{id: east-g01-m02}")
    message = error_of(write_yaml(text))
    assert (
        "grids[1].micro_grids[0].id: micro-grid id 'east-g01-m02' is used more than once" in message
    )


def test_declared_staff_count_must_match(write_yaml, small_town_text):
    text = small_town_text.replace("micro_grid_workers: 6", "micro_grid_workers: 7")
    message = error_of(write_yaml(text))
    assert f":{line_of(text, 'micro_grid_workers')}:3: staff.micro_grid_workers:" in message
    assert "says 7 micro-grid workers" in message and "add up to 6" in message


def test_micro_grid_listed_under_another_grid(write_yaml, small_town_text):
    text = small_town_text.replace("{id: west-g01-a}", "{id: west-g01-a, grid: east-g01}")
    assert "listed under grid 'west-g01'" in error_of(write_yaml(text))


def test_micro_grids_count_of_wrong_type(write_yaml, small_town_text):
    text = small_town_text.replace("micro_grids: 3}", "micro_grids: three}")
    message = error_of(write_yaml(text))
    assert "grids[0]" in message and "micro_grids must be a count" in message


def test_position_outside_town(write_yaml, small_town_text):
    text = small_town_text.replace("position: [8.0, 4.0]", "position: [18.0, 4.0]")
    message = error_of(write_yaml(text))
    assert "villages[0].position: position (18, 4) km is outside the town's extent" in message


def test_too_short_position_says_too_few_values(write_yaml, small_town_text):
    text = small_town_text.replace("position: [8.0, 4.0]", "position: [8.0]")
    message = error_of(write_yaml(text))
    assert "villages[0].position[1]: too few values (got [8.0]): item 1" in message
    assert "missing required key" not in message


def test_missing_key_points_at_its_parent(write_yaml, small_town_text):
    text = small_town_text.replace("    resolution: [640, 360]\n", "")
    message = error_of(write_yaml(text))
    assert (
        f":{line_of(text, '- id: cam-1')}:5: cameras[0].resolution: missing required key" in message
    )


def test_duplicate_yaml_key_is_an_error(write_yaml, small_town_text):
    text = small_town_text.replace("    name: pond\n", "    name: pond\n    name: lake\n")
    path = write_yaml(text)
    message = error_of(path)
    assert f"{path}:{line_of(text, 'name: lake')}:5: key 'name' is written twice" in message


def test_yaml_syntax_error_names_line(write_yaml, small_town_text):
    text = small_town_text.replace("[[10, 10], [100, 10]]", "[[10, 10], [100, 10]")
    message = error_of(write_yaml(text))
    assert re.search(r"town\.yaml:\d+:\d+: YAML syntax error", message)


def test_missing_and_empty_files(tmp_path, write_yaml):
    with pytest.raises(ConfigError, match="no such config file"):
        load_township(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is empty"):
        load_township(write_yaml("# nothing\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_township(write_yaml("- a\n- b\n"))


def test_several_errors_are_listed_in_one_message(write_yaml, small_town_text):
    text = small_town_text.replace("safety_volunteers: 10", "safety_volunteers: -1").replace(
        "    grid: east-g01\n", "    gird: east-g01\n"
    )
    message = error_of(write_yaml(text))
    assert "(2 problems)" in message
    assert "staff.safety_volunteers" in message and "cameras[0].gird" in message


def test_errors_inside_merge_keys_and_aliases(write_yaml, small_town_text):
    text = small_town_text.replace(
        "grids:\n  - {id: east-g01, village: east, position: [8.2, 4.1], micro_grids: 3}\n",
        "base: &base {village: east, position: [8.2, 4.1]}\n"
        "grids:\n  - {<<: *base, id: east-g01, micro_grids: 3}\n",
    )
    # `base` itself is an unknown top-level key: reported at its own line.
    message = error_of(write_yaml(text))
    assert f":{line_of(text, 'base: &base')}:1: base: unknown key 'base'" in message


def test_load_yaml_model_works_for_any_model(write_yaml):
    class Scenario(StrictModel):
        name: str
        replications: int

    class Wrapper(BaseModel):
        scenario: Scenario

    path = write_yaml("scenario:\n  name: x\n  replicatoins: 3\n", name="s.yaml")
    with pytest.raises(ConfigError) as info:
        load_yaml_model(path, Wrapper)
    assert f"{path}:3:3: scenario.replicatoins: unknown key 'replicatoins'" in str(info.value)
    assert "did you mean 'replications'?" in str(info.value)
    ok = parse_yaml_model("scenario: {name: x, replications: 3}\n", Wrapper)
    assert ok.scenario.replications == 3


def test_models_are_frozen(write_yaml, small_town_text):
    town = load_township(write_yaml(small_town_text))
    with pytest.raises(Exception, match="frozen"):
        town.name = "other"  # type: ignore[misc]
    assert isinstance(town, Township)


def test_the_source_map_travels_with_the_model_and_its_copies(tmp_path) -> None:
    from gridsight.core.config.base import StrictModel
    from gridsight.core.config.loader import parse_yaml_model, source_map

    class Doc(StrictModel):
        name: str
        size: int = 0

    text = "name: a\nsize: 3\n"
    doc = parse_yaml_model(text, Doc, source="doc.yaml")
    smap = source_map(doc)
    assert smap is not None and smap.where(("size",)) == "doc.yaml:2:1: size"
    copy = doc.model_copy(update={"size": 4})
    assert source_map(copy) is smap
    # Equal models share no map through a global any more: one built from a dict has none.
    twin = Doc(name="a", size=3)
    assert twin == doc and source_map(twin) is None
