"""``gridsight serve``: options and errors (the running service is tested through the app)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gridsight.cli import cli, main


def test_serve_help_names_the_options() -> None:
    r = CliRunner().invoke(cli, ["serve", "--help"])
    assert r.exit_code == 0
    for opt in ("--host", "--port", "--db", "--no-engine", "--notify"):
        assert opt in r.output


def test_serve_missing_config_is_one_clear_line(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["serve", str(tmp_path / "nope.yaml"), "--db", str(tmp_path / "x.sqlite")])
    assert exc.value.code == 2
    assert "nope.yaml: no such config file" in capsys.readouterr().err


def test_serve_bad_notify_url_is_a_usage_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["serve", "--no-engine", "--notify", "http://", "--db", str(tmp_path / "x.sqlite")]
    )
    assert r.exit_code == 2 and "--notify" in r.output
