"""Sign-in and accounts: browser login (session cookie), bearer tokens, users (admin).

The session cookie is HttpOnly, SameSite=Lax and HMAC-signed; failed logins are
throttled per client address and name (429 with ``Retry-After``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from gridsight.api.accounts import TokenInfo, User
from gridsight.api.deps import SESSION_COOKIE, Admin, Anyone, ServicesDep
from gridsight.api.errors import NotFound, TooManyAttempts, Unauthorized, error_responses
from gridsight.api.schemas import LoginIn, Me, TokenIn, TokenOut, UserIn, UserOut
from gridsight.api.security import verify_password

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
    """Check name and password; on success set the session cookie."""
    client = request.client.host if request.client else "-"
    key = f"{client}|{body.name}"
    wait = services.throttle.retry_after(key)
    if wait > 0:
        raise TooManyAttempts(f"too many failed logins; try again in {wait:.0f} s", wait)
    found = services.accounts.password_hash(body.name)
    ok = found is not None and not found[0].disabled and verify_password(body.password, found[1])
    if not ok or found is None:
        services.throttle.failed(key)
        raise Unauthorized("wrong name or password")
    services.throttle.succeeded(key)
    user = found[0]
    response.set_cookie(
        SESSION_COOKIE,
        services.signer.sign(user.id),
        max_age=services.settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=services.settings.cookie_secure,
        path="/",
    )
    return me_of(user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(response: Response) -> Response:
    """End the browser session (clears the cookie)."""
    response.status_code = status.HTTP_204_NO_CONTENT
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
    responses=error_responses(401, 403, 404),
)
def revoke_token(token_id: int, user: Anyone, services: ServicesDep) -> Response:
    """Revoke a token (one's own; an admin any)."""
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
    responses=error_responses(401, 403, 404),
)
def disable_user(name: str, _admin: Admin, services: ServicesDep) -> UserOut:
    """Disable an account and revoke its tokens (its sessions end at once)."""
    services.accounts.disable(name)
    return _user_out(services.accounts.by_name(name))
