"""Dispatch policies from the caller's plugin manager: broken plugins are named, not hidden."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from gridsight import hookimpl
from gridsight.core.dispatch import (
    DispatchPolicy,
    WorkerState,
    WorkOrder,
    load_policies,
    resolve_policy,
)
from gridsight.core.errors import ConfigError, PluginError
from gridsight.core.plugins import build_plugin_manager
from gridsight.governance_sim.experiment import run_replications
from gridsight.governance_sim.scenario import build_sim_config, scenario_with


class FirstListed(DispatchPolicy):
    name = "first_listed"

    def pick(
        self, order: WorkOrder, pool: Sequence[WorkerState], travel_s: object, now: float
    ) -> str:
        return pool[0].id


class GoodPlugin:
    @hookimpl
    def gridsight_register_dispatch_policies(self) -> list[type[DispatchPolicy]]:
        return [FirstListed]


class RaisingPlugin:
    @hookimpl
    def gridsight_register_dispatch_policies(self) -> list[type[DispatchPolicy]]:
        raise ImportError("No module named 'scipy_routing'")


class WrongTypePlugin:
    @hookimpl
    def gridsight_register_dispatch_policies(self) -> list[object]:
        return ["nearest"]


def _pm(**plugins: object):
    pm = build_plugin_manager(load_entrypoints=False)
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    return pm


def test_a_plugin_whose_registration_raises_is_named_with_its_error(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="gridsight.plugins"):
        reg = load_policies(_pm(good=GoodPlugin(), routing=RaisingPlugin()))
    # The broken plugin hides neither the built-ins nor the other plugin's policy.
    assert {"grid_owner_first", "first_listed"} <= set(reg.policies)
    assert set(reg.failures) == {"routing"}
    assert "ImportError: No module named 'scipy_routing'" in reg.failures["routing"]
    assert "routing" in caplog.text and "scipy_routing" in caplog.text
    with pytest.raises(ConfigError) as exc:
        resolve_policy("shortest_route", reg)
    msg = str(exc.value)
    assert "unknown policy 'shortest_route'" in msg and "first_listed" in msg
    assert "failed to load: routing: gridsight_register_dispatch_policies raised" in msg


def test_a_plugin_returning_something_else_than_a_policy_is_a_failure() -> None:
    reg = load_policies(_pm(odd=WrongTypePlugin()))
    assert "'nearest'" in reg.failures["odd"] and "not a DispatchPolicy" in reg.failures["odd"]


def test_two_plugins_registering_one_name_is_an_error() -> None:
    class Other(FirstListed):
        pass

    class OtherPlugin:
        @hookimpl
        def gridsight_register_dispatch_policies(self) -> list[type[DispatchPolicy]]:
            return [Other]

    with pytest.raises(PluginError, match="first_listed"):
        load_policies(_pm(a=GoodPlugin(), b=OtherPlugin()))


def test_without_a_registry_only_builtins_are_known_and_the_message_says_so() -> None:
    assert resolve_policy("least_loaded").name == "least_loaded"
    with pytest.raises(ConfigError, match="built-ins only"):
        resolve_policy("first_listed")


def test_a_plugin_policy_runs_when_the_caller_passes_the_registry(baseline) -> None:
    reg = load_policies(_pm(good=GoodPlugin()))
    sc, town = baseline
    cfg = build_sim_config(
        scenario_with(sc, "dispatch.policy", "first_listed"),
        town,
        policies=reg.policies,
        days=2.0,
    )
    (r,) = run_replications(cfg, 3, 1, registry=reg)
    assert r.kpis["real_alerts"] > 0 and r.kpis["dispatch_mean_s"] >= 0
    with pytest.raises(ConfigError, match="unknown policy 'first_listed'"):
        run_replications(cfg, 3, 1)


def test_the_live_service_finds_policies_through_the_same_lookup() -> None:
    from gridsight.orders.service import policy_by_name

    pm = _pm(good=GoodPlugin())
    assert type(policy_by_name("first_listed", pm)) is FirstListed
    assert type(policy_by_name("least_loaded")).__name__ == "LeastLoaded"
    with pytest.raises(ConfigError, match=r"orders.policy: unknown policy 'nope'.*first_listed"):
        policy_by_name("nope", pm)
