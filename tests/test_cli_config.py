"""`gridsight config check` and `gridsight config schema` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridsight.cli import cli

JINGQIAO = Path(__file__).resolve().parents[1] / "configs" / "jingqiao.yaml"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_check_jingqiao_summary():
    result = run("config", "check", str(JINGQIAO))
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert "villages/communities 12 (6 placeholders)" in lines
    assert "comprehensive grids 49" in lines
    assert "micro-grids 186" in lines
    assert "AI cameras 12" in lines
    assert "grid workers (网格员) 49" in lines
    assert "micro-grid workers (微网格员) 186" in lines
    assert "safety volunteers (平安志愿者) 260" in lines
    for hazard, count in {"ebike": 4, "fire_lane": 3, "near_water": 2, "vending": 3}.items():
        assert f"{hazard} {count}" in lines
    assert any(line.startswith("hazard settings: valid for the loaded plugins") for line in lines)


def test_check_json():
    result = run("config", "check", "--json", str(JINGQIAO))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["villages"], summary["grids"], summary["micro_grids"], summary["cameras"]) == (
        12,
        49,
        186,
        12,
    )
    assert summary["staff"]["grid_workers"] == 49
    assert summary["hazard_plugins_checked"] >= 4


def test_check_misspelt_key_exits_2_naming_file_line_key(tmp_path):
    text = JINGQIAO.read_text(encoding="utf-8").replace(
        "safety_volunteers: 260", "safety_volunters: 260"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    line = next(k + 1 for k, ln in enumerate(text.splitlines()) if "safety_volunters" in ln)
    result = run("config", "check", str(bad))
    assert result.exit_code == 2
    assert (
        f"{bad}:{line}:3: staff.safety_volunters: unknown key 'safety_volunters'" in result.output
    )
    assert "did you mean 'safety_volunteers'?" in result.output


def test_check_bad_hazard_setting_exits_2(tmp_path):
    text = JINGQIAO.read_text(encoding="utf-8").replace(
        "near_water: {zone: water_edge}", "near_water: {zone: water_edge, confirm_s: soon}", 1
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    result = run("config", "check", str(bad))
    assert result.exit_code == 2
    assert "camera 'cam-reservoir-01', hazard 'near_water': confirm_s" in result.output
    # Without the plugins the settings are not checked, and the rest is valid.
    assert run("config", "check", "--no-plugins", str(bad)).exit_code == 0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("synthetic://reservoir?seed=101", "synthetic://reservor?seed=101", "scene 'reservor'"),
        ("synthetic://reservoir?seed=101", "synthetic://reservoir?seed=10x", "'seed'='10x'"),
        ("synthetic://reservoir?seed=101", "synthetc://reservoir?seed=101", "synthetic://?"),
    ],
)
def test_check_bad_source_uri_exits_2_naming_line_and_camera(tmp_path, old, new, expected):
    text = JINGQIAO.read_text(encoding="utf-8").replace(old, new, 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    line = next(k + 1 for k, ln in enumerate(text.splitlines()) if new in ln)
    result = run("config", "check", str(bad))
    assert result.exit_code == 2, result.output
    assert f"{bad}:{line}:" in result.output
    assert "cameras[0].source" in result.output or "camera 'cam-reservoir-01'" in result.output
    assert expected in result.output
    assert run("config", "check", "--no-plugins", str(bad)).exit_code == 0


def test_check_accepts_plain_paths_and_stream_uris(tmp_path):
    text = JINGQIAO.read_text(encoding="utf-8")
    text = text.replace('"synthetic://reservoir?seed=101&fps=5&w=640&h=360"', "/data/cam1.mp4")
    text = text.replace('"synthetic://reservoir?seed=102&fps=5&w=640&h=360"', "rtsp://cam/s1")
    ok = tmp_path / "ok.yaml"
    ok.write_text(text, encoding="utf-8")
    result = run("config", "check", str(ok))
    assert result.exit_code == 0, result.output


def test_check_missing_file_exits_2(tmp_path):
    result = run("config", "check", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2
    assert "no such config file" in result.output


def test_schema_is_valid_json_schema(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    result = run("config", "schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {"villages", "grids", "cameras", "staff", "travel"} <= set(schema["properties"])
    # It rejects a misspelt key, as the loader does.
    validator = jsonschema.Draft202012Validator(schema)
    doc = {
        "id": "t",
        "name": "t",
        "command_centre": {"name": "c", "position": [1, 1]},
        "villages": [{"id": "v", "name": "v", "position": [1, 1]}],
        "grids": [{"id": "g", "village": "v", "position": [1, 1], "micro_grids": 2}],
    }
    assert list(validator.iter_errors(doc)) == []
    doc["villages"][0]["positon"] = [1, 1]
    assert any("positon" in e.message for e in validator.iter_errors(doc))

    out = tmp_path / "schema.json"
    assert run("config", "schema", "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema


def test_help_on_every_config_subcommand():
    for sub in ("check", "schema", "refresh-zones"):
        result = run("config", sub, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


def test_check_reads_the_orders_section(tmp_path):
    # The core township model carries `orders:`; a changed value is read, not rejected.
    text = JINGQIAO.read_text(encoding="utf-8")
    assert "\norders:\n" in text
    changed = text.replace("    close_min: 55 ", "    close_min: 50 ", 1)
    assert changed != text
    path = tmp_path / "orders.yaml"
    path.write_text(changed, encoding="utf-8")
    result = run("config", "check", str(path))
    assert result.exit_code == 0, result.output
    from gridsight.core.config import load_township

    assert load_township(path).orders.sla.close_min == 50.0
    assert load_township(JINGQIAO).orders.sla.close_min == 55.0


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("    dispatch_s: 60 ", "    dispach_s: 60 ", "orders.sla.dispach_s", "unknown key"),
        (
            "near_water: {auto_verify: true,",
            "near_water: {auto_verfy: true,",
            "orders.hazards.near_water.auto_verfy",
            "unknown key",
        ),
        ("    close_min: 55 ", "    close_min: -5 ", "orders.sla.close_min", "greater than 0"),
    ],
)
def test_check_orders_typo_exits_2_naming_file_line_field(tmp_path, old, new, field, message):
    text = JINGQIAO.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    line = next(k + 1 for k, ln in enumerate(text.splitlines()) if new.strip() in ln)
    result = run("config", "check", str(bad))
    assert result.exit_code == 2, result.output
    assert f"{bad}:{line}:" in result.output
    assert f"{field}:" in result.output
    assert message in result.output
