"""The plugin manager: fresh manager per test, throwaway plugin classes."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from typing import ClassVar

import pytest
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.core.errors import PluginError
from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import (
    ENV_DISABLE,
    ENV_LOAD,
    ENV_TRACE,
    build_plugin_manager,
    hazard_rules,
    is_builtin,
    load_errors,
)

BUILTIN_HAZARDS = {"ebike", "fire_lane", "near_water", "vending"}
BUILTIN_NAMES = {ep.name for ep in entry_points(group="gridsight") if is_builtin(ep)}


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
    assert {"hazards", "sources", "synthetic", "sinks", "backends", "dispatch"} <= BUILTIN_NAMES
    assert "loitering" not in BUILTIN_NAMES  # the example is a third-party package
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


def _names(pm) -> set[str]:
    return {name for name, _ in pm.list_name_plugin()}


def test_allow_list_filters_third_party_plugins_and_keeps_the_builtins(monkeypatch):
    monkeypatch.delenv(ENV_TRACE, raising=False)
    monkeypatch.delenv(ENV_DISABLE, raising=False)
    monkeypatch.delenv(ENV_LOAD, raising=False)
    assert "loitering" in _names(build_plugin_manager())  # the example package
    monkeypatch.setenv(ENV_LOAD, "")
    pm = build_plugin_manager()
    assert _names(pm) >= BUILTIN_NAMES and "loitering" not in _names(pm)
    assert set(hazard_rules(pm)) == BUILTIN_HAZARDS
    monkeypatch.setenv(ENV_LOAD, "loitering")
    assert "loitering" in _names(build_plugin_manager())


def test_disable_list_turns_builtins_off(monkeypatch):
    monkeypatch.delenv(ENV_TRACE, raising=False)
    monkeypatch.setenv(ENV_LOAD, "")
    monkeypatch.setenv(ENV_DISABLE, "hazards, synthetic")
    pm = build_plugin_manager()
    assert _names(pm) == BUILTIN_NAMES - {"hazards", "synthetic"}
    assert hazard_rules(pm) == {}


def test_disable_list_reaches_the_plugins_command(monkeypatch):
    monkeypatch.setenv(ENV_LOAD, "")
    monkeypatch.setenv(ENV_DISABLE, ",".join(BUILTIN_NAMES - {"hazards"}))
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [p["name"] for p in data["plugins"]] == ["hazards"]


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_load(monkeypatch, caplog):
    from importlib.metadata import EntryPoint

    import gridsight.core.plugins as plugins_mod

    monkeypatch.delenv(ENV_LOAD, raising=False)
    monkeypatch.delenv(ENV_DISABLE, raising=False)
    broken = EntryPoint("broken", "gridsight_no_such_module_xyz", "gridsight")
    real = plugins_mod.entry_points
    monkeypatch.setattr(plugins_mod, "entry_points", lambda group: [*real(group=group), broken])
    pm = build_plugin_manager()
    assert set(hazard_rules(pm)) >= BUILTIN_HAZARDS
    errors = load_errors(pm)
    assert list(errors) == ["broken"]
    assert "ModuleNotFoundError" in errors["broken"]
    assert "gridsight_no_such_module_xyz" in errors["broken"]
    assert any(
        "'broken'" in r.getMessage() and "failed to import" in r.getMessage()
        for r in caplog.records
    )
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "broken: FAILED TO LOAD: ModuleNotFoundError" in result.output


def test_a_rule_whose_settings_are_not_rule_settings_is_a_plugin_error(no_env):
    from pydantic import BaseModel

    class Loose(BaseModel):
        pass

    rule = make_rule("loose")
    rule.Settings = Loose  # type: ignore[assignment]

    class Plugin:
        @hookimpl
        def gridsight_register_hazard_rules(self):
            return [rule]

    pm = build_plugin_manager(load_entrypoints=False, plugins=[Plugin()])
    with pytest.raises(PluginError, match=r"'loose'.*must derive from gridsight.RuleSettings"):
        hazard_rules(pm)


def test_the_event_hook_is_called_through_pluggy_so_tracing_shows_it(monkeypatch, capsys):
    from gridsight.core.engine import Engine
    from gridsight.core.sources.reader import BackoffPolicy

    from .core.engine_helpers import BrightBoxDetector, ScriptedSourcePlugin, camera

    seen = []

    class Observer:
        @hookimpl
        def gridsight_hazard_event(self, event):
            seen.append(event.phase)

    class Failing:
        @hookimpl
        def gridsight_hazard_event(self, event):
            raise RuntimeError("observer bug")

    monkeypatch.setenv(ENV_TRACE, "1")
    pm = build_plugin_manager(
        load_entrypoints=False,
        plugins=[
            __import__("gridsight.plugins.hazards").plugins.hazards,
            ScriptedSourcePlugin(),
            Failing(),
            Observer(),
        ],
    )
    from gridsight.core.engine import EngineOptions

    eng = Engine(
        [camera("cam-a", "scripted://a?frames=40&enter=1&leave=4")],
        pm,
        options=EngineOptions(backoff=BackoffPolicy(0.02, 0.05)),
        detector=BrightBoxDetector(),
    )
    summary = eng.run()
    assert seen == ["start", "end"]  # the failing observer did not stop this one
    err = capsys.readouterr().err
    assert err.count("gridsight_hazard_event") >= 4  # 2 events x 2 observers, traced
    failing = summary.status.component(
        f"plugin:{pm.get_name(next(p for p in pm.get_plugins() if isinstance(p, Failing)))}"
    )
    assert failing is not None and failing.errors == 2


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
