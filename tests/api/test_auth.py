"""Who may do what: tokens, sessions, roles, throttling, accounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridsight.api.security import (
    LoginThrottle,
    SessionSigner,
    hash_password,
    new_token,
    token_hash,
    token_matches,
    verify_password,
)
from gridsight.orders.tables import api_tokens

from .conftest import Api, make_api, manual_order


def test_token_is_stored_only_as_its_sha256(api: Api) -> None:
    token = api.tokens["operator"]
    with api.services.store.engine.connect() as conn:
        stored = [r.token_hash for r in conn.execute(api_tokens.select())]
    assert token not in stored
    assert token_hash(token) in stored
    assert len(token_hash(token)) == 64


def test_security_primitives() -> None:
    t = new_token()
    assert t.startswith("gs_") and len(t) > 40
    assert token_matches(t, token_hash(t)) and not token_matches(t + "x", token_hash(t))
    h = hash_password("correct horse")
    assert verify_password("correct horse", h) and not verify_password("wrong horse", h)
    assert not verify_password("x", None) and not verify_password("x", "md5$abc$def")
    now = [1000.0]
    signer = SessionSigner(b"k" * 32, max_age_s=60, clock=lambda: now[0])
    value = signer.sign(7)
    assert signer.verify(value) == 7
    assert signer.verify(value[:-1] + ("0" if value[-1] != "0" else "1")) is None  # tampered
    assert SessionSigner(b"j" * 32, 60).verify(value) is None  # another key
    now[0] += 61
    assert signer.verify(value) is None  # expired
    clock = [0.0]
    throttle = LoginThrottle(2, 10.0, clock=lambda: clock[0])
    throttle.failed("k")
    assert throttle.retry_after("k") == 0
    throttle.failed("k")
    assert throttle.retry_after("k") == pytest.approx(10.0)
    clock[0] = 10.5
    assert throttle.retry_after("k") == 0


def test_no_credentials_is_401_and_bad_token_too(api: Api) -> None:
    r = api.client.get("/api/v1/work-orders")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = api.client.get("/api/v1/work-orders", headers={"Authorization": "Bearer gs_nope"})
    assert r.status_code == 401


def test_revoked_token_stops_working(api: Api) -> None:
    h = api.h("operator")
    mine = api.client.get("/api/v1/auth/tokens", headers=h).json()
    assert len(mine) == 1
    assert api.client.delete(f"/api/v1/auth/tokens/{mine[0]['id']}", headers=h).status_code == 204
    assert api.client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_new_token_for_oneself_is_shown_once(api: Api) -> None:
    r = api.client.post("/api/v1/auth/tokens", json={"label": "phone"}, headers=api.h("viewer"))
    assert r.status_code == 201
    token = r.json()["token"]
    me = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "viewer"
    listed = api.client.get("/api/v1/auth/tokens", headers=api.h("viewer")).json()
    assert all(t["token"] is None for t in listed)


def test_a_user_cannot_revoke_anothers_token(api: Api) -> None:
    admin_tokens = api.client.get("/api/v1/auth/tokens", headers=api.h("admin")).json()
    op = next(t for t in admin_tokens if t["user"] == "operator")
    assert (
        api.client.delete(f"/api/v1/auth/tokens/{op['id']}", headers=api.h("viewer")).status_code
        == 404
    )
    assert api.client.get("/api/v1/auth/me", headers=api.h("operator")).status_code == 200


def test_role_ladder(api: Api) -> None:
    assert api.client.get("/api/v1/auth/users", headers=api.h("operator")).status_code == 403
    assert api.client.get("/api/v1/auth/users", headers=api.h("admin")).status_code == 200
    r = api.client.put(
        "/api/v1/cameras/cam-x", json={}, headers=api.h("viewer")
    )  # the role check comes before the body is looked at
    assert r.status_code in (403, 422)
    assert (
        api.client.post(
            "/api/v1/cameras/cam-reservoir-01/disable", headers=api.h("viewer")
        ).status_code
        == 403
    )


def test_admin_manages_accounts(api: Api) -> None:
    r = api.client.post(
        "/api/v1/auth/users",
        json={
            "name": "li",
            "role": "worker",
            "worker_id": "gw-ruijia-g01",
            "password": "li-password",
        },
        headers=api.h("admin"),
    )
    assert r.status_code == 201, r.text
    dup = api.client.post(
        "/api/v1/auth/users", json={"name": "li", "role": "viewer"}, headers=api.h("admin")
    )
    assert dup.status_code == 409
    bad = api.client.post(
        "/api/v1/auth/users", json={"name": "zz", "role": "worker"}, headers=api.h("admin")
    )
    assert bad.status_code == 422 and "worker-id" in bad.json()["message"]
    login = api.client.post("/api/v1/auth/login", json={"name": "li", "password": "li-password"})
    assert login.status_code == 200 and login.json()["worker_id"] == "gw-ruijia-g01"
    assert (
        api.client.post("/api/v1/auth/users/li/disable", headers=api.h("admin")).status_code == 200
    )
    # The disabled user's session ends at once.
    assert api.client.get("/api/v1/auth/me").status_code == 401


def test_login_sets_a_safe_cookie_and_csrf_header_is_needed(api: Api) -> None:
    r = api.client.post(
        "/api/v1/auth/login", json={"name": "operator", "password": "operator-password"}
    )
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert api.client.get("/api/v1/auth/me").json()["name"] == "operator"
    order = manual_order(api)
    url = f"/api/v1/work-orders/{order['id']}/transitions"
    bare = api.client.post(url, json={"to": "acknowledged"})
    assert bare.status_code == 403  # a cross-site form could have sent that
    ok = api.client.post(
        url, json={"to": "acknowledged"}, headers={"X-Requested-With": "gridsight"}
    )
    assert ok.status_code == 200
    assert api.client.post("/api/v1/auth/logout").status_code == 204
    assert api.client.get("/api/v1/auth/me").status_code == 401


def test_forged_cookie_is_rejected(api: Api) -> None:
    api.client.cookies.set("gridsight_session", "1.9999999999.00.deadbeef")
    assert api.client.get("/api/v1/auth/me").status_code == 401


def test_login_attempts_are_rate_limited(tmp_path: Path, township) -> None:
    for api in make_api(tmp_path, township, login_attempts=3):
        for _ in range(3):
            r = api.client.post("/api/v1/auth/login", json={"name": "operator", "password": "nope"})
            assert r.status_code == 401
        r = api.client.post(
            "/api/v1/auth/login", json={"name": "operator", "password": "operator-password"}
        )
        assert r.status_code == 429  # even the right password waits out the window
        assert int(r.headers["retry-after"]) > 0
        other = api.client.post(
            "/api/v1/auth/login", json={"name": "viewer", "password": "viewer-password"}
        )
        assert other.status_code == 200


def test_admin_token_from_the_environment(tmp_path: Path, township) -> None:
    for api in make_api(tmp_path, township, admin_token="seeded-admin-token-0123456789"):
        h = {"Authorization": "Bearer seeded-admin-token-0123456789"}
        me = api.client.get("/api/v1/auth/me", headers=h).json()
        assert me["role"] == "admin"


def test_cors_is_off_by_default(api: Api) -> None:
    r = api.client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_on_for_configured_origins(tmp_path: Path, township) -> None:
    for api in make_api(tmp_path, township, cors_origins=["https://ops.example"]):
        r = api.client.get("/healthz", headers={"Origin": "https://ops.example"})
        assert r.headers["access-control-allow-origin"] == "https://ops.example"
        r = api.client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_token_maps_to_its_own_user_when_ids_differ(api: Api) -> None:
    accounts = api.services.accounts
    a = accounts.add_user("a-user", "viewer")
    for _ in range(3):
        accounts.issue_token(a.id)  # token ids run ahead of user ids
    b = accounts.add_user("b-user", "operator")
    token = accounts.issue_token(b.id)
    me = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["name"] == "b-user" and me["role"] == "operator"
