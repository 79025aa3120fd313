"""Sign-in and accounts: browser login (session cookie), bearer tokens, users (admin).

The session cookie is HttpOnly, SameSite=Lax and names a server-side session (ended by
logout, a password change or disabling the account); failed logins are throttled per
account and per client address (429 with ``Retry-After``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from gridsight.api.accounts import TokenInfo, User
from gridsight.api.client_address import request_address
from gridsight.api.deps import SESSION_COOKIE, Admin, Anyone, ServicesDep
from gridsight.api.errors import (
    Forbidden,
    NotFound,
    TooManyAttempts,
    Unauthorized,
    error_responses,
)
from gridsight.api.login_guard import (
    DEVICE_COOKIE,
    DEVICE_MAX_AGE_S,
    LoginGuard,
    device_of,
    password_ok,
)
from gridsight.api.schemas import (
    LoginIn,
    Me,
    PasswordIn,
    RoleIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)

router = APIRouter(prefix="/auth", tags=["auth"])


def me_of(user: User) -> Me:
    """The API form of the signed-in user."""
    return Me(id=user.id, name=user.name, role=user.role, worker_id=user.worker_id)


def _token_out(info: TokenInfo, token: str | None = None) -> TokenOut:
    return TokenOut(
        id=info.id,
        user=info.user,
        label=info.label,
        created_at=info.created_at,
        revoked_at=info.revoked_at,
        last_used_at=info.last_used_at,
        token=token,
    )


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        name=user.name,
        role=user.role,
        worker_id=user.worker_id,
        disabled=user.disabled,
        created_at=user.created_at,
    )


@router.post("/login", response_model=Me, responses=error_responses(401, 429))
def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> Me:
    """Check name and password; on success open a server-side session (the cookie).

    Failed logins are throttled per account and per client address (429 with
    ``Retry-After``); a browser that logged in to the account before is throttled on its
    own failures only. See :mod:`gridsight.api.login_guard`.
    """
    settings = services.settings
    found = services.accounts.password_hash(body.name)
    guard = LoginGuard(
        services.throttle,
        name=body.name,
        address=request_address(request, settings),
        device=device_of(
            services.signer, request.cookies.get(DEVICE_COOKIE), found[0] if found else None
        ),
        per_account=settings.login_attempts,
        per_address=settings.login_attempts_per_address,
    )
    wait = guard.retry_after()
    if wait > 0:
        raise TooManyAttempts(f"too many failed logins; try again in {wait:.0f} s", wait)
    if not password_ok(found, body.password) or found is None:
        guard.failed()
        raise Unauthorized("wrong name or password")
    guard.succeeded()
    user = found[0]
    cookie = {"httponly": True, "samesite": "lax", "secure": settings.cookie_secure, "path": "/"}
    response.set_cookie(
        SESSION_COOKIE,
        services.accounts.open_session(user.id, settings.session_max_age_s),
        max_age=settings.session_max_age_s,
        **cookie,  # type: ignore[arg-type]
    )
    if guard.device is None:
        response.set_cookie(
            DEVICE_COOKIE,
            services.signer.sign(user.id, DEVICE_MAX_AGE_S),
            max_age=DEVICE_MAX_AGE_S,
            **cookie,  # type: ignore[arg-type]
        )
    return me_of(user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(request: Request, response: Response, services: ServicesDep) -> Response:
    """End the browser session on the server (a copy of the cookie stops working too)."""
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        services.accounts.end_session(value)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 422, 429),
)
def change_password(
    body: PasswordIn, request: Request, user: Anyone, services: ServicesDep
) -> Response:
    """Change the caller's password; every browser session of theirs ends (log in again)."""
    settings = services.settings
    guard = LoginGuard(
        services.throttle,
        name=user.name,
        address=request_address(request, settings),
        device=None,
        per_account=settings.login_attempts,
        per_address=settings.login_attempts_per_address,
    )
    wait = guard.retry_after()
    if wait > 0:
        raise TooManyAttempts(f"too many failed attempts; try again in {wait:.0f} s", wait)
    if not password_ok(services.accounts.password_hash(user.name), body.current):
        guard.failed()
        raise Forbidden("the current password is wrong")
    services.accounts.set_password(user.name, body.new)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/me", response_model=Me, responses=error_responses(401))
def whoami(user: Anyone) -> Me:
    """Who the credentials belong to."""
    return me_of(user)


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403),
)
def create_token(body: TokenIn, user: Anyone, services: ServicesDep) -> TokenOut:
    """A new bearer token for the caller; the token is in this response only."""
    token = services.accounts.issue_token(user.id, label=body.label)
    info = services.accounts.list_tokens(user.name)[0]
    return _token_out(info, token)


@router.get("/tokens", response_model=list[TokenOut], responses=error_responses(401, 403))
def list_tokens(user: Anyone, services: ServicesDep) -> list[TokenOut]:
    """The caller's tokens (an admin sees everyone's)."""
    infos = services.accounts.list_tokens(None if user.at_least("admin") else user.name)
    return [_token_out(i) for i in infos]


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 409),
)
def revoke_token(token_id: int, user: Anyone, services: ServicesDep) -> Response:
    """Revoke a token (one's own; an admin any; 409 for ``GRIDSIGHT_ADMIN_TOKEN``'s)."""
    scope = None if user.at_least("admin") else user.name
    mine = {i.id: i for i in services.accounts.list_tokens(scope)}
    info = mine.get(token_id)
    if info is None or info.revoked_at is not None:
        raise NotFound(f"no active token {token_id}")
    services.accounts.revoke_token(token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users", response_model=list[UserOut], responses=error_responses(401, 403))
def list_users(_admin: Admin, services: ServicesDep) -> list[UserOut]:
    """Every account."""
    return [_user_out(u) for u in services.accounts.list_users()]


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
def add_user(body: UserIn, _admin: Admin, services: ServicesDep) -> UserOut:
    """Create an account (a worker account names its roster worker)."""
    user = services.accounts.add_user(
        body.name, body.role, password=body.password, worker_id=body.worker_id
    )
    return _user_out(user)


@router.post(
    "/users/{name}/disable",
    response_model=UserOut,
    responses=error_responses(401, 403, 404, 409),
)
def disable_user(name: str, _admin: Admin, services: ServicesDep) -> UserOut:
    """Disable an account, revoke its tokens and end its sessions.

    409 for the last enabled admin and for the ``GRIDSIGHT_ADMIN_TOKEN`` account.
    """
    services.accounts.disable(name)
    return _user_out(services.accounts.by_name(name))


@router.post(
    "/users/{name}/enable",
    response_model=UserOut,
    responses=error_responses(401, 403, 404),
)
def enable_user(name: str, _admin: Admin, services: ServicesDep) -> UserOut:
    """Enable a disabled account (its old tokens and sessions stay revoked)."""
    return _user_out(services.accounts.enable(name))


@router.put(
    "/users/{name}/role",
    response_model=UserOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def set_role(name: str, body: RoleIn, _admin: Admin, services: ServicesDep) -> UserOut:
    """Change a staff account's role (409: the last admin or the admin-token account)."""
    return _user_out(services.accounts.set_role(name, body.role))
