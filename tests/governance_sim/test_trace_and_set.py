"""``sim run --trace`` writes the contract's columns; ``--set`` and ``--vary`` take JSON
values (lists included), and every sweep value is checked before the first run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.core.errors import ConfigError
from gridsight.governance_sim import sweep as sw
from gridsight.governance_sim.trace import COLUMNS

from .conftest import BASELINE


def test_trace_has_one_row_per_alarm_and_request_with_the_contract_columns(
    tmp_path: Path,
) -> None:
    out = tmp_path / "t.csv"
    r = CliRunner().invoke(
        cli,
        ["sim", "run", str(BASELINE), "-n", "2", "--days", "3", "-q", "--trace", str(out),
         "--set", "verifiers=3", "--set", "staffing.grid_worker.shift_h=[7, 19]",
         "--json", str(tmp_path / "r.json")],
        catch_exceptions=False,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS
    assert {row["replication"] for row in rows} == {"0", "1"}
    kinds = {row["kind"] for row in rows}
    assert {"alarm", "false_alarm", "qr_request"} <= kinds
    for row in rows:
        t = {c: float(row[c]) if row[c] else None for c in COLUMNS[4:9]}
        steps = [t[c] for c in ("alarm_s", "verified_s", "dispatched_s", "on_site_s", "closed_s")]
        seen = [x for x in steps if x is not None]
        assert seen == sorted(seen), row  # the steps that happened, in order
        if row["kind"] == "alarm" and t["closed_s"] is not None:
            assert row["worker"] and t["dispatched_s"] is not None and row["camera"]
        if row["kind"] == "false_alarm" and not row["worker"]:
            assert t["dispatched_s"] is None and t["closed_s"] is None
        if row["kind"] not in ("alarm", "false_alarm"):
            assert row["camera"] == "" and row["hazard"] == ""
        assert row["village"]
    import json

    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["run"]["verifiers"] == 3 and doc["run"]["set"][0] == "verifiers=3"


def test_vary_and_set_take_json_lists() -> None:
    _, path, values = sw.parse_vary("staffing.grid_worker.shift_h=[7,19],[8,18]")
    assert path == "staffing.grid_worker.shift_h" and values == [[7, 19], [8, 18]]
    assert sw.parse_vary("verifiers=1,2,3")[2] == [1, 2, 3]
    assert sw.parse_vary("policy=grid_owner_first,least_loaded")[2] == [
        "grid_owner_first",
        "least_loaded",
    ]
    assert sw.parse_set('centre.verify_s={"dist": "exp", "mean": 30, "cv": 1}') == (
        "centre.verify_s",
        {"dist": "exp", "mean": 30, "cv": 1},
    )
    with pytest.raises(ConfigError, match="did you mean 'verifiers'"):
        sw.parse_set("verifier=3")


def test_a_bad_sweep_value_fails_before_any_replication_runs(baseline, monkeypatch) -> None:
    sc, town = baseline
    ran: list[int] = []
    monkeypatch.setattr(sw, "run_replications", lambda *a, **k: ran.append(1) or [])
    with pytest.raises(ConfigError, match=r"centre\.verifiers"):
        sw.run_sweep(sc, town, "verifiers", "centre.verifiers", [2, 3, 0], replications=1,
                     days=2.0, seed=1)  # fmt: skip
    assert ran == []
