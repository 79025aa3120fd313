"""The README's plugin example, run exactly as printed.

The two code blocks under "Adding a plugin" are extracted from README.md, written out as
a package, installed with pip (into a folder of its own, so the test environment is not
changed), enabled on a synthetic camera of the Jingqiao config, and run: `config check`
accepts it, `gridsight plugins` lists it, and `gridsight run` raises its hazard.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # pip install + a 60 s synthetic run

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent


def readme_block(first_line: str) -> str:
    """The fenced code block of README.md whose first line is ``first_line``."""
    blocks = re.findall(r"```(?:python|toml)\n(.*?)```", README.read_text(), flags=re.S)
    found = [b for b in blocks if b.splitlines()[0].strip() == first_line]
    assert len(found) == 1, f"README.md has {len(found)} blocks starting {first_line!r}"
    return found[0]


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("readme-plugin")
    pkg = work / "src"
    pkg.mkdir()
    (pkg / "my_plugin.py").write_text(readme_block("# my_plugin.py"))
    (pkg / "pyproject.toml").write_text(readme_block("# pyproject.toml of your package"))
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(pkg),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSIGHT_")}
    env["PYTHONPATH"] = os.pathsep.join([str(target), env.get("PYTHONPATH", "")])
    return env


def gridsight(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "gridsight"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def town_with_my_hazard(tmp_path: Path, settings: dict) -> Path:
    """configs/jingqiao.yaml with my_hazard on the Zheshantou reservoir camera."""
    town = yaml.safe_load((ROOT / "configs" / "jingqiao.yaml").read_text())
    cam = next(c for c in town["cameras"] if c["id"] == "cam-reservoir-01")
    cam["hazards"]["my_hazard"] = settings
    path = tmp_path / "town.yaml"
    path.write_text(yaml.safe_dump(town, allow_unicode=True, sort_keys=False))
    return path


def test_the_readme_plugin_is_listed(installed_example: dict[str, str]) -> None:
    result = gridsight(installed_example, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "my_plugin" in {p["name"] for p in data["plugins"]}
    assert "my_hazard" in {row["hazard"] for row in data["hazards"]}
    assert data["failed"] == {}


def test_config_check_and_run_agree_on_the_readme_plugin(
    installed_example: dict[str, str], tmp_path: Path
) -> None:
    bad = town_with_my_hazard(tmp_path, {"zone": "no_such_zone"})
    check = gridsight(installed_example, "config", "check", str(bad))
    assert check.returncode == 2
    assert "my_hazard" in check.stderr and "no_such_zone" in check.stderr

    good = town_with_my_hazard(tmp_path, {"zone": "water_edge"})
    check = gridsight(installed_example, "config", "check", str(good))
    assert check.returncode == 0, check.stderr
    alerts = tmp_path / "alerts.jsonl"
    run = gridsight(
        installed_example,
        "run",
        str(good),
        "--camera",
        "cam-reservoir-01",
        "--duration",
        "60",
        "--fast",
        "--no-live",
        "--alerts",
        str(alerts),
    )
    assert run.returncode == 0, run.stderr + run.stdout
    events = [json.loads(line) for line in alerts.read_text().splitlines()]
    mine = [e for e in events if e["hazard"] == "my_hazard"]
    assert mine and mine[0]["phase"] == "start", events
    assert mine[0]["camera"] == "cam-reservoir-01" and mine[0]["village"] == "ruijia"
