"""Property: a township survives model -> dict -> YAML -> model unchanged."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.config import Township, parse_yaml_model

ids = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
names = st.text(
    alphabet=st.sampled_from("abc xyz-_:#'\"村社区芮家水晶网格0123456789"), min_size=1, max_size=12
)
km = st.floats(min_value=0.0, max_value=8.0, allow_nan=False)
px = st.integers(min_value=0, max_value=300).map(float)


@st.composite
def cameras(draw, index: int, village: str, grid: str):
    x0, y0 = draw(px), draw(px)
    w, h = draw(st.integers(1, 300)), draw(st.integers(1, 50))
    poly = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]]
    zones = [{"name": "zone_a", "kind": "polygon", "points": poly}]
    if draw(st.booleans()):
        zones.append(
            {
                "name": "line_b",
                "kind": "line",
                "points": [[x0, y0], [x0 + w, y0 + h]],
                "inward": draw(st.sampled_from(["left", "right"])),
            }
        )
    return {
        "id": f"cam-{index}",
        "name": draw(names),
        "village": village,
        "grid": grid,
        "source": f"synthetic://street?seed={index}",
        "fps": draw(st.floats(min_value=0.5, max_value=30)),
        "resolution": [640, 360],
        "anchor": draw(st.sampled_from(["bottom_center", "center"])),
        "position": draw(st.none() | st.tuples(km, km).map(list)),
        "zones": zones,
        "hazards": {"vending": {"zone": "zone_a", "allowed_hours": ["06:00-08:00"]}},
    }


@st.composite
def townships(draw):
    village_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    villages = [
        {
            "id": v,
            "name": draw(names),
            "kind": draw(st.sampled_from(["village", "community"])),
            "placeholder": draw(st.booleans()),
            "position": [draw(km), draw(km)],
            "stationed_cadres": draw(st.integers(0, 3)),
        }
        for v in village_ids
    ]
    grids = []
    for v in village_ids:
        for k in range(draw(st.integers(1, 3))):
            gid = f"{v}-g{k}"
            spec = draw(st.integers(0, 4))
            micro = (
                spec
                if draw(st.booleans())
                else [
                    {"id": f"{gid}-x{j}", "workers": draw(st.integers(0, 2))} for j in range(spec)
                ]
            )
            grids.append(
                {"id": gid, "village": v, "position": [draw(km), draw(km)], "micro_grids": micro}
            )
    cams = [
        draw(cameras(k, g["village"], g["id"]))
        for k, g in enumerate(draw(st.lists(st.sampled_from(grids), max_size=3)))
    ]
    return {
        "id": "town",
        "name": draw(names),
        "population": draw(st.none() | st.integers(0, 100000)),
        "command_centre": {"name": "centre", "position": [draw(km), draw(km)]},
        "villages": villages,
        "grids": grids,
        "staff": {
            "safety_volunteers": draw(st.integers(0, 300)),
            "teams": [{"id": f"t-{v}", "village": v, "helpers": 2} for v in village_ids[:2]],
        },
        "travel": {"detour_factor": draw(st.floats(min_value=1.0, max_value=2.0))},
        "cameras": cams,
    }


@settings(max_examples=60, deadline=None)
@given(townships())
def test_model_dict_yaml_model_roundtrip(data):
    model = Township.model_validate(data)
    dumped = model.model_dump(mode="json")
    text = yaml.safe_dump(dumped, allow_unicode=True, sort_keys=False)
    again = parse_yaml_model(text, Township, source="roundtrip.yaml")
    assert again == model
    # And once more: a loaded model dumps to the same plain data.
    assert again.model_dump(mode="json") == dumped
