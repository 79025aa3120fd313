"""The verification suite passes (short runs) and its checks can fail."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.governance_sim.verify import Check

from .conftest import BASELINE


def test_quick_verification_suite_passes_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "v.json"
    r = CliRunner().invoke(
        cli,
        ["sim", "verify", "--quick", "--scenario", str(BASELINE), "--json", str(out)],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["passed"] is True
    names = " ".join(c["name"] for c in doc["checks"])
    for part in (
        "M/M/c",
        "township model centre",
        "M/M/1",
        "M/D/1",
        "Pollaczek",
        "Little",
        "extreme",
        "field queue M/G/3",
        "vs Ciw",
        "Allen-Cunneen",
    ):
        assert part in names
    assert len(doc["checks"]) >= 16


def test_a_check_fails_outside_three_standard_errors() -> None:
    ok = Check("x", estimate=1.02, ci95=(1.0, 1.04), theory=1.0, n=10, rel_tol=0.0, se=0.01)
    bad = Check("x", estimate=1.05, ci95=(1.03, 1.07), theory=1.0, n=10, rel_tol=0.01, se=0.01)
    assert ok.passed and not bad.passed
