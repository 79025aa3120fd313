"""Work orders through the API: listing, filters, pages, transitions, workers, photos."""

from __future__ import annotations

import io

from .conftest import Api, manual_order


def _image(fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, format=fmt)
    return out.getvalue()


# Real images: uploads are decoded and re-encoded, so magic bytes alone are refused.
JPEG = _image("JPEG")
PNG = _image("PNG")


def test_manual_order_is_dispatched_and_listed_with_the_contract_fields(api: Api) -> None:
    order = manual_order(api)
    assert order["state"] == "dispatched"
    assert order["assignee"] == "gw-ruijia-g01"
    assert [t["to"] for t in order["transitions"]] == ["new", "verified", "dispatched"]
    page = api.client.get("/api/v1/work-orders", headers=api.h("viewer")).json()
    item = page["items"][0]
    for key in ("id", "state", "hazard", "camera", "village", "grid", "assignee",
                "created_at", "dispatched_at", "closed_at", "sla"):  # fmt: skip
        assert key in item
    assert item["hazard"] == "fire_lane"
    assert item["sla"]["dispatch"] == "met"
    assert item["allowed"] == []  # a viewer may do nothing


def test_illegal_transition_is_409_with_the_allowed_states(api: Api) -> None:
    order = manual_order(api)
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/transitions",
        json={"to": "closed"},
        headers=api.h("operator"),
    )
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "illegal_transition"
    assert body["current"] == "dispatched"
    assert set(body["allowed"]) == {"acknowledged", "escalated", "cancelled"}


def test_unknown_state_is_422_naming_the_field(api: Api) -> None:
    order = manual_order(api)
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/transitions",
        json={"to": "teleported"},
        headers=api.h("operator"),
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "to"


def test_stale_version_is_409(api: Api) -> None:
    order = manual_order(api)
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/transitions",
        json={"to": "acknowledged", "expected_version": order["version"] - 1},
        headers=api.h("operator"),
    )
    assert r.status_code == 409
    assert r.json()["error"] == "version_conflict"


def test_missing_order_is_404(api: Api) -> None:
    r = api.client.get("/api/v1/work-orders/wo-nope", headers=api.h("viewer"))
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_viewer_cannot_move_or_file_orders(api: Api) -> None:
    order = manual_order(api)
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/transitions",
        json={"to": "acknowledged"},
        headers=api.h("viewer"),
    )
    assert r.status_code == 403
    r = api.client.post(
        "/api/v1/work-orders",
        json={"kind": "fire_lane", "village": "ruijia", "grid": "ruijia-g01"},
        headers=api.h("viewer"),
    )
    assert r.status_code == 403


def test_unknown_place_is_422(api: Api) -> None:
    r = api.client.post(
        "/api/v1/work-orders",
        json={"kind": "fire_lane", "village": "ruijia", "grid": "xinqiao-g01"},
        headers=api.h("operator"),
    )
    assert r.status_code == 422
    assert "xinqiao-g01" in r.json()["message"]


