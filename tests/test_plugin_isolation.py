"""Installed plugins fail alone and say why: name, error, file:line; warnings rate-limited."""

from __future__ import annotations

import logging
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

import gridsight.core.plugins as plugins_mod
from gridsight.cli import cli
from gridsight.core.errors import PluginError
from gridsight.core.hazards.rule import HazardRule, RuleSettings
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import ENV_DISABLE, ENV_LOAD, build_plugin_manager, hazard_rules
from gridsight.core.plugins import load_errors as errors_of
from gridsight.core.ratelimit import RateLimitedLog

BUILTIN_HAZARDS = {"ebike", "fire_lane", "near_water", "vending"}

SOURCES = {
    "misspelt": """
        from gridsight import hookimpl

        @hookimpl
        def gridsight_register_hazard_rule():  # the final "s" is missing
            return []
    """,
    "nohazard": """
        from gridsight import hookimpl, HazardRule, Observation

        class Smoke(HazardRule):  # forgot: hazard = "smoke"
            def observe(self, ts, detections):
                return Observation.inactive()

        @hookimpl
        def gridsight_register_hazard_rules():
            return [Smoke]
    """,
    "raising": """
        from gridsight import hookimpl

        @hookimpl
        def gridsight_register_sinks():
            raise RuntimeError("no config file")
    """,
}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Install throwaway plugin modules as entry points of the ``gridsight`` group."""
    monkeypatch.delenv(ENV_LOAD, raising=False)
    monkeypatch.delenv(ENV_DISABLE, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    real = plugins_mod.entry_points

    def install(*names: str) -> dict[str, Path]:
        paths = {}
        eps = []
        for name in names:
            module = f"gs_test_plugin_{name}_{tmp_path.name[-6:]}"
            path = tmp_path / f"{module}.py"
            path.write_text(textwrap.dedent(SOURCES[name]))
            sys.modules.pop(module, None)
            eps.append(EntryPoint(name, module, "gridsight"))
            paths[name] = path
        monkeypatch.setattr(plugins_mod, "entry_points", lambda group: [*real(group=group), *eps])
        return paths

    return install


def test_a_misspelt_hook_leaves_that_plugin_out_naming_the_file_and_line(
    installed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    paths = installed("misspelt")
    pm = build_plugin_manager()
    assert set(hazard_rules(pm)) >= BUILTIN_HAZARDS
    error = errors_of(pm)["misspelt"]
    assert "unknown hook 'gridsight_register_hazard_rule'" in error
    assert (
        f"{paths['misspelt']}:4" in error  # its @hookimpl line
        and "did you mean 'gridsight_register_hazard_rules'" in error
    )
    assert pm.get_plugin("misspelt") is None
    assert any("'misspelt' is left out" in r.getMessage() for r in caplog.records)


def test_the_plugins_command_and_the_other_commands_still_work(installed: Any) -> None:
    installed("misspelt", "nohazard", "raising")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    for name in ("misspelt", "nohazard", "raising"):
        assert f"{name}: FAILED TO LOAD" in result.output
    assert "near_water" in result.output
    check = CliRunner().invoke(cli, ["config", "check", "configs/jingqiao.yaml"])
    assert check.exit_code == 0, check.output


def test_a_rule_without_a_hazard_id_and_a_raising_hook_are_named_with_file_and_line(
    installed: Any,
) -> None:
    paths = installed("nohazard", "raising")
    pm = build_plugin_manager()
    assert set(hazard_rules(pm)) >= BUILTIN_HAZARDS
    assert "sqlite" in plugins_mod.sinks(pm)
    errors = errors_of(pm)
    assert "has no 'hazard' string attribute" in errors["nohazard"]
    assert f"{paths['nohazard']}:4" in errors["nohazard"]
    assert "gridsight_register_sinks raised RuntimeError: no config file" in errors["raising"]
    assert f"{paths['raising']}:6" in errors["raising"]


def test_a_plugin_passed_by_the_caller_still_raises_at_once() -> None:
    class NoHazard(HazardRule):
        Settings: ClassVar[type[RuleSettings]] = RuleSettings

        def observe(self, ts: float, detections: Any) -> Any:
            raise NotImplementedError

    class Plugin:
        @hookimpl
        def gridsight_register_hazard_rules(self) -> list[type[HazardRule]]:
            return [NoHazard]

    pm = build_plugin_manager(load_entrypoints=False, plugins=[Plugin()])
    with pytest.raises(
        PluginError,
        match=r"NoHazard'> \(defined at .*test_plugin_isolation.py:\d+\) has no 'hazard'",
    ):
        hazard_rules(pm)


def test_repeated_warnings_are_logged_once_then_counted(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = RateLimitedLog(logging.getLogger("gs-test"), interval_s=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="gs-test"):
        for _ in range(149):  # a camera whose rule fails on every frame, 8 frames/s
            now[0] += 0.125
            limiter.warning("rule:cam:x", "rule %s failed", "x", exc_info=KeyError("k"))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and limiter.counts["rule:cam:x"] == 149
    assert lines[0] == "rule x failed" and caplog.records[0].exc_info is not None
    assert "(80 times in the last 10 s, 81 in all)" in lines[1]


def test_a_rule_failing_on_every_frame_is_logged_once_with_its_file_and_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gridsight.core.engine import Engine, EngineOptions

    from .core.engine_helpers import BrightBoxDetector, ScriptedSourcePlugin, camera

    class AlwaysFails(HazardRule):
        hazard = "test_always_fails"
        Settings = RuleSettings

        def observe(self, ts: float, detections: Any) -> Any:
            raise KeyError("no such zone")

    class Plugin:
        @hookimpl
        def gridsight_register_hazard_rules(self) -> list[type[HazardRule]]:
            return [AlwaysFails]

    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin(), Plugin()])
    cam = camera("cam-a", "scripted://a?frames=40")
    cam = cam.model_copy(update={"hazards": {"test_always_fails": {}}})
    engine = Engine([cam], pm, options=EngineOptions(view_check=None), detector=BrightBoxDetector())
    with caplog.at_level(logging.WARNING, logger="gridsight.engine"):
        summary = engine.run()
    assert summary.frames == 40
    lines = [r for r in caplog.records if "rule:cam-a:test_always_fails" in r.getMessage()]
    assert 1 <= len(lines) <= 2  # 40 failures, logged once (and at most one count line)
    first = lines[0]
    assert first.exc_info is not None  # the traceback, shown at -v
    assert "test_plugin_isolation.py:" in first.getMessage()  # the rule's own file:line
    assert engine._warnings.counts["rule:cam-a:test_always_fails"] == 40
