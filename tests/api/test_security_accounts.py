"""Regression tests of the account defects found in review (issue 17): lock-out, the
admin token's rotation, the login throttle, login timing and server-side sessions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gridsight.api.client_address import client_address, parse_networks

from .conftest import Api, make_api

LOGIN = "/api/v1/auth/login"


def _login(client: TestClient, name: str, password: str, **kw: object) -> int:
    return client.post(LOGIN, json={"name": name, "password": password}, **kw).status_code


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(api: Api) -> None:
    admin = api.h("admin")
    r = api.client.post("/api/v1/auth/users/admin/disable", headers=admin)
    assert r.status_code == 409 and "last enabled admin" in r.json()["message"]
    r = api.client.put("/api/v1/auth/users/admin/role", json={"role": "viewer"}, headers=admin)
    assert r.status_code == 409
    assert api.client.get("/api/v1/auth/me", headers=admin).json()["role"] == "admin"
    # With a second admin, the first may go.
    r = api.client.put("/api/v1/auth/users/operator/role", json={"role": "admin"}, headers=admin)
    assert r.status_code == 200 and r.json()["role"] == "admin"
    r = api.client.post("/api/v1/auth/users/admin/disable", headers=admin)
    assert r.status_code == 200 and r.json()["disabled"] is True


def test_the_admin_token_account_cannot_be_disabled_or_demoted(
    tmp_path: Path, township: object
) -> None:
    for api in make_api(tmp_path, township, admin_token="seeded-admin-token-0123456789"):
        admin = api.h("admin")
        r = api.client.post("/api/v1/auth/users/admin-token/disable", headers=admin)
        assert r.status_code == 409 and "GRIDSIGHT_ADMIN_TOKEN" in r.json()["message"]
        r = api.client.put(
            "/api/v1/auth/users/admin-token/role", json={"role": "viewer"}, headers=admin
        )
        assert r.status_code == 409
        h = {"Authorization": "Bearer seeded-admin-token-0123456789"}
        assert api.client.get("/api/v1/auth/me", headers=h).status_code == 200


def test_a_rotated_admin_token_replaces_the_old_one(api: Api) -> None:
    accounts = api.services.accounts
    old, new = "first-admin-token-0123456789", "second-admin-token-0123456789"
    accounts.seed_admin_token(old)  # the service's start with the old variable
    accounts.seed_admin_token(new)  # a restart with the rotated one
    me = "/api/v1/auth/me"
    assert api.client.get(me, headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert api.client.get(me, headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_rotating_forwarded_for_from_an_untrusted_peer_is_still_throttled(
    tmp_path: Path, township: object
) -> None:
    for api in make_api(tmp_path, township, login_attempts_per_address=3):
        codes = [
            _login(
                api.client,
                f"guess-{i}",
                "nope-nope",
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            )
            for i in range(5)
        ]
        assert codes == [401, 401, 401, 429, 429]


def test_the_real_user_is_not_locked_out_by_someone_elses_failures(
    tmp_path: Path, township: object
) -> None:
    # Both behind the same reverse proxy (10.0.0.2): the attacker rotates addresses.
    for api in make_api(tmp_path, township, login_attempts=3, trusted_proxies=["10.0.0.0/8"]):
        app = api.client.app
        user = TestClient(app, client=("10.0.0.2", 40000))
        attacker = TestClient(app, client=("10.0.0.2", 40001))
        xff = {"X-Forwarded-For": "192.0.2.10"}
        assert _login(user, "operator", "operator-password", headers=xff) == 200
        for i in range(3):
            r = _login(
                attacker, "operator", "nope-nope", headers={"X-Forwarded-For": f"203.0.113.{i}"}
            )
            assert r == 401
        # The account is closed to unknown browsers, the attacker's right guess included ...
        again = {"X-Forwarded-For": "203.0.113.99"}
        assert _login(attacker, "operator", "operator-password", headers=again) == 429
        # ... but the real user's browser (its device cookie) still gets in.
        assert _login(user, "operator", "operator-password", headers=xff) == 200


def test_client_address_reads_forwarded_for_only_from_trusted_proxies() -> None:
    nets = parse_networks(["10.0.0.0/8", "fd00::/8"])
    assert client_address("10.1.2.3", "203.0.113.7", nets) == "203.0.113.7"
    assert client_address("10.1.2.3", "203.0.113.7, 10.9.9.9", nets) == "203.0.113.7"
    assert client_address("10.1.2.3", "1.1.1.1, 203.0.113.7", nets) == "203.0.113.7"
    assert client_address("192.0.2.1", "203.0.113.7", nets) == "192.0.2.1"
    assert client_address("10.1.2.3", "junk, 10.2.2.2", nets) == "10.2.2.2"
    with pytest.raises(Exception, match="not an IP address"):
        parse_networks(["proxy.local"])


def test_an_unknown_name_costs_the_same_scrypt_as_a_known_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(api.client, "nobody-at-all", "warm-the-dummy-hash")
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: object, **kwargs: object) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counting)
    assert _login(api.client, "nobody-at-all", "whatever-1") == 401
    unknown = len(calls)
    calls.clear()
    assert _login(api.client, "operator", "whatever-1") == 401
    assert unknown == len(calls) == 1


def test_logout_ends_the_session_on_the_server(api: Api) -> None:
    assert _login(api.client, "operator", "operator-password") == 200
    captured = api.client.cookies.get("gridsight_session")
    assert captured
    r = api.client.post("/api/v1/auth/logout", headers={"X-Requested-With": "gridsight"})
    assert r.status_code == 204
    thief = TestClient(api.client.app)
    thief.cookies.set("gridsight_session", captured)
    assert thief.get("/api/v1/auth/me").status_code == 401


def test_a_password_change_ends_every_session(api: Api) -> None:
    laptop, phone = TestClient(api.client.app), TestClient(api.client.app)
    assert _login(laptop, "operator", "operator-password") == 200
    assert _login(phone, "operator", "operator-password") == 200
    r = laptop.post(
        "/api/v1/auth/password",
        json={"current": "operator-password", "new": "a-new-password-1"},
        headers={"X-Requested-With": "gridsight"},
    )
    assert r.status_code == 204
    assert phone.get("/api/v1/auth/me").status_code == 401
    assert _login(phone, "operator", "operator-password") == 401
    assert _login(phone, "operator", "a-new-password-1") == 200


def test_disabling_an_account_ends_its_sessions_for_good(api: Api) -> None:
    browser = TestClient(api.client.app)
    assert _login(browser, "viewer", "viewer-password") == 200
    admin = api.h("admin")
    assert api.client.post("/api/v1/auth/users/viewer/disable", headers=admin).status_code == 200
    assert browser.get("/api/v1/auth/me").status_code == 401
    assert api.client.post("/api/v1/auth/users/viewer/enable", headers=admin).status_code == 200
    assert browser.get("/api/v1/auth/me").status_code == 401  # the old session stays ended


def test_the_admin_token_cannot_be_revoked_through_the_api(
    tmp_path: Path, township: object
) -> None:
    for api in make_api(tmp_path, township, admin_token="seeded-admin-token-0123456789"):
        h = {"Authorization": "Bearer seeded-admin-token-0123456789"}
        mine = api.client.get("/api/v1/auth/tokens", headers=h).json()
        seeded = next(t for t in mine if t["label"] == "GRIDSIGHT_ADMIN_TOKEN")
        r = api.client.delete(f"/api/v1/auth/tokens/{seeded['id']}", headers=h)
        assert r.status_code == 409
        assert api.client.get("/api/v1/auth/me", headers=h).status_code == 200
