"""The MQTT notifier against the real broker (GRIDSIGHT_TEST_MQTT_URL, default Mosquitto on
127.0.0.1:1883): topics, payloads, retained camera status, delivery through the relay."""

from __future__ import annotations

import json
import queue
import time
import uuid
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa

from gridsight.core.errors import ConfigError
from gridsight.orders.notify.base import DeliveryError
from gridsight.orders.notify.mqtt import MqttNotifier, topics_for
from gridsight.orders.notify.relay import OutboxRelay
from gridsight.orders.tables import outbox

from ..services import require_mqtt


class Subscriber:
    """A paho client collecting (topic, payload, retain) from ``<prefix>/#``."""

    def __init__(self, url: str, topic: str) -> None:
        parts = urlsplit(url)
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        subscribed = queue.Queue()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload, m.retain))
        self.client.on_subscribe = lambda *a: subscribed.put(True)
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        subscribed.get(timeout=5)

    def take(self, n: int, timeout_s: float = 5.0) -> list[tuple[str, bytes, bool]]:
        out = []
        deadline = time.monotonic() + timeout_s
        while len(out) < n:
            out.append(self.messages.get(timeout=max(0.01, deadline - time.monotonic())))
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker() -> str:
    return require_mqtt()


@pytest.fixture
def prefix(broker):
    p = f"gstest-{uuid.uuid4().hex[:10]}"
    yield p
    # Clear the retained topics this test left on the broker.
    parts = urlsplit(broker)
    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    c.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    c.loop_start()
    for topic in (f"{p}/available", f"{p}/cameras/cam-01/status", f"{p}/cameras/cam-02/status"):
        c.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


ORDER = {
    "type": "new",
    "order": {"id": "wo-7f", "kind": "near_water", "state": "dispatched"},
    "before": None,
    "after": "dispatched",
    "hazard": "near_water",
    "village": "ruijia",
    "grid": "ruijia-01",
    "camera": "cam-01",
}


def test_topics_and_payloads_on_the_broker(broker, prefix):
    sub = Subscriber(broker, f"{prefix}/#")
    n = MqttNotifier(f"{broker}/{prefix}", timeout_s=5)
    try:
        assert n.wait_connected(5)
        (avail,) = sub.take(1)
        assert avail[0] == f"{prefix}/available" and avail[1] == b"online"
        n.send(ORDER, key="wo-7f:1:mqtt-1")
        n.send(
            {**ORDER, "type": "escalation", "before": "dispatched", "after": "escalated"},
            key="wo-7f:2:mqtt-1",
        )
        n.send(
            {**ORDER, "type": "update", "before": "resolved", "after": "closed"},
            key="wo-7f:3:mqtt-1",
        )
        event = {"id": "ev-1", "camera": "cam-01", "hazard": "near_water", "phase": "start"}
        n.send({"type": "new", "event": event}, key="ev-1:start:mqtt-1")
        n.send(
            {"type": "camera_status", "camera": "cam-01", "status": {"state": "running"}},
            key="cam-01:status",
        )
        got = sub.take(5)
    finally:
        n.close()
        sub.close()
    topics = [t for t, _, _ in got]
    assert topics == [f"{prefix}/work_orders/wo-7f"] * 3 + [
        f"{prefix}/events",
        f"{prefix}/cameras/cam-01/status",
    ]
    msgs = [json.loads(p) for _, p, _ in got]
    assert [(m["type"], m["before"], m["after"]) for m in msgs[:3]] == [
        ("new", None, "dispatched"),
        ("update", "dispatched", "escalated"),
        ("end", "resolved", "closed"),
    ]
    assert msgs[1]["notification"] == "escalation"
    assert msgs[0]["order"]["id"] == "wo-7f" and msgs[0]["idempotency_key"] == "wo-7f:1:mqtt-1"
    assert msgs[3]["event"]["id"] == "ev-1" and msgs[3]["type"] == "new"
    assert msgs[4] == {"state": "running"}


def test_camera_status_is_retained_for_late_subscribers(broker, prefix):
    n = MqttNotifier(f"{broker}/{prefix}", timeout_s=5)
    n.send({"type": "camera_status", "camera": "cam-01", "status": {"state": "failed"}}, key="s1")
    late = Subscriber(broker, f"{prefix}/cameras/+/status")
    try:
        ((topic, payload, retain),) = late.take(1)
    finally:
        late.close()
    assert topic == f"{prefix}/cameras/cam-01/status"
    assert retain is True and json.loads(payload) == {"state": "failed"}
    n.close()
    # The will/close message: a late subscriber sees the publisher is offline.
    late2 = Subscriber(broker, f"{prefix}/available")
    try:
        ((_, avail, retained),) = late2.take(1)
    finally:
        late2.close()
    assert avail == b"offline" and retained


