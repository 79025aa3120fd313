"""The acknowledge link of a dispatch message: signed, expiring, and usable from a phone
(GET shows, POST acknowledges)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gridsight.orders.notify.ack import ack_token, verify_ack_token
from gridsight.orders.service import ACK_TTL_S
from gridsight.orders.tables import outbox

from .conftest import Api, make_api, manual_order

SECRET = "ack-secret-for-the-tests-0123"


@pytest.fixture
def acking(tmp_path: Path, township: object) -> Iterator[Api]:
    yield from make_api(tmp_path, township, _ack_secret=SECRET)


def _dispatch_token(api: Api, order_id: str) -> str:
    with api.services.store.read() as conn:
        rows = conn.execute(sa.select(outbox.c.payload).order_by(outbox.c.id)).all()
    tokens = [
        p["ack_token"]
        for p in (json.loads(r.payload) for r in rows)
        if p.get("order", {}).get("id") == order_id and p.get("ack_token")
    ]
    assert tokens, "the dispatch notification carries an acknowledge token"
    return str(tokens[-1])


def test_the_dispatch_link_expires(acking: Api) -> None:
    order = manual_order(acking)
    claim = verify_ack_token(_dispatch_token(acking, order["id"]), SECRET)
    assert claim.order_id == order["id"] and claim.worker == order["assignee"]
    assert claim.expires_at == pytest.approx(acking.clock() + ACK_TTL_S)


def test_the_link_shows_on_get_and_acknowledges_on_post(acking: Api) -> None:
    order = manual_order(acking)
    token = _dispatch_token(acking, order["id"])
    page = acking.client.get("/ack", params={"token": token})
    assert page.status_code == 200 and 'id="ack-submit"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert acking.services.orders.get(order["id"]).state == "dispatched"  # a preview
    done = acking.client.post("/ack", data={"token": token})
    assert done.status_code == 200 and 'id="ack-submit"' not in done.text
    view = acking.services.orders.get(order["id"])
    assert view.state == "acknowledged"
    assert view.transitions[-1].actor == f"worker:{order['assignee']}"


def test_an_expired_forged_or_foreign_link_acknowledges_nothing(acking: Api) -> None:
    order = manual_order(acking)
    token = _dispatch_token(acking, order["id"])
    forged = ack_token(order["id"], order["assignee"], "not-the-secret", expires_at=1e12)
    assert acking.client.post("/ack", data={"token": forged}).status_code == 400
    forever = ack_token(order["id"], order["assignee"], SECRET)  # no expiry
    assert acking.client.post("/ack", data={"token": forever}).status_code == 400
    other = ack_token(order["id"], "gw-someone-else", SECRET, expires_at=acking.clock() + 60)
    assert acking.client.post("/ack", data={"token": other}).status_code == 409
    acking.clock.advance(ACK_TTL_S + 1)
    late = acking.client.post("/ack", data={"token": token})
    assert late.status_code == 400
    assert acking.services.orders.get(order["id"]).state == "dispatched"
