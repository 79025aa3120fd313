"""``gridsight cluster status|drain|camera-put|camera-remove`` against a real NATS."""

from __future__ import annotations

import asyncio
import json

import yaml
from click.testing import CliRunner

from gridsight.cli import cli as main
from gridsight.live.cluster.control import open_store
from gridsight.live.cluster.kv import read_all

from ...services import require_nats
from .helpers import fresh_names, town_cameras


def test_status_json_shape_drain_and_camera_changes(tmp_path) -> None:
    nats = require_nats()
    names = fresh_names()
    base = ["--nats", nats, "--cluster", names.name]
    runner = CliRunner()
    cam = town_cameras()[0]
    path = tmp_path / "cam.yaml"
    path.write_text(yaml.safe_dump(cam.model_dump(mode="json")))
    out = runner.invoke(main, ["cluster", "camera-put", str(path), *base])
    assert out.exit_code == 0, out.output
    out = runner.invoke(main, ["cluster", "status", "--json", *base])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data == {
        "nodes": [],
        "cameras": [
            {
                "id": cam.id,
                "node": None,
                "epoch": None,
                "state": "unassigned",
                "assigned": None,
                "fps": 0.0,
            }
        ],
    }
    out = runner.invoke(main, ["cluster", "drain", "n7", *base])
    assert out.exit_code == 0, out.output

    async def drains() -> set[str]:
        nc, store = await open_store(nats, names)
        try:
            return set(await read_all(store.drain))
        finally:
            await nc.close()

    assert asyncio.run(drains()) == {"n7"}
    data = json.loads(runner.invoke(main, ["cluster", "status", "--json", *base]).output)
    assert [(n["id"], n["alive"], n["draining"]) for n in data["nodes"]] == [("n7", False, True)]
    assert runner.invoke(main, ["cluster", "drain", "n7", "--undo", *base]).exit_code == 0
    assert asyncio.run(drains()) == set()
    out = runner.invoke(main, ["cluster", "camera-remove", cam.id, *base])
    assert out.exit_code == 0, out.output
    data = json.loads(runner.invoke(main, ["cluster", "status", "--json", *base]).output)
    assert data["cameras"] == []


def test_a_bad_camera_file_names_the_field(tmp_path) -> None:
    nats = require_nats()
    path = tmp_path / "cam.yaml"
    path.write_text("id: x\nfps: -3\n")
    out = CliRunner().invoke(main, ["cluster", "camera-put", str(path), "--nats", nats])
    message = str(out.exception)
    assert "cam.yaml" in message and "fps: Input should be greater than 0" in message


def test_an_unreachable_nats_is_a_clear_error() -> None:
    out = CliRunner().invoke(main, ["cluster", "status", "--nats", "nats://127.0.0.1:1"])
    assert "NATS at nats://127.0.0.1:1" in str(out.exception)
