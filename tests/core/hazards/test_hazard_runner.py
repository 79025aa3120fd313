"""Tests of ``CameraHazards``: building rules from config and running them per frame."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.errors import ConfigError, DataError, PluginError
from gridsight.core.hazards.lifecycle import LifecycleSettings
from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import ANCHOR_DATA_KEY, zones_from_config
from gridsight.core.plugins import build_plugin_manager, hazard_rules

ZONES = zones_from_config(
    [
        {"name": "water_edge", "points": [[0, 200], [640, 200], [640, 360], [0, 360]]},
        {"name": "lobby", "points": [[0, 0], [100, 0], [100, 100], [0, 100]]},
        {"name": "door", "kind": "line", "points": [[0, 100], [100, 100]]},
    ]
)


@pytest.fixture(scope="module")
def rules() -> dict[str, type[HazardRule]]:
    return hazard_rules(build_plugin_manager())


def person(y2: float, tid: int = 1) -> Detections:
    return Detections(
        xyxy=np.array([[300, y2 - 80, 330, y2]], np.float32),
        confidence=np.array([0.9]),
        class_id=np.array([int(Role.PERSON)]),
        tracker_id=np.array([tid]),
    )


def build(rules: dict, hazards: dict, **kw: object) -> CameraHazards:
    return CameraHazards.from_config(
        "cam-reservoir-01",
        "ruijia",
        "ruijia-g01",
        ZONES,
        hazards,
        rules,
        **kw,  # type: ignore[arg-type]
    )


def test_builtin_rules_are_registered(rules: dict) -> None:
    assert {"near_water", "fire_lane", "ebike", "vending"} <= set(rules)
    for hazard, cls in rules.items():
        assert cls.hazard == hazard and cls.description


def test_events_carry_camera_village_grid_and_injected_wall_time(rules: dict) -> None:
    clock = lambda: datetime(2025, 3, 1, 9, 30, tzinfo=UTC)  # noqa: E731
    cam = build(rules, {"near_water": {"confirm_s": 1.0}}, clock=clock)
    events = []
    for i in range(20):
        events += cam.process(i * 0.2, person(250))
    assert [e.phase for e in events] == ["start"]
    e = events[0]
    assert (e.camera, e.hazard, e.village, e.grid) == (
        "cam-reservoir-01",
        "near_water",
        "ruijia",
        "ruijia-g01",
    )
    assert e.wall_time == "2025-03-01T09:30:00.000+00:00"
    assert e.id == "cam-reservoir-01:near_water:1000:1"
    (end,) = cam.flush()
    assert end.phase == "end" and end.id == e.id and end.ts == pytest.approx(3.8)
    assert cam.flush() == []


def test_null_settings_take_the_rule_defaults(rules: dict) -> None:
    cam = build(rules, {"near_water": None, "ebike": {"line": "door"}})
    assert [r.hazard for r in cam.rules] == ["near_water", "ebike"]
    assert cam.lifecycles["near_water"].settings.confirm_s == 2.0


def test_several_rules_share_one_frame(rules: dict) -> None:
    hazards = {
        "near_water": {"confirm_s": 0},
        "ebike": {"zone": "lobby", "line": "door", "confirm_s": 0},
    }
    cam = build(rules, hazards)
    frame = Detections.merge(
        [
            person(250, tid=1),
            Detections(
                xyxy=np.array([[20, 20, 60, 80]], np.float32),
                confidence=np.array([0.8]),
                class_id=np.array([int(Role.EBIKE)]),
                tracker_id=np.array([2]),
            ),
        ]
    )
    events = cam.process(0.0, frame)
    assert sorted((e.hazard, e.track_ids) for e in events) == [
        ("ebike", (2,)),
        ("near_water", (1,)),
    ]
    assert ANCHOR_DATA_KEY not in frame.data  # the caller's detections are untouched


def test_anchor_setting_decides_in_zone(rules: dict) -> None:
    # Feet at y=230 (in the zone), box centre at y=190 (outside).
    bottom = build(rules, {"near_water": {"confirm_s": 0}})
    centre = build(rules, {"near_water": {"confirm_s": 0}}, anchor="center")
    assert len(bottom.process(0.0, person(230))) == 1
    assert centre.process(0.0, person(230)) == []


def test_frames_must_not_go_back_in_time(rules: dict) -> None:
    cam = build(rules, {"near_water": {}})
    cam.process(5.0, person(100))
    cam.process(5.0, person(100))  # the same time again is fine
    with pytest.raises(DataError, match=r"cam-reservoir-01.*4\.0 is before the previous frame"):
        cam.process(4.0, person(100))


def test_empty_frames(rules: dict) -> None:
    cam = build(
        rules,
        {h: {} for h in ("near_water", "fire_lane", "ebike", "vending")}
        | {
            "fire_lane": {"zone": "water_edge"},
            "ebike": {"zone": "lobby", "line": "door"},
            "vending": {"zone": "water_edge"},
        },
    )
    for i in range(10):
        assert cam.process(float(i), Detections.empty(with_tracker=True)) == []
        assert cam.process(i + 0.5, Detections.empty()) == []
    assert cam.flush() == []


@pytest.mark.parametrize(
    ("hazards", "kw", "message"),
    [
        (
            {"near_wter": {}},
            {},
            r"camera 'cam-reservoir-01', hazards\.near_wter: no plugin .*near_water",
        ),
        (
            {"near_water": {"confirm": 2}},
            {},
            r"hazards\.near_water: confirm: unknown setting 'confirm'; did you mean 'confirm_s'\?",
        ),
        (
            {"near_water": {"confirm_s": -1}},
            {},
            r"hazards\.near_water: confirm_s: Input should be .* \(got -1\)",
        ),
        (
            {"near_water": {"zone": "pond"}},
            {},
            r"hazards\.near_water: needs zone\(s\) pond .*water_edge",
        ),
        (
            {"near_water": {"zone": "door"}},
            {},
            r"hazards\.near_water: .*must name a polygon zone.*'door' is a line",
        ),
        ({"near_water": {"end_after_s": 0.5}}, {}, r"end_after_s \(0\.5\) must be >= max_gap_s"),
        ({"near_water": {}}, {"anchor": "feet"}, r"anchor 'feet' is unknown"),
    ],
)
def test_config_errors_name_camera_hazard_and_field(
    rules: dict, hazards: dict, kw: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build(rules, hazards, **kw)


def test_a_rule_declaring_plain_rule_settings_runs_with_the_lifecycle_defaults() -> None:
    # The README's plugin example declares ``class MySettings(RuleSettings)``: that is all
    # a rule needs (the lifecycle's timing lives on RuleSettings).
    class MySettings(RuleSettings):
        zone: str = "water_edge"

    class Mine(HazardRule):
        hazard = "mine"
        Settings = MySettings

        def observe(self, ts: float, detections: Detections) -> Observation:
            return Observation(active=len(detections) > 0, confidence=0.8)

    cam = CameraHazards.from_config("c", "v", "g", ZONES, {"mine": {}}, {"mine": Mine})
    events = []
    for i in range(20):
        events += cam.process(i * 0.2, person(250))
    assert [e.phase for e in events] == ["start"]
    assert events[0].extra["first_seen_ts"] == 0.0 and events[0].ts == pytest.approx(2.0)


def test_a_settings_model_that_is_not_rule_settings_is_refused() -> None:
    from pydantic import BaseModel

    class NotRuleSettings(BaseModel):
        pass

    class Plain(HazardRule):
        hazard = "plain"
        Settings = NotRuleSettings  # type: ignore[assignment]

        def observe(self, ts: float, detections: Detections) -> Observation:
            return Observation.inactive()

    with pytest.raises(ConfigError, match=r"must derive from gridsight.RuleSettings"):
        CameraHazards.from_config("c", "v", "g", {}, {"plain": {}}, {"plain": Plain})


def test_a_failing_rule_is_recorded_with_camera_and_hazard() -> None:
    class Broken(HazardRule):
        hazard = "broken"
        Settings = LifecycleSettings

        def observe(self, ts: float, detections: Detections) -> Observation:
            raise ZeroDivisionError("oops")

    cam = CameraHazards.from_config("cam-9", "v", "g", {}, {"broken": {}}, {"broken": Broken})
    assert cam.process(1.5, Detections.empty()) == []
    [failure] = cam.take_failures()
    assert (failure.camera, failure.hazard, failure.ts) == ("cam-9", "broken", 1.5)
    assert isinstance(failure.error, PluginError)
    assert isinstance(failure.error.__cause__, ZeroDivisionError)
    assert "camera 'cam-9': hazard rule 'broken'" in str(failure.error)
    assert "Broken" in str(failure.error) and "ts=1.5" in str(failure.error)
    assert cam.take_failures() == []
