"""The server-rendered pages: sign-in, dashboard, worker page, language, static files."""

from __future__ import annotations

from gridsight.api.i18n import strings

from .conftest import Api


def _login(api: Api, name: str, password: str) -> None:
    r = api.client.post("/api/v1/auth/login", json={"name": name, "password": password})
    assert r.status_code == 200


def test_pages_need_a_session(api: Api) -> None:
    for page in ("/dashboard", "/worker"):
        r = api.client.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert api.client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert api.client.get("/login").status_code == 200


def test_dashboard_is_chinese_for_jingqiao_and_switches(api: Api) -> None:
    _login(api, "operator", "operator-password")
    html = api.client.get("/dashboard").text
    assert strings("zh")["title_dashboard"] in html and "晶桥镇" in html
    en = api.client.get("/dashboard?lang=en")
    assert strings("en")["title_dashboard"] in en.text
    assert "gridsight_lang=en" in en.headers["set-cookie"]
    assert strings("en")["title_dashboard"] in api.client.get("/dashboard").text  # remembered
    assert api.client.get("/worker", follow_redirects=False).headers["location"] == "/dashboard"


def test_worker_goes_to_the_phone_page(api: Api) -> None:
    api.services.accounts.add_user(
        "li", "worker", password="li-password", worker_id="gw-ruijia-g01"
    )
    _login(api, "li", "li-password")
    assert api.client.get("/", follow_redirects=False).headers["location"] == "/worker"
    page = api.client.get("/worker")
    assert page.status_code == 200 and 'name="viewport"' in page.text
    assert api.client.get("/dashboard", follow_redirects=False).headers["location"] == "/worker"


def test_language_files_have_the_same_keys() -> None:
    assert set(strings("zh")) == set(strings("en"))
    assert all(strings("zh").values()) and all(strings("en").values())


def test_static_files_are_vendored(api: Api) -> None:
    for name in ("common.js", "dashboard.js", "worker.js", "map.js", "login.js", "app.css"):
        r = api.client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.content) > 200
        assert "http://" not in r.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in r.text