def test_relay_delivers_outbox_rows_to_mqtt(broker, prefix, store):
    sub = Subscriber(broker, f"{prefix}/work_orders/#")
    n = MqttNotifier(f"{broker}/{prefix}", timeout_s=5)
    with store.begin() as conn:
        for i in range(3):
            payload = {**ORDER, "order": {"id": f"wo-{i}"}}
            conn.execute(
                sa.insert(outbox).values(
                    key=f"wo-{i}:1:mqtt-1",
                    channel="mqtt-1",
                    topic="work_orders",
                    kind="new",
                    order_id=f"wo-{i}",
                    payload=json.dumps(payload),
                    created_at=0.0,
                    attempts=0,
                    next_attempt_at=0.0,
                )
            )
    relay = OutboxRelay(store.engine, {"mqtt-1": n})
    try:
        assert relay.run_once() == 3
        got = sub.take(3)
    finally:
        relay.close()
        sub.close()
    assert sorted(t for t, _, _ in got) == [f"{prefix}/work_orders/wo-{i}" for i in range(3)]
    assert relay.counts() == {"pending": 0, "delivered": 3, "dead": 0}


def test_unreachable_broker_fails_the_send_not_the_caller():
    # Port 9 (discard) on loopback: nothing listens there.
    n = MqttNotifier("mqtt://127.0.0.1:9/x", timeout_s=0.3)
    try:
        with pytest.raises(DeliveryError, match=r"MQTT mqtt://127\.0\.0\.1:9/x"):
            n.send(ORDER, key="k")
    finally:
        n.close()


def test_bad_payloads_and_urls():
    with pytest.raises(DeliveryError) as info:
        topics_for("p", {"type": "new"})
    assert info.value.permanent
    with pytest.raises(DeliveryError, match="not usable in a topic"):
        topics_for("p", {"type": "new", "order": {"id": "wo/../#"}})
    with pytest.raises(ConfigError, match="has no host"):
        MqttNotifier("mqtt://:1883/x")
    with pytest.raises(ConfigError, match="may not contain MQTT wildcards"):
        MqttNotifier("mqtt://127.0.0.1:1883/a/#")
    with pytest.raises(ConfigError, match="topic prefix 'a/\\+' may not contain"):
        MqttNotifier("mqtt://127.0.0.1:1883/a/+")
    with pytest.raises(ConfigError, match="has '\\?' or '#'"):
        MqttNotifier("mqtt://127.0.0.1:1883/a?qos=2")


def test_camera_status_publisher_sends_changes_retained(broker, prefix):
    from dataclasses import dataclass

    from gridsight.orders.notify.camera_status import CameraStatusPublisher
    from gridsight.orders.notify.webhook import WebhookNotifier

    @dataclass
    class Cam:
        camera: str
        state: str
        frames: int = 0
        fps: float = 0.0

    @dataclass
    class Status:
        cameras: tuple

    current = Status((Cam("cam-01", "starting"), Cam("cam-02", "running", 10, 4.987)))
    n = MqttNotifier(f"{broker}/{prefix}", timeout_s=5)
    hook = WebhookNotifier("http://127.0.0.1:9/never", secret=None)  # not a status notifier
    pub = CameraStatusPublisher([n, hook], lambda: current, refresh_s=3600)
    try:
        assert pub.notifiers == [n]
        assert pub.publish_once() == 2
        assert pub.publish_once() == 0  # nothing changed
        current = Status((Cam("cam-01", "failed"), Cam("cam-02", "running", 99, 5.0)))
        assert pub.publish_once() == 1  # only cam-01's state changed
        late = Subscriber(broker, f"{prefix}/cameras/+/status")
        try:
            got = {t: json.loads(p) for t, p, r in late.take(2) if r}
        finally:
            late.close()
    finally:
        n.close()
    assert got[f"{prefix}/cameras/cam-01/status"]["state"] == "failed"
    assert got[f"{prefix}/cameras/cam-02/status"] == {"state": "running", "frames": 10, "fps": 4.99}
