"""The order page, the history (filters, search by id) and its CSV export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gridsight.orders.config import OrdersTownship, Supervisor

from .conftest import Api, make_api, manual_order


def _browser(api: Api, name: str) -> TestClient:
    browser = TestClient(api.client.app)
    r = browser.post("/api/v1/auth/login", json={"name": name, "password": f"{name}-password"})
    assert r.status_code == 200
    return browser


def test_the_order_page_shows_the_timeline_with_actor_and_time_and_the_clocks(api: Api) -> None:
    order = manual_order(api, title="car on the lane")
    api.client.post(
        f"/api/v1/work-orders/{order['id']}/notes",
        json={"note": "called the owner"},
        headers=api.h("operator"),
    )
    page = _browser(api, "viewer").get(f"/orders/{order['id']}?lang=en")
    assert page.status_code == 200
    html = page.text
    assert order["id"] in html and "car on the lane" in html
    assert 'id="clock-dispatch"' in html and 'id="clock-close"' in html
    assert 'data-actor="operator:operator"' in html  # who filed it and who noted
    assert "called the owner" in html
    assert html.count('<li class="step"') >= 2  # new -> ..., dispatched
    assert '<li class="annotation"' in html


def test_the_order_page_of_another_workers_order_is_not_found(api: Api) -> None:
    order = manual_order(api)
    api.services.accounts.add_user(
        "w-other", "worker", password="w-other-password", worker_id="gw-x"
    )
    r = _browser(api, "w-other").get(f"/orders/{order['id']}")
    assert r.status_code == 404 and order["id"] in r.text and "car" not in r.text


def test_history_filters_and_search_by_id(api: Api) -> None:
    a = manual_order(api, village="ruijia", grid="ruijia-g01", kind="fire_lane")
    b = manual_order(api, village="xinqiao", grid="xinqiao-g01", kind="vending")
    desk = _browser(api, "viewer")
    both = desk.get("/history").text
    assert a["id"] in both and b["id"] in both
    only_b = desk.get("/history", params={"village": "xinqiao"}).text
    assert b["id"] in only_b and a["id"] not in only_b
    by_id = desk.get("/history", params={"q": a["id"]}).text
    assert a["id"] in by_id and b["id"] not in by_id
    none = desk.get("/history", params={"state": "closed"}).text
    assert a["id"] not in none and 'id="history-empty"' in none
    bad = desk.get("/history", params={"date_from": "yesterday"})
    assert bad.status_code == 200 and "date_from" in bad.text


def test_csv_export_has_the_filtered_orders(api: Api) -> None:
    a = manual_order(api, village="ruijia", grid="ruijia-g01")
    b = manual_order(api, village="xinqiao", grid="xinqiao-g01", title="=HYPERLINK(evil)")
    r = api.client.get("/api/v1/exports/work-orders.csv", headers=api.h("viewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["id"] for row in rows} == {a["id"], b["id"]}
    evil = next(row for row in rows if row["id"] == b["id"])
    assert evil["title"].startswith("'=")  # no formula in a spreadsheet
    r = api.client.get(
        "/api/v1/exports/work-orders.csv", params={"grid": "ruijia-g01"}, headers=api.h("viewer")
    )
    assert [row["id"] for row in csv.DictReader(io.StringIO(r.text))] == [a["id"]]
    assert api.client.get("/api/v1/exports/work-orders.csv").status_code == 401


def test_the_dashboard_has_the_verification_alarm(api: Api) -> None:
    html = _browser(api, "operator").get("/dashboard").text
    assert 'id="alarm"' in html and "/static/alarm.js" in html
    assert 'id="nav-history"' in html


def test_the_worker_gets_the_snapshot_of_their_own_order_only(api: Api) -> None:
    from .test_events import JPEG, event, ingest

    snaps = api.settings.snapshots_dir
    snaps.mkdir(parents=True, exist_ok=True)
    (snaps / "w.jpg").write_bytes(JPEG)
    ingest(api, event(1, snapshot=str(snaps / "w.jpg")))  # near water: dispatched at once
    order = api.services.orders.list().items[0]
    assert order.assignee
    mine = api.worker_account(order.assignee)
    other = api.worker_account("gw-xinqiao-g01", name="someone-else")
    url = f"/api/v1/work-orders/{order.id}/snapshot"
    got = api.client.get(url, headers=mine)
    assert got.status_code == 200 and got.content == JPEG
    assert api.client.get(url, headers=other).status_code == 404
    assert api.client.get(url, headers=api.h("viewer")).status_code == 200


def test_the_worker_page_offers_the_supervisors_phone_and_the_map(
    tmp_path: Path, township: OrdersTownship
) -> None:
    sup = Supervisor(id="duty-chief", name="值班长", phone="+86 512 5555 0100")
    town = township.model_copy(
        update={
            "geo_origin": (31.25, 120.95),
            "orders": township.orders.model_copy(update={"supervisor": sup}),
        }
    )
    for api in make_api(tmp_path, town):
        accounts = api.services.accounts
        accounts.add_user("w-1", "worker", password="w-1-password", worker_id="gw-ruijia-g01")
        html = _browser(api, "w-1").get("/worker").text
        assert 'href="tel:+865125555' in html and sup.name in html
        assert 'data-geo-origin="31.250000,120.950000"' in html


def test_a_geo_origin_out_of_range_is_refused(township: OrdersTownship) -> None:
    with pytest.raises(ValueError, match="geo_origin"):
        type(township).model_validate({**township.model_dump(), "geo_origin": (131.0, 0.0)})


def test_the_order_links_its_clip_for_its_worker_and_the_staff(
    tmp_path: Path, township: OrdersTownship
) -> None:
    from .test_events import MP4, event, ingest

    for api in make_api(tmp_path, township, clips_dir="clips"):
        clip = api.settings.clips_dir / "cam-reservoir-01" / "1.mp4"
        clip.parent.mkdir(parents=True)
        clip.write_bytes(MP4)
        ingest(api, event(1, clip=str(clip)))  # near water: dispatched at once
        order = api.services.orders.list().items[0]
        url = f"/api/v1/work-orders/{order.id}/clip"
        staff = api.client.get(f"/api/v1/work-orders/{order.id}", headers=api.h("viewer"))
        assert staff.json()["clip_url"] == url
        mine = api.worker_account(order.assignee or "")
        other = api.worker_account("gw-xinqiao-g01", name="someone-else")
        got = api.client.get(url, headers=mine)
        assert got.status_code == 200 and got.content == MP4
        assert got.headers["content-type"] == "video/mp4"
        assert api.client.get(url, headers=other).status_code == 404
        noted = api.client.post(
            f"/api/v1/work-orders/{order.id}/notes", json={"note": "seen"}, headers=mine
        )
        assert noted.status_code == 201 and noted.json()["clip_url"] == url
        html = _browser(api, "viewer").get(f"/orders/{order.id}?lang=en").text
        assert f'<video id="order-clip" src="{url}"' in html
        # An order without a clip: no URL, no player, and the route says so.
        manual = manual_order(api)
        assert (
            api.client.get(f"/api/v1/work-orders/{manual['id']}", headers=api.h("viewer")).json()[
                "clip_url"
            ]
            is None
        )
        assert 'id="order-clip"' not in _browser(api, "viewer").get(f"/orders/{manual['id']}").text
        missing = api.client.get(
            f"/api/v1/work-orders/{manual['id']}/clip", headers=api.h("viewer")
        )
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
