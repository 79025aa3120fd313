"""The signed JSON webhook against the real local receiver: signature, headers, answers."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from gridsight.orders.notify.base import DeliveryError
from gridsight.orders.notify.receiver import WebhookReceiver
from gridsight.orders.notify.webhook import WebhookNotifier, encode_body, verify_signature

SECRET = "test-secret-3f9a"

PAYLOAD = {
    "type": "new",
    "order": {"id": "wo-abc", "kind": "near_water", "assignee": "w-12"},
    "before": None,
    "after": "dispatched",
    "hazard": "near_water",
    "village": "ruijia",
    "grid": "ruijia-01",
    "camera": "cam-reservoir",
    "snapshot": "evidence/ev-1.jpg",
    "dispatch_due_at": 1_700_000_060.0,
    "close_due_at": 1_700_003_300.0,
    "ack_token": "tok",
    "idempotency_key": "wo-abc:1:webhook-1",
    "note": "人员近水 — 赭山头水库",
}


@pytest.fixture
def receiver():
    with WebhookReceiver(secret=SECRET) as rx:
        yield rx


def test_signature_is_hmac_sha256_of_the_exact_body(receiver):
    n = WebhookNotifier(receiver.url, secret=SECRET, timeout_s=2)
    n.send(PAYLOAD, key="wo-abc:1:webhook-1")
    n.close()
    (got,) = receiver.received
    # Recompute the signature here, independently of the code under test.
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Gridsight-Signature"] == expected
    assert got.signature_ok is True
    assert json.loads(got.body) == PAYLOAD  # the body is the notification, unicode intact
    assert got.headers["Idempotency-Key"] == "wo-abc:1:webhook-1"
    assert got.headers["X-Gridsight-Event"] == "new"
    assert got.headers["Content-Type"].startswith("application/json")
    assert got.path == "/hook"


def test_wrong_secret_is_rejected_and_not_retryable_forever(receiver):
    n = WebhookNotifier(receiver.url, secret="not-the-secret", timeout_s=2)
    with pytest.raises(DeliveryError) as info:
        n.send(PAYLOAD, key="k1")
    assert "401" in str(info.value)
    assert info.value.permanent  # a wrong secret will not fix itself
    assert receiver.received[0].signature_ok is False


def test_verify_signature_rejects_tampered_body():
    body = encode_body(PAYLOAD)
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert verify_signature(body, sig, SECRET)
    assert not verify_signature(body.replace(b"ruijia", b"tai"), sig, SECRET)
    assert not verify_signature(body, None, SECRET)
    assert not verify_signature(body, sig, SECRET + "x")


def test_500_is_retryable_4xx_permanent_429_honours_retry_after():
    with WebhookReceiver(responses=[500, 404, 429]) as rx:
        n = WebhookNotifier(rx.url, secret=None, timeout_s=2)
        with pytest.raises(DeliveryError) as e500:
            n.send(PAYLOAD, key="k")
        assert not e500.value.permanent and "500" in str(e500.value)
        with pytest.raises(DeliveryError) as e404:
            n.send(PAYLOAD, key="k")
        assert e404.value.permanent
        with pytest.raises(DeliveryError) as e429:
            n.send(PAYLOAD, key="k")
        assert not e429.value.permanent
        n.send(PAYLOAD, key="k")  # then 200
        assert [r.status for r in rx.received] == [500, 404, 429, 200]
        # unsigned: no signature header at all
        assert "X-Gridsight-Signature" not in rx.received[-1].headers


def test_hanging_receiver_costs_one_timeout():
    with WebhookReceiver(responses=["hang"], hang_s=10) as rx:
        n = WebhookNotifier(rx.url, secret=SECRET, timeout_s=0.5)
        with pytest.raises(DeliveryError) as info:
            n.send(PAYLOAD, key="k")
        # The client's timeout fired (a receiver that answered after its hang would not
        # give this error), whatever the machine's load made it take.
        assert "no answer within 0.5 s" in str(info.value)
        n.send(PAYLOAD, key="k")  # a fresh connection works afterwards
        assert rx.received[-1].status == 200


def test_connection_refused_is_a_delivery_error():
    with WebhookReceiver() as rx:
        url = rx.url
    n = WebhookNotifier(url, secret=None, timeout_s=1)
    with pytest.raises(DeliveryError, match=r"webhook http://127\.0\.0\.1"):
        n.send(PAYLOAD, key="k")


def test_keep_alive_connection_is_reused_and_survives_server_restart():
    rx = WebhookReceiver().start()
    port = rx.port
    n = WebhookNotifier(rx.url, secret=None, timeout_s=2)
    for i in range(3):
        n.send({"type": "update", "i": i}, key=f"k{i}")
    rx.stop()
    rx2 = WebhookReceiver(port=port).start()
    try:
        n.send({"type": "update", "i": 3}, key="k3")  # stale kept-alive socket -> reconnect
        assert [r.json["i"] for r in rx.received] == [0, 1, 2]
        assert [r.json["i"] for r in rx2.received] == [3]
    finally:
        rx2.stop()
        n.close()


def test_receiver_marks_duplicates_by_idempotency_key(receiver):
    n = WebhookNotifier(receiver.url, secret=SECRET, timeout_s=2)
    n.send(PAYLOAD, key="same")
    n.send(PAYLOAD, key="same")
    n.send(PAYLOAD, key="other")
    assert [r.duplicate for r in receiver.received] == [False, True, False]
    assert len(receiver.accepted) == 2
    assert receiver.wait_for(2, timeout_s=0.1)
    assert not receiver.wait_for(3, timeout_s=0.1)


def test_receiver_records_jsonl(tmp_path):
    rec = tmp_path / "got.jsonl"
    with WebhookReceiver(secret=SECRET, record=rec) as rx:
        WebhookNotifier(rx.url, secret=SECRET).send(PAYLOAD, key="k1")
    (line,) = rec.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["body"]["order"]["id"] == "wo-abc"
    assert json.loads(line)["signature_ok"] is True
