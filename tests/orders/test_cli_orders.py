"""``gridsight orders list|show|transition|watch`` over a SQLite store."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from gridsight.cli import cli, main
from gridsight.orders.store import OrderStore

from .helpers import Clock, all_day_config, event, service


def _seed(path) -> tuple[str, str]:
    svc = service(OrderStore.open(path), Clock(time.time()))
    water = svc.ingest_event(event())
    lane = svc.ingest_event(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    assert water is not None and lane is not None
    return water.id, lane.id


def test_list_show_transition_watch(tmp_path) -> None:
    db = tmp_path / "o.sqlite"
    water, lane = _seed(db)
    town = str(all_day_config(tmp_path))
    r = CliRunner().invoke(cli, ["orders", "list", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert {o["id"] for o in rows} == {water, lane}
    r = CliRunner().invoke(cli, ["orders", "list", "--db", str(db), "--state", "new"])
    assert r.exit_code == 0 and lane in r.output and water not in r.output
    r = CliRunner().invoke(cli, ["orders", "show", water, "--db", str(db), "--json"])
    shown = json.loads(r.output)
    assert [t["to"] for t in shown["transitions"]] == ["new", "verified", "dispatched"]
    r = CliRunner().invoke(
        cli,
        ["orders", "transition", lane, "verified", "--actor", "operator:alice",
         "--role", "operator", "--db", str(db), "--config", town],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"{lane}: dispatched" in r.output
    r = CliRunner(env={"COLUMNS": "160"}).invoke(
        cli, ["orders", "watch", "--once", "--db", str(db)]
    )
    assert r.exit_code == 0, r.output
    assert "dispatch SLA" in r.output and "met" in r.output and "left" in r.output


def test_illegal_transition_is_one_clear_line(tmp_path, capsys) -> None:
    db = tmp_path / "o.sqlite"
    water, _ = _seed(db)
    try:
        main(["orders", "transition", water, "closed", "--actor", "operator:a",
              "--role", "operator", "--db", str(db)])  # fmt: skip
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err
    assert "is 'dispatched': it cannot become 'closed'" in err
    assert "allowed: acknowledged, escalated, cancelled" in err
    r = CliRunner().invoke(
        cli,
        [
            "orders",
            "transition",
            water,
            "nowhere",
            "--actor",
            "a",
            "--role",
            "operator",
            "--db",
            str(db),
        ],
    )
    assert r.exit_code != 0 and "states: new, verified" in r.output


def test_bad_db_url_is_a_clear_error(tmp_path, capsys) -> None:
    try:
        main(["orders", "list", "--db", "mysql://u@h/x"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "unsupported database 'mysql'" in capsys.readouterr().err
