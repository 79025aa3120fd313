"""The Apprise notifier through a URL Apprise supports (json://) to the local receiver, and
what a rendered notification names."""

from __future__ import annotations

import pytest

from gridsight.core.errors import ConfigError
from gridsight.core.plugins import build_plugin_manager
from gridsight.orders.notify.apprise_notifier import AppriseNotifier
from gridsight.orders.notify.base import DeliveryError, notifier_for_url
from gridsight.orders.notify.ratelimit import digest_payload
from gridsight.orders.notify.receiver import WebhookReceiver
from gridsight.orders.notify.render import clock

NOTE = {
    "type": "new",
    "order": {"id": "wo-51", "kind": "fire_lane", "assignee": "w-ruijia-01", "title": "车辆占用"},
    "before": "verified",
    "after": "dispatched",
    "transition": {"seq": 3, "actor": "system", "at": 1_700_000_010.0, "note": None},
    "hazard": "fire_lane",
    "village": "ruijia",
    "grid": "ruijia-02",
    "camera": "cam-07",
    "snapshot": "evidence/ev-51.jpg",
    "dispatch_due_at": 1_700_000_060.0,
    "close_due_at": 1_700_003_300.0,
    "ack_token": "TOKEN123",
    "ack_url": "http://centre.local/ack?token=TOKEN123",
}


def test_json_url_posts_a_message_naming_order_place_evidence_due_and_ack():
    with WebhookReceiver() as rx:
        url = f"json://127.0.0.1:{rx.port}/apprise"
        n = notifier_for_url(url, build_plugin_manager())
        assert isinstance(n, AppriseNotifier)
        n.send(NOTE, key="wo-51:3:apprise-1")
        (got,) = rx.received
    assert got.path.startswith("/apprise")
    body = got.json
    assert body["title"].startswith("[fire_lane] new work order wo-51 (dispatched)")
    text = body["message"]
    for expected in (
        "wo-51",
        "verified -> dispatched",
        "village ruijia, grid ruijia-02, camera cam-07",
        "evidence/ev-51.jpg",
        f"Dispatch due: {clock(1_700_000_060.0)}",
        f"Close due: {clock(1_700_003_300.0)}",
        "w-ruijia-01",
        "http://centre.local/ack?token=TOKEN123",
        "车辆占用",
    ):
        assert expected in text, (expected, text)


def test_escalation_is_a_failure_type_message():
    with WebhookReceiver() as rx:
        n = AppriseNotifier(f"json://127.0.0.1:{rx.port}/")
        n.send({**NOTE, "type": "escalation", "after": "escalated"}, key="k")
        (got,) = rx.received
    assert got.json["type"] == "failure"
    assert "ESCALATED" in got.json["title"]


def test_a_digest_lists_each_folded_notification():
    items = [(f"wo-{i}:1:a", {**NOTE, "order": {"id": f"wo-{i}"}}) for i in range(40)]
    with WebhookReceiver() as rx:
        n = AppriseNotifier(f"json://127.0.0.1:{rx.port}/")
        n.send(digest_payload("apprise-1", items, now=0.0), key="d")
        (got,) = rx.received
    assert "40 notifications (digest" in got.json["title"]
    lines = got.json["message"].splitlines()
    assert lines[0].startswith("- wo-0 fire_lane ruijia/ruijia-02")
    assert lines[-1] == "- … and 10 more (see the work-order list)"


def test_failed_send_raises_with_apprises_reason():
    with WebhookReceiver(responses=[500]) as rx:
        n = AppriseNotifier(f"json://127.0.0.1:{rx.port}/", timeout_s=2)
        with pytest.raises(DeliveryError, match=r"Apprise json://127\.0\.0\.1"):
            n.send(NOTE, key="k")
    n = AppriseNotifier("json://127.0.0.1:9/", timeout_s=1)  # nothing listens on port 9
    with pytest.raises(DeliveryError, match="Connection error"):
        n.send(NOTE, key="k")


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("wecombot://0123456789abcdef", (20, 60.0)),
        ("dingtalk://0123456789abcdef/", (20, 60.0)),
        ("ntfy://gridsight-alerts", None),
        ("mailtos://user:pass@smtp.example.org?to=ops@example.org", None),
    ],
)
def test_chat_bots_get_their_default_rate_limit(url, limit):
    n = notifier_for_url(url, build_plugin_manager())
    assert n.name == "apprise"
    assert n.default_rate_limit() == limit
    assert "0123456789abcdef" not in n.describe()  # tokens are not echoed in logs
    assert "pass@" not in n.describe()


def test_scheme_apprise_does_not_know_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        notifier_for_url("bogus://x", build_plugin_manager())
    msg = str(info.value)
    assert "'bogus://x'" in msg and "Apprise does not accept it" in msg
    assert "wecombot://" in msg and "mqtt://" in msg  # says what would work
    with pytest.raises(ConfigError, match="missing parts"):
        notifier_for_url("wecombot://", build_plugin_manager())
