"""The public plugin API: ``from gridsight import ...`` is the one place plugins import."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import gridsight

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves_to_its_definition() -> None:
    from gridsight.core.hazards.rule import HazardRule
    from gridsight.core.hookspecs import hookimpl

    assert gridsight.HazardRule is HazardRule and gridsight.hookimpl is hookimpl
    for name in gridsight.__all__:
        assert getattr(gridsight, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        gridsight.NoSuchThing  # noqa: B018


@pytest.mark.parametrize(
    "name",
    [
        "hookimpl",
        "HazardRule",
        "RuleSettings",
        "Observation",
        "Detections",
        "EventSink",
        "Backend",
        "DispatchPolicy",
        "Notifier",
        "HazardEvent",
        "Zone",
        "Role",
    ],
)
def test_the_names_the_readme_promises_are_public(name: str) -> None:
    assert name in gridsight.__all__


def test_importing_gridsight_is_cheap() -> None:
    heavy = "('numpy', 'pydantic', 'onnxruntime', 'cv2')"
    code = f"import sys, gridsight; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_old_readme_path_still_works_with_a_deprecation_warning() -> None:
    sys.modules.pop("gridsight.core.hazard", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from gridsight.core.hazard import HazardRule, Observation, RuleSettings
    assert HazardRule is gridsight.HazardRule and Observation is gridsight.Observation
    assert RuleSettings is gridsight.RuleSettings
    assert any(
        issubclass(w.category, DeprecationWarning) and "from gridsight import" in str(w.message)
        for w in caught
    )


def test_the_example_plugin_imports_only_the_public_api() -> None:
    for path in (ROOT / "examples" / "gridsight-loitering" / "gridsight_loitering").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("gridsight.")
            ):
                pytest.fail(f"{path.name} imports {node.module}: plugins import from gridsight")
