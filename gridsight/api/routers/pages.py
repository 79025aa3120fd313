"""The browser pages: sign-in, the command-centre dashboard and the grid-worker page.

Server-rendered HTML (Jinja2) with the language's strings embedded as JSON; the pages'
JavaScript (vendored under ``static/``, no build step) fetches the API with the session
cookie and listens to ``/api/v1/events/stream``. ``?lang=zh|en`` switches the language
and remembers it in a cookie.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gridsight.api.accounts import User
from gridsight.api.deps import SESSION_COOKIE, ServicesDep
from gridsight.api.i18n import LANGUAGES, strings
from gridsight.api.redirects import safe_next
from gridsight.api.services import Services

router = APIRouter(include_in_schema=False)

LANG_COOKIE = "gridsight_lang"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _language(request: Request, services: Services) -> tuple[str, bool]:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return str(asked), True
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie), False
    return services.language, False


def session_user(request: Request, services: Services) -> User | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    return services.accounts.user_for_session(value)


def place_names(town: Any, lang: str) -> dict[str, str]:
    """Village id -> the name people read (the local name in Chinese, else the romanised)."""
    if town is None:
        return {}
    out = {}
    for v in town.villages:
        name = v.name if lang == "zh" else (v.name_en or v.name)
        # A placeholder's name carries an English remark for the config's reader.
        out[v.id] = name.split(" (", 1)[0] if v.placeholder else name
    return out


def _script_json(value: Any) -> str:
    """JSON to embed in a ``<script type="application/json">``: no ``<`` can end the
    element early (a user name like ``</script><script>...``)."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def render(
    request: Request, services: Services, template: str, user: User | None, **extra: Any
) -> HTMLResponse:
    lang, remember = _language(request, services)
    town = services.township
    context = {
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "s": strings(lang),
        "strings_json": _script_json(strings(lang)),
        "user": user,
        "user_json": _script_json(
            None
            if user is None
            else {"name": user.name, "role": user.role, "worker_id": user.worker_id}
        ),
        "town_name": (town.name if lang == "zh" else (town.name_en or town.name)) if town else "",
        "places": place_names(town, lang),
        "places_json": _script_json(place_names(town, lang)),
        **extra,
    }
    html = _TEMPLATES.get_template(template).render(**context)
    response = HTMLResponse(html)
    if remember:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/")
def root(request: Request, services: ServicesDep) -> Response:
    """To the page of the signed-in role, else to sign-in."""
    user = session_user(request, services)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/worker" if user.role == "worker" else "/dashboard", status_code=303)


@router.get("/login")
def login_page(request: Request, services: ServicesDep) -> Response:
    """The sign-in form."""
    return render(
        request,
        services,
        "login.html",
        None,
        next_url=safe_next(request.query_params.get("next")) or "",
    )


@router.get("/dashboard")
def dashboard(request: Request, services: ServicesDep) -> Response:
    """The command-centre dashboard (staff roles)."""
    user = session_user(request, services)
    if user is None:
        return RedirectResponse("/login?next=/dashboard", status_code=303)
    if user.role == "worker":
        return RedirectResponse("/worker", status_code=303)
    return render(request, services, "dashboard.html", user)


@router.get("/worker")
def worker_page(request: Request, services: ServicesDep) -> Response:
    """The phone page of a grid worker: their orders and the report-back steps."""
    user = session_user(request, services)
    if user is None:
        return RedirectResponse("/login?next=/worker", status_code=303)
    if user.role != "worker":
        return RedirectResponse("/dashboard", status_code=303)
    town = services.township
    sup = town.orders.supervisor if town is not None else None
    return render(
        request,
        services,
        "worker.html",
        user,
        supervisor=sup,
        geo_origin=",".join(f"{x:.6f}" for x in town.geo_origin)
        if town and town.geo_origin
        else "",
    )
