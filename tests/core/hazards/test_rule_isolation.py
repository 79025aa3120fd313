"""A hazard rule that raises loses nothing of the others, and never orphans an event.

The contract: every ``update``/``end`` written has its ``start`` before it; a rule that
keeps failing while its event is open ends it (``reason == "rule_failed"``); the other
hazards' events are exactly those of a run without the failing rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.events import HazardEvent
from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import zones_from_config
from gridsight.core.plugins import build_plugin_manager, hazard_rules

ZONES = zones_from_config(
    [{"name": "water_edge", "points": [[0, 200], [640, 200], [640, 360], [0, 360]]}]
)
FPS = 5.0
N_FRAMES = 150  # 30 s
TIMING = {"confirm_s": 0.6, "max_gap_s": 0.6, "end_after_s": 1.0, "cooldown_s": 1.0}


class FlakySettings(RuleSettings):
    """Frames (indices) on which the rule raises."""

    fail_on: frozenset[int] = frozenset()


class FlakyRule(HazardRule):
    """Active whenever anyone is in view; raises on the frames its settings name."""

    hazard = "flaky"
    Settings = FlakySettings

    def __init__(self, settings: RuleSettings, zones: object) -> None:
        super().__init__(settings, zones)  # type: ignore[arg-type]
        self.frame = -1

    def observe(self, ts: float, detections: Detections) -> Observation:
        self.frame += 1
        assert isinstance(self.settings, FlakySettings)
        if self.frame in self.settings.fail_on:
            raise RuntimeError(f"flaky at frame {self.frame}")
        return Observation(active=len(detections) > 0, confidence=0.7)


def person_at(i: int) -> Detections:
    """A person in the water-edge zone in frames 10-59 and 90-129, away otherwise."""
    inside = 10 <= i < 60 or 90 <= i < 130
    y2 = 300.0 if inside else 120.0
    return Detections(
        xyxy=np.array([[300, y2 - 80, 330, y2]], np.float32),
        confidence=np.array([0.9], np.float32),
        class_id=np.array([int(Role.PERSON)]),
        tracker_id=np.array([7]),
    )


@pytest.fixture(scope="module")
def rules() -> dict[str, type[HazardRule]]:
    found = dict(hazard_rules(build_plugin_manager()))
    found["flaky"] = FlakyRule
    return found


def run(rules: dict, hazards: dict) -> tuple[list[HazardEvent], int]:
    cam = CameraHazards.from_config("cam-1", "ruijia", "ruijia-g01", ZONES, hazards, rules)
    events: list[HazardEvent] = []
    failures = 0
    for i in range(N_FRAMES):
        events += cam.process(i / FPS, person_at(i))
        failures += len(cam.take_failures())
    events += cam.flush()
    return events, failures


def check_contract(events: list[HazardEvent]) -> None:
    """Every update/end follows its start; every start is ended (the run was flushed)."""
    open_ids: set[str] = set()
    for e in events:
        if e.phase == "start":
            assert e.id not in open_ids, f"{e.id} started twice"
            open_ids.add(e.id)
        else:
            assert e.id in open_ids, f"{e.phase} of {e.id} without its start"
            if e.phase == "end":
                open_ids.remove(e.id)
    assert not open_ids, f"never ended: {open_ids}"


def water(events: list[HazardEvent]) -> list[tuple]:
    return [
        (e.id, e.phase, e.ts, e.extra.get("reason")) for e in events if e.hazard == "near_water"
    ]


def near_water_settings() -> dict:
    return {"zone": "water_edge", **TIMING}


def test_a_rule_failing_on_some_frames_costs_the_other_rules_nothing(rules: dict) -> None:
    baseline, _ = run(rules, {"near_water": near_water_settings()})
    fail_on = frozenset({0, 11, 12, 40, 41, 42, 95})
    events, failures = run(
        rules,
        {"flaky": {**TIMING, "fail_on": fail_on}, "near_water": near_water_settings()},
    )
    assert failures == len(fail_on)
    assert water(events) == water(baseline)
    check_contract(events)
    assert [e.phase for e in events if e.hazard == "flaky"].count("start") >= 1


def test_a_rule_that_keeps_failing_ends_its_open_event_cleanly(rules: dict) -> None:
    # Starts on the person at frame ~13, then fails from frame 30 on, for ever.
    events, _ = run(
        rules,
        {"flaky": {**TIMING, "fail_on": frozenset(range(30, N_FRAMES))}},
    )
    flaky = [e for e in events if e.hazard == "flaky"]
    assert [e.phase for e in flaky] == ["start", "end"]
    end = flaky[-1]
    assert end.extra["reason"] == "rule_failed"
    # Last seen at frame 29 (5.8 s): the end comes once end_after_s (1 s) has passed.
    assert end.extra["last_seen_ts"] == pytest.approx(29 / FPS)
    assert end.ts == pytest.approx(35 / FPS)


def test_failing_frames_never_confirm_a_start(rules: dict) -> None:
    # Fails on every other frame while the person is there: confirmation (0.6 s) still
    # holds through single-frame gaps (max_gap_s 0.6 s), a failing frame is no evidence.
    every_other = frozenset(range(0, N_FRAMES, 2))
    events, failures = run(rules, {"flaky": {**TIMING, "fail_on": every_other}})
    assert failures == len(every_other)
    check_contract(events)
    for e in events:
        if e.phase == "start":
            assert round(e.ts * FPS) not in every_other


@settings(max_examples=60, deadline=None)
@given(fail_on=st.frozensets(st.integers(0, N_FRAMES - 1), max_size=N_FRAMES))
def test_any_failure_pattern_keeps_the_event_contract(rules: dict, fail_on: frozenset) -> None:
    events, failures = run(
        rules,
        {"flaky": {**TIMING, "fail_on": fail_on}, "near_water": near_water_settings()},
    )
    assert failures == len(fail_on)
    check_contract(events)
    baseline, _ = run(rules, {"near_water": near_water_settings()})
    assert water(events) == water(baseline)
