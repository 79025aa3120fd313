"""Refreshing synthetic cameras' zones in place, from a scene_zones function."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridsight.core.config import Township, parse_yaml_model
from gridsight.core.config.zone_refresh import format_zone, refresh_zones_text
from gridsight.core.errors import ConfigError

JINGQIAO = Path(__file__).resolve().parents[3] / "configs" / "jingqiao.yaml"

SCENE_ZONES = {
    "reservoir": [
        {
            "name": "water_edge",
            "kind": "polygon",
            "points": [[0, 210.26], [640, 190], [640, 360], [0, 360]],
        }
    ],
    "stairwell": [
        {
            "name": "lobby",
            "kind": "polygon",
            "points": [[200, 50], [440, 50], [440, 240], [200, 240]],
        },
        {
            "name": "lobby_entrance",
            "kind": "line",
            "points": [[200, 240], [440, 240]],
            "inward": "left",
        },
    ],
    "fire_lane": [
        {
            "name": "fire_lane",
            "kind": "polygon",
            "points": [[260, 150], [380, 150], [540, 360], [100, 360]],
        }
    ],
    "street": [
        {
            "name": "no_vending",
            "kind": "polygon",
            "points": [[0, 240], [640, 210], [640, 310], [0, 350]],
        }
    ],
}


def fake_scene_zones(uri: str):
    return SCENE_ZONES[uri.split("://")[1].split("?")[0]]


def test_refresh_jingqiao_keeps_everything_but_zones():
    text = JINGQIAO.read_text(encoding="utf-8")
    new_text, changes = refresh_zones_text(text, fake_scene_zones, source="jingqiao.yaml")
    assert len(changes) == 12
    before = parse_yaml_model(text, Township)
    after = parse_yaml_model(new_text, Township)
    for cam in after.cameras:
        assert cam.zone_dicts() == [
            {**z, "points": tuple(tuple(round(float(v), 1) for v in p) for p in z["points"])}
            | ({"inward": z["inward"]} if z["kind"] == "line" else {})
            for z in SCENE_ZONES[cam.scene]
        ]
    # Everything but the zones is as it was, comments included.
    strip = [c.model_copy(update={"zones": ()}) for c in before.cameras]
    assert [c.model_copy(update={"zones": ()}) for c in after.cameras] == strip
    assert before.grids == after.grids and before.villages == after.villages
    old_comments = [ln for ln in text.splitlines() if ln.strip().startswith("#")]
    new_comments = [ln for ln in new_text.splitlines() if ln.strip().startswith("#")]
    assert old_comments == new_comments
    # Refreshing again changes nothing.
    assert refresh_zones_text(new_text, fake_scene_zones)[0] == new_text


def test_refresh_inserts_zones_where_there_were_none(small_town_text):
    text = small_town_text.replace(
        "    zones:\n"
        "      - {name: water_edge, kind: polygon, "
        "points: [[0, 200], [640, 200], [640, 360], [0, 360]]}\n"
        "      - {name: door, kind: line, points: [[10, 10], [100, 10]], inward: right}\n",
        "",
    ).replace("near_water: {zone: water_edge}", "near_water: {}")
    new_text, changes = refresh_zones_text(text, fake_scene_zones)
    assert changes[0].before == () and changes[0].after == ("water_edge",)
    assert parse_yaml_model(new_text, Township).cameras[0].zones[0].name == "water_edge"


def test_refresh_refuses_a_broken_file(small_town_text):
    with pytest.raises(ConfigError, match="unknown key"):
        refresh_zones_text(small_town_text.replace("fps", "fsp") + "oops: 1\n", fake_scene_zones)


def test_format_zone_rounds_to_tenths():
    assert format_zone(SCENE_ZONES["reservoir"][0]).startswith(
        "{name: water_edge, kind: polygon, points: [[0, 210.3], [640, 190]"
    )
