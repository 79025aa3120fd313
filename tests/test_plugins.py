"""The plugin manager: fresh manager per test, throwaway plugin classes."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.core.errors import PluginError
from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import ENV_LOAD, ENV_TRACE, build_plugin_manager, hazard_rules

BUILTIN_HAZARDS = {"ebike", "fire_lane", "near_water", "vending"}


def make_rule(hazard_id: str) -> type[HazardRule]:
    class Rule(HazardRule):
        hazard: ClassVar[str] = hazard_id
        Settings: ClassVar[type[RuleSettings]] = RuleSettings

        def observe(self, ts, detections):
            return Observation.inactive()

    return Rule


class OneHazard:
    def __init__(self, hazard_id: str) -> None:
        self.rule = make_rule(hazard_id)

    @hookimpl
    def gridsight_register_hazard_rules(self):
        return [self.rule]


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_LOAD, raising=False)
    monkeypatch.delenv(ENV_TRACE, raising=False)


def test_throwaway_plugin_registers_a_hazard(no_env):
    pm = build_plugin_manager(load_entrypoints=False, plugins=[OneHazard("smoke")])
    assert set(hazard_rules(pm)) == {"smoke"}


def test_builtins_come_through_entry_points(no_env):
    pm = build_plugin_manager()
    names = {name for name, _ in pm.list_name_plugin()}
    assert {"hazards", "sources", "sinks", "backends", "dispatch"} <= names
    assert set(hazard_rules(pm)) >= BUILTIN_HAZARDS


def test_duplicate_hazard_ids_raise(no_env):
    pm = build_plugin_manager(
        load_entrypoints=False, plugins=[OneHazard("smoke"), OneHazard("smoke")]
    )
    with pytest.raises(PluginError, match="two plugins register the hazard 'smoke'"):
        hazard_rules(pm)


def test_duplicate_of_a_builtin_hazard_raises(no_env):
    pm = build_plugin_manager(plugins=[OneHazard("near_water")])
    with pytest.raises(PluginError, match="near_water"):
        hazard_rules(pm)


def test_misspelt_hook_raises_plugin_error(no_env):
    class Misspelt:
        @hookimpl
        def gridsight_register_hazard_rule(self):  # missing the final "s"
            return []

    with pytest.raises(PluginError, match=r"gridsight_register_hazard_rule.*misspelt"):
        build_plugin_manager(load_entrypoints=False, plugins=[Misspelt()])


def test_misspelt_hook_argument_raises_plugin_error(no_env):
    class WrongArgs:
        @hookimpl
        def gridsight_open_source(self, url, options):
            return None

    with pytest.raises(PluginError, match="url"):
        build_plugin_manager(load_entrypoints=False, plugins=[WrongArgs()])


def test_allow_list_env_var(monkeypatch):
    monkeypatch.delenv(ENV_TRACE, raising=False)
    monkeypatch.setenv(ENV_LOAD, "hazards, sinks")
    pm = build_plugin_manager()
    assert {name for name, _ in pm.list_name_plugin()} == {"hazards", "sinks"}
    monkeypatch.setenv(ENV_LOAD, "")
    pm = build_plugin_manager()
    assert pm.list_name_plugin() == []
    assert hazard_rules(pm) == {}
    monkeypatch.setenv(ENV_LOAD, "sinks")
    pm = build_plugin_manager()
    assert hazard_rules(pm) == {}


def test_allow_list_reaches_the_plugins_command(monkeypatch):
    monkeypatch.setenv(ENV_LOAD, "hazards")
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [p["name"] for p in data["plugins"]] == ["hazards"]


def test_tracing_env_var(monkeypatch, capsys):
    monkeypatch.delenv(ENV_LOAD, raising=False)
    monkeypatch.setenv(ENV_TRACE, "1")
    pm = build_plugin_manager(load_entrypoints=False, plugins=[OneHazard("smoke")])
    hazard_rules(pm)
    err = capsys.readouterr().err
    assert "[gridsight-plugins]" in err and "gridsight_register_hazard_rules" in err


def test_tracing_off_by_default(no_env, capsys):
    pm = build_plugin_manager(load_entrypoints=False, plugins=[OneHazard("smoke")])
    hazard_rules(pm)
    assert "[gridsight-plugins]" not in capsys.readouterr().err


def test_plugins_command_lists_builtins(no_env):
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "hazards: gridsight.plugins.hazards (gridsight " in result.output
    assert "  hazards: ebike, fire_lane, near_water, vending" in result.output
    assert "hooks: gridsight_register_hazard_rules" in result.output


def test_plugins_json_shows_hooks_and_provides(no_env):
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_name = {p["name"]: p for p in data["plugins"]}
    hazards = by_name["hazards"]
    assert hazards["module"] == "gridsight.plugins.hazards"
    assert hazards["distribution"].startswith("gridsight ")
    assert hazards["hooks"] == ["gridsight_register_hazard_rules"]
    assert set(hazards["provides"]["hazards"]) == BUILTIN_HAZARDS
    assert {row["hazard"] for row in data["hazards"]} >= BUILTIN_HAZARDS


def test_describe_plugins_on_a_fresh_manager(no_env):
    from gridsight.commands.plugins import describe_plugins

    class Broken:
        @hookimpl
        def gridsight_register_sinks(self):
            raise RuntimeError("boom")

    pm = build_plugin_manager(load_entrypoints=False, plugins=[OneHazard("smoke"), Broken()])
    rows = describe_plugins(pm)
    provides = [row["provides"] for row in rows]
    assert {"hazards": ["smoke"]} in provides
    assert {"sinks": {"error": "RuntimeError: boom"}} in provides
    assert all(row["distribution"] is None for row in rows)