def test_cursor_pages_cover_every_order_once(api: Api) -> None:
    ids = set()
    for _ in range(5):
        ids.add(manual_order(api)["id"])
        api.clock.advance(1)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/api/v1/work-orders", params=params, headers=api.h("viewer"))
        assert page.status_code == 200
        body = page.json()
        seen += [o["id"] for o in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert set(seen) == ids
    created = [
        api.client.get(f"/api/v1/work-orders/{i}", headers=api.h("viewer")).json()["created_at"]
        for i in seen
    ]
    assert created == sorted(created, reverse=True)


def test_bad_cursor_is_422(api: Api) -> None:
    r = api.client.get("/api/v1/work-orders?cursor=!!!", headers=api.h("viewer"))
    assert r.status_code == 422
    assert r.json()["field"] == "cursor"


def test_filters_state_village_and_overdue(api: Api) -> None:
    a = manual_order(api)
    b = manual_order(api, kind="vending", village="xinqiao", grid="xinqiao-g01")
    api.client.post(
        f"/api/v1/work-orders/{b['id']}/transitions",
        json={"to": "acknowledged"},
        headers=api.h("operator"),
    )

    def ids(**params: object) -> set[str]:
        r = api.client.get("/api/v1/work-orders", params=params, headers=api.h("viewer"))
        assert r.status_code == 200, r.text
        return {o["id"] for o in r.json()["items"]}

    assert ids(state="dispatched") == {a["id"]}
    assert ids(state=["dispatched", "acknowledged"]) == {a["id"], b["id"]}
    assert ids(village="xinqiao") == {b["id"]}
    assert ids(hazard="fire_lane") == {a["id"]}
    assert ids(overdue=True) == set()
    api.clock.advance(56 * 60)  # past the 55-minute closure target of both
    assert ids(overdue=True) == {a["id"], b["id"]}
    listed = api.client.get("/api/v1/work-orders", headers=api.h("viewer")).json()["items"]
    assert all(o["sla"]["overdue"] for o in listed)


def test_worker_sees_and_moves_only_their_own_orders(api: Api) -> None:
    mine = manual_order(api)  # gw-ruijia-g01
    other = manual_order(api, kind="vending", village="xinqiao", grid="xinqiao-g01")
    worker = api.worker_account(mine["assignee"])
    listed = api.client.get("/api/v1/work-orders", headers=worker).json()["items"]
    assert [o["id"] for o in listed] == [mine["id"]]
    assert listed[0]["allowed"] == ["acknowledged"]
    # Asking for another worker's orders still returns only one's own.
    q = api.client.get(f"/api/v1/work-orders?assignee={other['assignee']}", headers=worker)
    assert [o["id"] for o in q.json()["items"]] == [mine["id"]]
    assert api.client.get(f"/api/v1/work-orders/{other['id']}", headers=worker).status_code == 404
    r = api.client.post(
        f"/api/v1/work-orders/{other['id']}/transitions",
        json={"to": "acknowledged"},
        headers=worker,
    )
    assert r.status_code == 404
    r = api.client.post(
        f"/api/v1/work-orders/{mine['id']}/transitions", json={"to": "acknowledged"}, headers=worker
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged"
    assert r.json()["transitions"][-1]["actor"] == f"worker:{mine['assignee']}"
    # Staff-only resources stay closed to a worker.
    assert api.client.get("/api/v1/events", headers=worker).status_code == 403
    assert api.client.get("/api/v1/cameras", headers=worker).status_code == 403


def test_report_back_with_photo_and_note(api: Api) -> None:
    order = manual_order(api)
    worker = api.worker_account(order["assignee"])
    url = f"/api/v1/work-orders/{order['id']}"
    for to in ("acknowledged", "on_site"):
        assert api.client.post(f"{url}/transitions", json={"to": to}, headers=worker).is_success
    up = api.client.post(
        f"{url}/photos",
        files={"photo": ("lane.jpg", io.BytesIO(JPEG), "image/jpeg")},
        headers=worker,
    )
    assert up.status_code == 201, up.text
    photo = up.json()
    assert photo["content_type"] == "image/jpeg" and photo["bytes"] > 0
    r = api.client.post(
        f"{url}/transitions",
        json={"to": "resolved", "note": "moved the car", "photo": photo["photo"]},
        headers=worker,
    )
    assert r.status_code == 200, r.text
    last = r.json()["transitions"][-1]
    assert last["to"] == "resolved" and last["note"] == "moved the car"
    got = api.client.get(last["photo_url"], headers=api.h("viewer"))
    assert got.status_code == 200 and got.content.startswith(b"\xff\xd8\xff")
    assert len(got.content) == photo["bytes"]  # the re-encoded image, as stored
    assert got.headers["content-type"] == "image/jpeg"


def test_photo_upload_is_type_and_size_checked(api: Api) -> None:
    order = manual_order(api)
    url = f"/api/v1/work-orders/{order['id']}/photos"
    h = api.h("operator")
    fake = api.client.post(
        url, files={"photo": ("x.jpg", io.BytesIO(b"GIF89a..."), "image/jpeg")}, headers=h
    )
    assert fake.status_code == 415
    big = PNG + b"\x00" * (api.settings.max_upload_bytes + 1)
    r = api.client.post(url, files={"photo": ("x.png", io.BytesIO(big), "image/png")}, headers=h)
    assert r.status_code == 413
    assert not any((api.settings.uploads_dir / order["id"]).glob("*")), "a rejected upload stays"
    ok = api.client.post(url, files={"photo": ("x.png", io.BytesIO(PNG), "image/png")}, headers=h)
    assert ok.status_code == 201


def test_transition_photo_must_be_an_upload_of_that_order(api: Api) -> None:
    order = manual_order(api)
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/transitions",
        json={"to": "acknowledged", "photo": "../../etc/passwd"},
        headers=api.h("operator"),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "photo"


def test_photo_path_is_never_taken_from_the_client(api: Api) -> None:
    order = manual_order(api)
    for name in ("..%2F..%2Fapi.sqlite", "passwd", "0" * 32 + ".gif"):
        r = api.client.get(
            f"/api/v1/work-orders/{order['id']}/photos/{name}", headers=api.h("viewer")
        )
        assert r.status_code == 404


def test_todays_figures_move(api: Api) -> None:
    before = api.client.get("/api/v1/work-orders/stats", headers=api.h("viewer")).json()
    assert before["orders"] == 0 and before["dispatch_within_sla"]["share"] is None
    order = manual_order(api)
    url = f"/api/v1/work-orders/{order['id']}/transitions"
    for to in ("acknowledged", "on_site", "resolved", "closed"):
        assert api.client.post(url, json={"to": to}, headers=api.h("operator")).is_success, to
    after = api.client.get("/api/v1/work-orders/stats", headers=api.h("viewer")).json()
    assert after["orders"] == 1 and after["closed"] == 1 and after["open"] == 0
    assert after["dispatch_within_sla"] == {"met": 1, "total": 1, "share": 1.0}
    assert after["close_within_sla"] == {"met": 1, "total": 1, "share": 1.0}


def test_notes_go_on_the_trail(api: Api) -> None:
    order = manual_order(api)
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/notes", json={"note": "called the owner"},
        headers=api.h("operator"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    last = r.json()["transitions"][-1]
    assert last["note"] == "called the owner" and last["from"] == last["to"] == "dispatched"
    other = manual_order(api, kind="vending", village="xinqiao", grid="xinqiao-g01")
    worker = api.worker_account(order["assignee"])
    r = api.client.post(
        f"/api/v1/work-orders/{other['id']}/notes", json={"note": "x"}, headers=worker
    )
    assert r.status_code == 404
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/notes", json={"note": "x"}, headers=api.h("viewer")
    )
    assert r.status_code == 403
