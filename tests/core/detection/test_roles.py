"""An open role vocabulary: roles declared by plugins and configs, not a fixed enum."""

from __future__ import annotations

import pytest

from gridsight.core.detection.decode import ClassRoleMapper
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import (
    ROLE_NAMES,
    Role,
    RoleSpec,
    declare_role,
    role_id,
    role_name,
)
from gridsight.core.errors import ConfigError, PluginError
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager, roles
from gridsight.plugins.rules.near_water import NearWaterSettings


def test_builtin_roles_keep_their_ids_and_a_declared_role_gets_the_next_free_one() -> None:
    assert [role_id(n) for n in ROLE_NAMES] == list(Role)
    rid = declare_role("test-gas-cylinder", classes=("gas_cylinder", "lpg tank"))
    assert rid >= len(Role) and declare_role("test-gas-cylinder") == rid  # idempotent
    assert role_name(rid) == "test-gas-cylinder"
    mapper = ClassRoleMapper({0: "person", 1: "LPG tank", 2: "dog"})
    assert mapper.role_of(0) is Role.PERSON and mapper.role_of(1) == rid
    assert mapper.role_of(2) is None  # no role declared for dogs here: dropped


def test_class_to_role_may_name_a_declared_role_and_rules_may_watch_for_it() -> None:
    with pytest.raises(ConfigError, match="'test-otter' is not a role; declared roles are"):
        ClassRoleMapper({0: "otter"}, {"otter": "test-otter"})
    rid = declare_role("test-otter")
    mapper = ClassRoleMapper({0: "otter", 1: "person"}, {"otter": "test-otter"})
    mapped = mapper.map(
        Detections(xyxy=[[0, 0, 2, 2], [1, 1, 3, 3]], confidence=[0.9, 0.8], class_id=[0, 1])
    )
    assert mapped.class_id.tolist() == [rid, int(Role.PERSON)]
    assert NearWaterSettings(roles=["test-otter", "person"]).roles == (rid, Role.PERSON)


def test_a_class_claimed_by_two_roles_is_refused() -> None:
    declare_role("test-boat", classes=("test-ship",))
    with pytest.raises(ConfigError, match="already maps to role 'test-boat'"):
        declare_role("test-ferry", classes=("test-ship",))
    with pytest.raises(ConfigError, match="role name"):
        declare_role("Not A Role!")


class DogPlugin:
    @hookimpl
    def gridsight_register_roles(self) -> list[RoleSpec]:
        return [RoleSpec("test-dog", classes=("test-dog-class",), description="dogs")]


def test_a_plugin_declares_a_role_and_a_bad_one_is_a_plugin_error() -> None:
    pm = build_plugin_manager(load_entrypoints=False, plugins=[DogPlugin()])
    assert "test-dog" in roles(pm)
    assert ClassRoleMapper({3: "test-dog-class"}).role_of(3) == role_id("test-dog")

    class Bad:
        @hookimpl
        def gridsight_register_roles(self) -> list[RoleSpec]:
            return [RoleSpec("NO WAY")]

    bad = build_plugin_manager(load_entrypoints=False, plugins=[Bad()])
    with pytest.raises(PluginError, match="gridsight_register_roles"):
        roles(bad)


def test_a_township_config_declares_roles_that_its_cameras_rules_then_name() -> None:
    from pathlib import Path

    from gridsight.core.config import parse_yaml_model, validate_camera_hazards
    from gridsight.core.config.township import Township

    text = (Path(__file__).resolve().parents[3] / "configs/jingqiao.yaml").read_text()
    text = text.replace(
        "near_water: {zone: water_edge",
        "near_water: {roles: [test-kayak, person], zone: water_edge",
        1,
    )
    assert "test-kayak" in text
    town = parse_yaml_model(text + "\nroles:\n  test-kayak: [kayak, canoe-boat]\n", Township)
    settings = validate_camera_hazards(town, build_plugin_manager())
    kayak = role_id("test-kayak")
    assert kayak is not None and ClassRoleMapper({0: "kayak"}).role_of(0) == kayak
    assert any(
        kayak in s.roles for cam in settings.values() for s in cam.values() if hasattr(s, "roles")
    )
