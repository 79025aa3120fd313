"""Regression tests of the HTTP-layer defects found in review (issue 17): security
headers, the request body limit, 422s that echo nothing, true ``Allow`` headers, ``next``
after login, uploads that are really images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Api, make_api, manual_order


@pytest.mark.parametrize(
    "path", ["/login", "/healthz", "/api/v1/work-orders", "/static/app.css", "/nowhere"]
)
def test_every_response_carries_the_security_headers(api: Api, path: str) -> None:
    r = api.client.get(path)
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    tmp_path: Path, township: object
) -> None:
    for api in make_api(tmp_path, township, max_body_bytes=64 * 1024, max_upload_bytes=32 * 1024):
        big = b"x" * (200 * 1024)
        # Unauthenticated, declared length: 413, and nothing of it comes back.
        r = api.client.post(
            "/api/v1/auth/login", content=big, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413 and len(r.content) < 1024
        assert r.headers["x-content-type-options"] == "nosniff"

        # Chunked (no Content-Length): cut off as soon as it passes the limit.
        def chunks() -> Iterator[bytes]:
            for _ in range(50):
                yield b"y" * 8192

        r = api.client.post(
            "/api/v1/work-orders",
            content=chunks(),
            headers={**api.h("operator"), "Content-Type": "application/json"},
        )
        assert r.status_code == 413
        assert len(r.content) < 1024


def test_a_422_does_not_echo_the_request(api: Api) -> None:
    secret = "do-not-echo-" + "z" * 5000
    r = api.client.post(
        "/api/v1/work-orders",
        json={"kind": secret, "village": 1, "grid": [secret]},
        headers=api.h("operator"),
    )
    assert r.status_code == 422
    assert secret not in r.text and len(r.content) < 2048
    assert all(set(d) == {"loc", "msg", "type"} for d in r.json()["detail"])


def test_a_405_names_every_method_of_the_path(api: Api) -> None:
    r = api.client.delete("/api/v1/work-orders", headers=api.h("operator"))
    assert r.status_code == 405
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed


def test_head_metrics_is_allowed(api: Api) -> None:
    r = api.client.head("/metrics")
    assert r.status_code == 200 and r.content == b""


EVIL_NEXT = [
    "//evil.example/x",
    "/\\127.0.0.1:8099/phish",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example",
    "\\\\evil.example",
    "evil.example",
]


@pytest.mark.parametrize("value", EVIL_NEXT)
def test_next_after_login_must_stay_on_this_origin(api: Api, value: str) -> None:
    from gridsight.api.redirects import safe_next

    assert safe_next(value) is None
    page = api.client.get("/login", params={"next": value}).text
    assert 'data-next=""' in page


def test_next_after_login_keeps_a_same_origin_path(api: Api) -> None:
    page = api.client.get("/login", params={"next": "/worker?lang=zh"}).text
    assert 'data-next="/worker?lang=zh"' in page


def _jpeg_with_gps() -> bytes:
    import io

    from PIL import Image

    img = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    gps = {1: "N", 2: (31.0, 12.0, 0.0), 3: "E", 4: (121.0, 30.0, 0.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_uploads_are_reencoded_without_metadata(api: Api) -> None:
    import io

    from PIL import Image

    order = manual_order(api)
    original = _jpeg_with_gps()
    assert b"SecretCam" in original
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/photos",
        files={"photo": ("p.jpg", original, "image/jpeg")},
        headers=api.h("operator"),
    )
    assert r.status_code == 201, r.text
    served = api.client.get(r.json()["url"], headers=api.h("operator"))
    assert served.status_code == 200
    assert served.headers["x-content-type-options"] == "nosniff"
    assert b"SecretCam" not in served.content
    with Image.open(io.BytesIO(served.content)) as img:
        assert img.size == (64, 48)
        assert not img.getexif()


def test_a_jpeg_header_followed_by_html_is_not_a_photo(api: Api) -> None:
    order = manual_order(api)
    fake = b"\xff\xd8\xff\xe0" + b"<html><script>alert(document.cookie)</script></html>"
    r = api.client.post(
        f"/api/v1/work-orders/{order['id']}/photos",
        files={"photo": ("p.jpg", fake, "image/jpeg")},
        headers=api.h("operator"),
    )
    assert r.status_code == 415
    assert not any((api.settings.uploads_dir / order["id"]).glob("*"))


def test_a_boolean_is_not_a_coordinate(api: Api) -> None:
    body = {"kind": "fire_lane", "village": "ruijia", "grid": "ruijia-g01", "y_km": False}
    r = api.client.post("/api/v1/work-orders", json=body, headers=api.h("operator"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "y_km"


@pytest.mark.parametrize("value", ["0.5", "1700000000", "yesterday"])
def test_open311_dates_must_be_w3c_date_times(api: Api, value: str) -> None:
    r = api.client.get(
        "/open311/v2/requests.json", params={"start_date": value}, headers=api.h("viewer")
    )
    assert r.status_code == 422


def test_open311_accepts_a_w3c_date_time(api: Api) -> None:
    r = api.client.get(
        "/open311/v2/requests.json",
        params={"start_date": "2026-12-01T10:00:00+08:00"},
        headers=api.h("operator"),
    )
    assert r.status_code == 200


def test_no_route_and_no_method_answer_with_the_documented_error_body(api: Api) -> None:
    for r in (
        api.client.post("/api/v1/workers//position", json={}, headers=api.h("operator")),
        api.client.delete("/api/v1/work-orders", headers=api.h("operator")),
    ):
        assert r.status_code in (404, 405)
        assert set(r.json()) >= {"error", "message"}
