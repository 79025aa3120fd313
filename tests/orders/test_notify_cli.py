"""``gridsight run --notify URL``: checked at parse time, needs --db, delivers the store's
outbox through the relay while the engine runs, and publishes camera statuses."""

from __future__ import annotations

import json
import queue
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.orders.notify.receiver import WebhookReceiver
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import outbox

from ..core._tiny_onnx import make_tiny_detector
from ..services import require_mqtt

pytest.importorskip("onnx")

TOWN = """\
id: testtown
name: test town
command_centre: {name: centre, position: [5.0, 4.0]}
villages:
  - {id: east, name: east village, position: [8.0, 4.0]}
grids:
  - {id: east-g01, village: east, position: [8.2, 4.1], micro_grids: 1}
staff: {grid_workers: 1, micro_grid_workers: 1, safety_volunteers: 1}
cameras:
  - id: cam-pond
    name: pond
    village: east
    grid: east-g01
    source: "synthetic://reservoir?seed=3&fps=5&w=320&h=180"
    fps: 5
    resolution: [320, 180]
    zones:
      - {name: water_edge, kind: polygon, points: [[0, 100], [320, 100], [320, 180], [0, 180]]}
    hazards:
      near_water: {zone: water_edge}
"""


@pytest.fixture
def town(tmp_path: Path) -> Path:
    path = tmp_path / "town.yaml"
    path.write_text(TOWN, encoding="utf-8")
    return path


def test_malformed_notify_url_is_a_usage_error(town: Path) -> None:
    r = CliRunner().invoke(cli, ["run", str(town), "--notify", "http//oops", "--no-live"])
    assert r.exit_code == 2
    assert "Invalid value for --notify: 'http//oops': the URL has no scheme" in r.output


def test_notify_needs_the_store(town: Path) -> None:
    r = CliRunner().invoke(cli, ["run", str(town), "--notify", "http://127.0.0.1:9/h", "--no-live"])
    assert r.exit_code != 0
    assert "--notify sends work-order notifications" in str(r.exception or r.output)
    assert "--db" in str(r.exception or r.output)


def test_run_delivers_the_outbox_and_publishes_camera_status(tmp_path: Path, town: Path) -> None:
    broker = require_mqtt()
    prefix = f"gsrun-{uuid.uuid4().hex[:8]}"
    db = tmp_path / "orders.sqlite"
    # A notification an earlier run committed but could not deliver (it crashed).
    store = OrderStore.open(db)
    payload = {"type": "new", "order": {"id": "wo-old"}, "after": "dispatched"}
    with store.begin() as conn:
        conn.execute(
            sa.insert(outbox).values(
                key="wo-old:1:webhook-1",
                channel="webhook-1",
                topic="work_orders",
                kind="new",
                order_id="wo-old",
                payload=json.dumps(payload),
                created_at=0.0,
                attempts=0,
                next_attempt_at=0.0,
            )
        )
    store.close()
    model = make_tiny_detector(tmp_path / "tiny.onnx")
    with WebhookReceiver(secret="cli-secret") as rx:
        r = CliRunner(env={"GRIDSIGHT_WEBHOOK_SECRET": "cli-secret"}).invoke(
            cli,
            [
                "run",
                str(town),
                "--duration",
                "2",
                "--model",
                str(model),
                "--backend",
                "onnxruntime",
                "--db",
                str(db),
                "--no-live",
                "--notify",
                rx.url,
                "--notify",
                f"{broker}/{prefix}",
            ],
        )
        assert r.exit_code == 0, r.output
        assert [x.key for x in rx.accepted] == ["wo-old:1:webhook-1"]
        assert rx.accepted[0].signature_ok
    assert "notify webhook-1: 1 delivered, 0 pending, 0 dead" in r.output
    assert "notify mqtt-1: 0 delivered, 0 pending, 0 dead" in r.output
    # The run's last camera state is retained on the broker.
    parts = urlsplit(broker)
    got: queue.Queue[tuple[str, bytes]] = queue.Queue()
    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    c.on_message = lambda _c, _u, m: got.put((m.topic, m.payload))
    c.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    c.loop_start()
    c.subscribe(f"{prefix}/cameras/+/status", qos=1)
    try:
        topic, body = got.get(timeout=5)
        assert topic == f"{prefix}/cameras/cam-pond/status"
        status = json.loads(body)
        assert status["state"] == "ended" and status["frames"] == 10
    finally:
        for t in (f"{prefix}/cameras/cam-pond/status", f"{prefix}/available"):
            c.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
        c.disconnect()
        c.loop_stop()
