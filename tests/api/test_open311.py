"""Residents' requests through Open311 GeoReport v2."""

from __future__ import annotations

from .conftest import Api


def test_services_list_the_request_kinds(api: Api) -> None:
    r = api.client.get("/open311/v2/services.json")
    assert r.status_code == 200
    codes = {s["service_code"] for s in r.json()}
    assert set(api.services.orders.settings.requests) == codes
    assert "qr_ask" in codes


def test_file_and_read_a_request(api: Api) -> None:
    key = api.tokens["operator"]
    r = api.client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "qr_ask",
            "address_id": "ruijia-g01",
            "description": "Streetlight out by the school\nsince Monday",
            "first_name": "Wang",
        },
    )
    assert r.status_code == 200, r.text
    rid = r.json()[0]["service_request_id"]
    got = api.client.get(f"/open311/v2/requests.json?service_request_id={rid}&api_key={key}")
    assert got.status_code == 200
    (req,) = got.json()
    assert req["status"] == "open" and req["status_notes"] == "new"
    assert req["address_id"] == "ruijia-g01" and req["service_code"] == "qr_ask"
    assert req["requested_datetime"].endswith("+00:00")
    order = api.client.get(f"/api/v1/work-orders/{rid}", headers=api.h("viewer")).json()
    assert order["source"] == "resident" and order["village"] == "ruijia"
    # Closing it shows as GeoReport "closed", the detailed state in status_notes.
    for to in ("cancelled",):
        api.client.post(
            f"/api/v1/work-orders/{rid}/transitions", json={"to": to}, headers=api.h("operator")
        )
    closed = api.client.get(f"/open311/v2/requests.json?status=closed&api_key={key}").json()
    assert [(c["service_request_id"], c["status_notes"]) for c in closed] == [(rid, "cancelled")]
    assert api.client.get(f"/open311/v2/requests.json?status=open&api_key={key}").json() == []


def test_requests_need_a_key_and_valid_codes(api: Api) -> None:
    form = {"service_code": "qr_ask", "address_id": "ruijia-g01"}
    assert api.client.post("/open311/v2/requests.json", data=form).status_code == 401
    viewer = {**form, "api_key": api.tokens["viewer"]}
    assert api.client.post("/open311/v2/requests.json", data=viewer).status_code == 403
    key = api.tokens["operator"]
    bad = api.client.post(
        "/open311/v2/requests.json", data={**form, "api_key": key, "service_code": "nope"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "service_code"
    bad = api.client.post(
        "/open311/v2/requests.json", data={**form, "api_key": key, "address_id": "mars"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "address_id"
