"""The example third-party plugin (examples/gridsight-loitering): discovered and running."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

import numpy as np
import pytest
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.plugins import ENV_LOAD, build_plugin_manager, hazard_rules

INSTALL_HINT = "install it: pip install -e examples/gridsight-loitering (make test does)"


@pytest.fixture
def loitering_module(monkeypatch):
    monkeypatch.delenv(ENV_LOAD, raising=False)
    try:
        distribution("gridsight-loitering")
    except PackageNotFoundError:
        pytest.fail(f"the example plugin is not installed; {INSTALL_HINT}")
    import gridsight_loitering

    return gridsight_loitering


def test_entry_point_is_discovered(loitering_module):
    pm = build_plugin_manager()
    assert pm.get_plugin("loitering") is loitering_module
    rules = hazard_rules(pm)
    assert rules["loitering"] is loitering_module.LoiteringRule
    assert {"ebike", "fire_lane", "near_water", "vending"} <= set(rules)


def test_plugins_command_lists_the_fifth_hazard(loitering_module):
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "loitering: gridsight_loitering (gridsight-loitering 0.1.0)" in result.output
    assert "  hazards: loitering" in result.output
    assert "hazards (5):" in result.output


def person(track: int, x: float, y: float) -> tuple[list[float], int]:
    return [x - 10, y - 60, x + 10, y], track


def frame(*people: tuple[list[float], int], role: Role = Role.PERSON) -> Detections:
    if not people:
        return Detections.empty()
    return Detections(
        xyxy=np.array([p[0] for p in people], dtype=np.float32),
        confidence=np.full(len(people), 0.9, dtype=np.float32),
        class_id=np.full(len(people), int(role)),
        tracker_id=np.array([p[1] for p in people]),
    )


def camera(loitering_module, **settings):
    from gridsight.core.hazards.runner import CameraHazards
    from gridsight.core.hazards.zones import zones_from_config

    pm = build_plugin_manager(load_entrypoints=False, plugins=[loitering_module])
    zones = zones_from_config(
        [
            {
                "name": "square",
                "kind": "polygon",
                "points": [[100, 100], [500, 100], [500, 300], [100, 300]],
            }
        ]
    )
    return CameraHazards.from_config(
        "cam-square",
        "ruijia",
        "ruijia-g01",
        zones=zones,
        hazards={"loitering": {"zone": "square", **settings}},
        rule_classes=hazard_rules(pm),
    )


def run_script(cam, frames):
    events = []
    for ts, dets in frames:
        events.extend(cam.process(ts, dets))
    events.extend(cam.flush())
    return events


def test_rule_runs_on_a_fresh_manager(loitering_module):
    cam = camera(loitering_module, dwell_s=60)
    # Track 1 walks through the square in 20 s; track 2 stands there from t=10 to t=200,
    # with a 3 s detection drop-out at t=100 (shorter than leave_after_s).
    frames = []
    for k in range(0, 250):
        ts = float(k)
        people = []
        if ts <= 20:
            people.append(person(1, 80 + ts * 25, 200))
        if 10 <= ts <= 200 and not 100 <= ts < 103:
            people.append(person(2, 300, 250))
        frames.append((ts, frame(*people)))
    events = run_script(cam, frames)
    starts = [e for e in events if e.phase == "start"]
    ends = [e for e in events if e.phase == "end"]
    assert len(starts) == 1 and len(ends) == 1
    assert starts[0].hazard == "loitering" and starts[0].camera == "cam-square"
    assert starts[0].ts == pytest.approx(70.0)  # entered at 10 + dwell 60
    assert starts[0].track_ids == (2,)
    assert ends[0].id == starts[0].id and ends[0].ts > 200


def test_passers_by_and_other_roles_never_alert(loitering_module):
    cam = camera(loitering_module, dwell_s=30)
    frames = []
    for k in range(0, 200):
        ts = float(k)
        # A stream of people walking through (each 16 s in the zone), and a parked car.
        walker = person(100 + k // 20, 80 + (k % 20) * 25, 200)
        frames.append((ts, frame(walker)))
    events = run_script(cam, frames)
    assert events == []
    car = [(float(k), frame(person(7, 300, 250), role=Role.CAR)) for k in range(100)]
    assert run_script(camera(loitering_module, dwell_s=30), car) == []


def test_settings_are_validated_by_the_plugins_model(loitering_module):
    from gridsight.core.errors import ConfigError

    with pytest.raises(ConfigError, match="dwel_s"):
        camera(loitering_module, dwel_s=30)
