"""The ``gridsight sim`` commands end to end, on short runs."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gridsight.cli import cli

from .conftest import BASELINE


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_prints_the_three_targets_and_writes_json_and_report(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    rep = tmp_path / "rep"
    r = invoke(
        "sim",
        "run",
        str(BASELINE),
        "-n",
        "3",
        "--days",
        "3",
        "--seed",
        "4",
        "-q",
        "--json",
        str(out),
        "--report",
        str(rep),
    )
    assert r.exit_code == 0, r.output
    for phrase in ("within 60 s", "within 55 min", "reduction vs manual patrol", "95% CI"):
        assert phrase in r.output
    doc = json.loads(out.read_text())
    assert set(doc["targets"]) == {"dispatch", "closure", "response_reduction"}
    est = doc["targets"]["closure"]["estimate"]
    assert {"mean", "ci95", "n"} <= set(est) and est["n"] == 3
    assert "only 3 replications" in est.get("warning", "")
    assert {p.name for p in rep.iterdir()} == {
        "report.md",
        "dispatch_closure.png",
        "utilisation.png",
        "ai_vs_patrol.png",
    }
    assert "## Targets" in (rep / "report.md").read_text()
    # Same seed, same bytes.
    out2 = tmp_path / "out2.json"
    invoke(
        "sim",
        "run",
        str(BASELINE),
        "-n",
        "3",
        "--days",
        "3",
        "--seed",
        "4",
        "-q",
        "--json",
        str(out2),
    )
    assert out.read_bytes() == out2.read_bytes()


def test_sweep_tabulates_each_value(tmp_path: Path) -> None:
    r = invoke(
        "sim",
        "sweep",
        str(BASELINE),
        "--vary",
        "verifiers=1,3",
        "-n",
        "2",
        "--days",
        "2",
        "-q",
        "--report",
        str(tmp_path),
    )
    assert r.exit_code == 0, r.output
    rows = [
        line for line in r.output.splitlines() if line.startswith("| 1 ") or line.startswith("| 3 ")
    ]
    assert len(rows) == 2
    assert (tmp_path / "sweep.png").stat().st_size > 0


def test_mmc_prints_simulation_next_to_erlang_c(tmp_path: Path) -> None:
    out = tmp_path / "mmc.json"
    r = invoke(
        "sim",
        "mmc",
        "--arrival-rate",
        "2",
        "--service-rate",
        "1",
        "--servers",
        "3",
        "--replications",
        "5",
        "--horizon",
        "500",
        "--json",
        str(out),
    )
    assert r.exit_code == 0, r.output
    assert "P(wait)" in r.output and "mean wait" in r.output
    doc = json.loads(out.read_text())
    assert doc["checks"][0]["theory"] == 0.444444  # Erlang C(3, 2) = 4/9


def test_unstable_mmc_is_a_clear_error() -> None:
    r = CliRunner().invoke(
        cli, ["sim", "mmc", "--arrival-rate", "3", "--service-rate", "1", "--servers", "3"]
    )
    assert r.exit_code != 0
    assert "unstable queue" in str(r.exception)


def test_bad_trace_line_is_reported_with_file_and_line(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"id": "a"}\n', encoding="utf-8")
    r = CliRunner().invoke(
        cli, ["sim", "run", str(BASELINE), "-n", "1", "--days", "2", "-q", "--alerts", str(trace)]
    )
    assert r.exit_code != 0
    assert "t.jsonl:1: camera: field required" in str(r.exception)


def _trace(tmp_path: Path, starts_s: list[float]) -> Path:
    lines = [
        json.dumps(
            {
                "id": f"e{k}",
                "camera": "cam-reservoir-01",
                "hazard": "near_water",
                "phase": "start",
                "ts": ts,
                "wall_time": "2024-07-01T10:00:00+08:00",
                "village": "ruijia",
                "grid": "ruijia-g01",
                "confidence": 0.8,
                "boxes": [[1, 2, 3, 4]],
                "track_ids": [k],
                "snapshot": None,
            }
        )
        for k, ts in enumerate(starts_s)
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_short_days_replays_the_trace_inside_the_shortened_window(tmp_path: Path) -> None:
    # --days 1 halves the warm-up; the trace must be placed after that warm-up, not the
    # scenario's full one (which put every alarm past the end: all KPIs n/a).
    out = tmp_path / "out.json"
    trace = _trace(tmp_path, [10.0, 600.0, 1200.0])
    r = invoke(
        "sim", "run", str(BASELINE), "-n", "1", "--days", "1", "-q", "--alerts", str(trace),
        "--json", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["kpis"]["alerts"]["mean"] == 3
    assert doc["run"]["trace_alerts_after_horizon"] == 0


def test_trace_entirely_after_the_window_is_an_error(tmp_path: Path) -> None:
    trace = _trace(tmp_path, [5 * 86400.0])
    r = CliRunner().invoke(
        cli, ["sim", "run", str(BASELINE), "-n", "1", "--days", "2", "-q", "--alerts", str(trace)]
    )
    assert r.exit_code != 0
    assert "all 1 alerts of the trace fall after the observation window" in str(r.exception)


def test_trace_partly_after_the_window_warns(tmp_path: Path) -> None:
    trace = _trace(tmp_path, [60.0, 5 * 86400.0])
    r = invoke("sim", "run", str(BASELINE), "-n", "1", "--days", "2", "-q", "--alerts", str(trace))
    assert r.exit_code == 0, r.output
    assert "warning: 1 of 2 alerts" in r.output


def test_empty_trace_is_an_error(tmp_path: Path) -> None:
    trace = tmp_path / "empty.jsonl"
    trace.write_text("\n", encoding="utf-8")
    r = CliRunner().invoke(
        cli, ["sim", "run", str(BASELINE), "-n", "1", "--days", "2", "-q", "--alerts", str(trace)]
    )
    assert r.exit_code != 0
    assert "no 'start' events" in str(r.exception)


def test_sweep_misspelt_parameter_suggests_the_name() -> None:
    r = CliRunner().invoke(
        cli, ["sim", "sweep", str(BASELINE), "--vary", "verifers=1,2", "-n", "2", "--days", "2"]
    )
    assert r.exit_code != 0
    assert "did you mean 'verifiers'?" in str(r.exception)
    r = CliRunner().invoke(
        cli, ["sim", "sweep", str(BASELINE), "--vary", "centre.verifers=1", "-n", "2"]
    )
    assert "did you mean 'verifiers'?" in str(r.exception)


def test_mmc_rejects_non_positive_rates_without_a_traceback() -> None:
    for flag in ("--arrival-rate", "--service-rate"):
        args = {"--arrival-rate": "1", "--service-rate": "1"} | {flag: "0"}
        r = CliRunner().invoke(
            cli, ["sim", "mmc", *[x for kv in args.items() for x in kv], "--servers", "3"]
        )
        assert r.exit_code == 2
        assert f"Invalid value for '{flag}'" in r.output
