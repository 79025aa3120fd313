"""OpenAPI links: which response values feed which operations (``/openapi.json``).

A created work order's ``id`` is the ``order_id`` of its detail, transitions, notes,
photos and snapshot; a created account's ``name`` is the ``name`` of its disable, enable
and role operations; a created token's ``id`` is the ``token_id`` that revokes it. Clients
(and schemathesis' stateful tests) follow them; operations are named by method and path,
so the links follow the operation ids FastAPI generates.
"""

from __future__ import annotations

from typing import Any

Op = tuple[str, str]

#: (source operation, status) -> {link name: (target operation, {parameter: expression})}
LINKS: dict[tuple[Op, str], dict[str, tuple[Op, dict[str, str]]]] = {
    (("post", "/api/v1/work-orders"), "201"): {
        name: (
            (method, "/api/v1/work-orders/{order_id}" + tail),
            {"order_id": "$response.body#/id"},
        )
        for name, method, tail in (
            ("GetWorkOrder", "get", ""),
            ("MoveWorkOrder", "post", "/transitions"),
            ("AddNote", "post", "/notes"),
            ("UploadPhoto", "post", "/photos"),
            ("GetSnapshot", "get", "/snapshot"),
            ("GetClip", "get", "/clip"),
        )
    },
    (("post", "/api/v1/work-orders/{order_id}/transitions"), "200"): {
        "GetMovedWorkOrder": (
            ("get", "/api/v1/work-orders/{order_id}"),
            {"order_id": "$response.body#/id"},
        ),
    },
    (("post", "/api/v1/auth/users"), "201"): {
        name: ((method, "/api/v1/auth/users/{name}/" + tail), {"name": "$response.body#/name"})
        for name, method, tail in (
            ("DisableUser", "post", "disable"),
            ("EnableUser", "post", "enable"),
            ("SetRole", "put", "role"),
        )
    },
    (("post", "/api/v1/auth/tokens"), "201"): {
        "RevokeToken": (
            ("delete", "/api/v1/auth/tokens/{token_id}"),
            {"token_id": "$response.body#/id"},
        ),
    },
}


def add_links(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with :data:`LINKS` added to its responses (operations it lacks skipped)."""
    paths = spec.get("paths", {})
    for ((method, path), status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        out = response.setdefault("links", {})
        for name, ((t_method, t_path), params) in links.items():
            target = paths.get(t_path, {}).get(t_method)
            if target is None:
                continue
            out[name] = {"operationId": target["operationId"], "parameters": dict(params)}
    return spec


def install_links(app: Any) -> None:
    """Make ``app.openapi()`` return the schema with :data:`LINKS` (added once)."""
    base = app.openapi
    done: list[bool] = []

    def openapi() -> dict[str, Any]:
        spec: dict[str, Any] = base()
        if not done:
            add_links(spec)
            done.append(True)
        return spec

    app.openapi = openapi
