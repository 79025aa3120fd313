"""Checking camera hazard settings against the rules' Settings models (throwaway rules)."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import Field

from gridsight.core.config import check_camera_hazards, load_township, validate_camera_hazards
from gridsight.core.errors import ConfigError, PluginError
from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager


class WaterSettings(RuleSettings):
    zone: str = "water_edge"
    confirm_s: float = Field(default=2.0, ge=0)


class WaterRule(HazardRule):
    hazard: ClassVar[str] = "near_water"
    Settings: ClassVar[type[RuleSettings]] = WaterSettings

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        return (settings.zone,) if isinstance(settings, WaterSettings) else ()

    def observe(self, ts, detections):
        return Observation.inactive()


class LineSettings(RuleSettings):
    entrance: str = "door"


class DoorRule(HazardRule):
    hazard: ClassVar[str] = "door"
    Settings: ClassVar[type[RuleSettings]] = LineSettings

    @classmethod
    def zone_names(cls, settings: RuleSettings) -> tuple[str, ...]:
        return (settings.entrance,) if isinstance(settings, LineSettings) else ()

    def observe(self, ts, detections):
        return Observation.inactive()


RULES = {"near_water": WaterRule, "door": DoorRule}


def load(write_yaml, text):
    return load_township(write_yaml(text))


def test_valid_settings_are_returned_validated(write_yaml, small_town_text):
    town = load(write_yaml, small_town_text)
    out = check_camera_hazards(town, RULES)
    assert out["cam-1"]["near_water"] == WaterSettings(zone="water_edge")


def test_unknown_hazard_lists_known_ones(write_yaml, small_town_text):
    text = small_town_text.replace("near_water: {zone", "near_watr: {zone")
    path = write_yaml(text)
    with pytest.raises(ConfigError) as info:
        check_camera_hazards(load_township(path), RULES)
    message = str(info.value)
    assert f"{path}:" in message and "cameras[0].hazards.near_watr" in message
    assert "camera 'cam-1': unknown hazard 'near_watr'; did you mean 'near_water'?" in message
    assert "known hazards: door, near_water" in message


def test_bad_setting_names_camera_hazard_field_and_line(write_yaml, small_town_text):
    text = small_town_text.replace(
        "near_water: {zone: water_edge}", "near_water: {zone: water_edge, confirm_s: -3}"
    )
    path = write_yaml(text)
    with pytest.raises(ConfigError) as info:
        check_camera_hazards(load_township(path), RULES)
    message = str(info.value)
    line = next(k + 1 for k, ln in enumerate(text.splitlines()) if "confirm_s" in ln)
    assert f"{path}:{line}:" in message
    assert "cameras[0].hazards.near_water.confirm_s" in message
    assert "camera 'cam-1', hazard 'near_water': confirm_s:" in message


def test_misspelt_setting_suggests_the_field(write_yaml, small_town_text):
    text = small_town_text.replace(
        "near_water: {zone: water_edge}", "near_water: {zonee: water_edge}"
    )
    with pytest.raises(ConfigError, match="unknown setting 'zonee'; did you mean 'zone'"):
        check_camera_hazards(load(write_yaml, text), RULES)


def test_zone_named_by_rule_must_exist(write_yaml, small_town_text):
    # The loader's naming convention does not know `entrance`; the rule's zone_names does.
    text = small_town_text.replace(
        "near_water: {zone: water_edge}",
        "near_water: {zone: water_edge}\n      door: {entrance: gate}",
    )
    with pytest.raises(ConfigError, match="hazard 'door': zone 'gate' is not defined"):
        check_camera_hazards(load(write_yaml, text), RULES)


def test_programmatic_township_has_no_lines(write_yaml, small_town_text):
    town = load(write_yaml, small_town_text)
    rebuilt = type(town).model_validate(town.model_dump())
    with pytest.raises(ConfigError) as info:
        check_camera_hazards(rebuilt, {"door": DoorRule})
    assert str(info.value).startswith("cameras[0].hazards.near_water: camera 'cam-1'")


def test_validate_through_a_plugin_manager(write_yaml, small_town_text):
    class Plugin:
        @hookimpl
        def gridsight_register_hazard_rules(self):
            return [WaterRule]

    pm = build_plugin_manager(load_entrypoints=False, plugins=[Plugin()])
    town = load(write_yaml, small_town_text)
    assert validate_camera_hazards(town, pm)["cam-1"]["near_water"].zone == "water_edge"
    assert load_township(write_yaml(small_town_text), pm=pm).id == "smalltown"

    class Clash:
        @hookimpl
        def gridsight_register_hazard_rules(self):
            class Other(WaterRule):
                pass

            return [Other]

    pm.register(Clash())
    with pytest.raises(PluginError, match="near_water"):
        validate_camera_hazards(town, pm)
