"""Accounts of the REST service: users, their roles, bearer tokens (hashed at rest).

Roles, least to most: ``viewer`` (reads everything), ``operator`` (also moves work orders,
files manual orders, manages cameras), ``admin`` (also manages accounts). A ``worker``
account belongs to one roster worker (``worker_id``) and sees and moves only the orders
assigned to that worker. The same store serves ``gridsight users ...`` and the API.

Example:
    >>> from gridsight.orders.store import OrderStore
    >>> accounts = AccountStore(OrderStore.open("sqlite:///:memory:").engine)
    >>> user = accounts.add_user("alice", "operator")
    >>> token = accounts.issue_token(user.id, label="ci")
    >>> accounts.user_for_token(token).name
    'alice'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gridsight.api.dbread import read_only
from gridsight.api.security import hash_password, new_token, token_hash, token_matches
from gridsight.core.errors import ConfigError, GridsightError
from gridsight.orders.tables import api_tokens, sessions, users

Role = Literal["viewer", "operator", "admin", "worker"]
ROLES: tuple[str, ...] = ("viewer", "operator", "admin", "worker")
#: How often a token's ``last_used_at`` is brought up to date, seconds.
LAST_USED_RESOLUTION_S = 60.0
#: Rank of the staff roles; a worker is outside the ladder (its own orders only).
RANK: dict[str, int] = {"viewer": 0, "operator": 1, "admin": 2}


class AccountError(GridsightError):
    """An account operation is impossible (unknown user, duplicate name, ...)."""


class UserNotFound(AccountError):
    """No user has this name or id."""


class LockOut(AccountError):
    """The change would leave nobody able to administer the service.

    Refused: disabling or demoting the last enabled admin, or the account of
    ``GRIDSIGHT_ADMIN_TOKEN`` (the environment owns that one: it is re-enabled at start).
    """


#: The account that holds ``GRIDSIGHT_ADMIN_TOKEN``.
ADMIN_TOKEN_ACCOUNT = "admin-token"
ADMIN_TOKEN_LABEL = "GRIDSIGHT_ADMIN_TOKEN"


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in principal.

    Attributes:
        id: user id.
        name: login name.
        role: viewer | operator | admin | worker.
        worker_id: the roster worker of a worker account, else None.
        disabled: a disabled user cannot log in or use tokens.
        created_at: epoch seconds.
    """

    id: int
    name: str
    role: str
    worker_id: str | None = None
    disabled: bool = False
    created_at: float = 0.0

    def at_least(self, role: str) -> bool:
        """Whether this user's staff rank is ``role`` or above (a worker never is)."""
        return self.role in RANK and RANK[self.role] >= RANK[role]

    @property
    def actor(self) -> str:
        """How the audit trail names this user, e.g. ``operator:alice``, ``worker:w-12``."""
        if self.role == "worker" and self.worker_id:
            return f"worker:{self.worker_id}"
        return f"{self.role}:{self.name}"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One issued token (never the token itself)."""

    id: int
    user: str
    label: str
    created_at: float
    revoked_at: float | None
    last_used_at: float | None


def _user(row: sa.Row[tuple[object, ...]]) -> User:
    m = row._mapping
    return User(
        id=int(m["id"]),
        name=str(m["name"]),
        role=str(m["role"]),
        worker_id=m["worker_id"],
        disabled=bool(m["disabled"]),
        created_at=float(m["created_at"]),
    )


class AccountStore:
    """Users and tokens in the work-order database.

    Args:
        engine: the store's SQLAlchemy engine (migrated to revision 0002 or later).
        clock: wall clock.
    """

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock

    # -- users -----------------------------------------------------------------------
    def add_user(
        self,
        name: str,
        role: str,
        *,
        password: str | None = None,
        worker_id: str | None = None,
    ) -> User:
        """Create a user.

        Raises:
            ConfigError: unknown role, a worker account without ``worker_id`` (or a staff
                account with one), an empty name or a short password.
            AccountError: the name is taken.
        """
        name = name.strip()
        if not name or len(name) > 64:
            raise ConfigError("user name: 1 to 64 characters")
        if role not in ROLES:
            raise ConfigError(f"role {role!r}: allowed roles are {', '.join(ROLES)}")
        if role == "worker" and not worker_id:
            raise ConfigError("a worker account needs --worker-id (the roster worker it is)")
        if role != "worker" and worker_id:
            raise ConfigError(f"worker_id is only for role 'worker', not {role!r}")
        if password is not None and len(password) < 8:
            raise ConfigError("password: at least 8 characters")
        now = self._clock()
        with self.engine.begin() as conn:
            taken = conn.execute(sa.select(users.c.id).where(users.c.name == name)).first()
            if taken is not None:
                raise AccountError(f"user {name!r} exists already")
            result = conn.execute(
                users.insert().values(
                    name=name,
                    role=role,
                    worker_id=worker_id,
                    password_hash=hash_password(password) if password else None,
                    created_at=now,
                    disabled=False,
                )
            )
            pk = result.inserted_primary_key
            if pk is None:
                raise AccountError("the database returned no id for the new user")
            user_id = int(pk[0])
        return User(user_id, name, role, worker_id, False, now)

    def get(self, user_id: int) -> User | None:
        """The user with this id, or None."""
        with read_only(self.engine) as conn:
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
        return _user(row) if row is not None else None

    def by_name(self, name: str) -> User:
        """The user with this name.

        Raises:
            UserNotFound: no such user.
        """
        with read_only(self.engine) as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        if row is None:
            raise UserNotFound(f"no user named {name!r}")
        return _user(row)

    def list_users(self) -> list[User]:
        """Every user, by name."""
        with read_only(self.engine) as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
        return [_user(r) for r in rows]

    def password_hash(self, name: str) -> tuple[User, str | None] | None:
        """The user and stored password hash for a login name (None if unknown)."""
        with read_only(self.engine) as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        if row is None:
            return None
        return _user(row), row._mapping["password_hash"]

    def _refuse_lock_out(self, conn: sa.Connection, user: User, what: str) -> None:
        """Raise :class:`LockOut` if ``user`` losing admin rights locks everyone out."""
        if user.name == ADMIN_TOKEN_ACCOUNT:
            raise LockOut(
                f"cannot {what} {user.name!r}: it holds GRIDSIGHT_ADMIN_TOKEN; "
                "unset the variable and restart to retire it"
            )
        if user.role != "admin" or user.disabled:
            return
        others = conn.execute(
            sa.select(sa.func.count())
            .select_from(users)
            .where(users.c.role == "admin", users.c.disabled.is_(False), users.c.id != user.id)
        ).scalar_one()
        if not others:
            raise LockOut(f"cannot {what} {user.name!r}: it is the last enabled admin")

    def disable(self, name: str) -> int:
        """Disable a user, revoke all their tokens and end their sessions.

        Returns:
            The tokens revoked.

        Raises:
            UserNotFound: no such user.
            LockOut: the last enabled admin, or the ``GRIDSIGHT_ADMIN_TOKEN`` account.
        """
        user = self.by_name(name)
        now = self._clock()
        with self.engine.begin() as conn:
            self._refuse_lock_out(conn, user, "disable")
            conn.execute(users.update().where(users.c.id == user.id).values(disabled=True))
            result = conn.execute(
                api_tokens.update()
                .where(api_tokens.c.user_id == user.id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            self._end_sessions(conn, user.id, now)
        return int(result.rowcount or 0)

    def enable(self, name: str) -> User:
        """Enable a disabled user again (their old tokens and sessions stay revoked)."""
        user = self.by_name(name)
        with self.engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == user.id).values(disabled=False))
        return self.by_name(name)

    def set_role(self, name: str, role: str) -> User:
        """Change a staff user's role.

        Raises:
            ConfigError: an unknown role, or a change to or from ``worker`` (a worker
                account is tied to a roster worker; make a new account instead).
            LockOut: demoting the last enabled admin or the ``GRIDSIGHT_ADMIN_TOKEN`` account.
        """
        if role not in RANK:
            raise ConfigError(f"role {role!r}: allowed roles are {', '.join(RANK)}")
        user = self.by_name(name)
        if user.role == "worker":
            raise ConfigError("a worker account keeps its role; create a staff account instead")
        with self.engine.begin() as conn:
            if role != "admin":
                self._refuse_lock_out(conn, user, "demote")
            conn.execute(users.update().where(users.c.id == user.id).values(role=role))
        return self.by_name(name)

    def set_password(self, name: str, password: str) -> None:
        """Set a user's password and end all their browser sessions.

        Raises:
            ConfigError: a password shorter than 8 characters.
        """
        if len(password) < 8:
            raise ConfigError("password: at least 8 characters")
        user = self.by_name(name)
        with self.engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == user.id)
                .values(password_hash=hash_password(password))
            )
            self._end_sessions(conn, user.id, self._clock())

    # -- browser sessions ------------------------------------------------------------
    def open_session(self, user_id: int, max_age_s: float) -> str:
        """A new server-side session for ``user_id``; returns the cookie value (once)."""
        token = new_token()
        now = self._clock()
        with self.engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    user_id=user_id,
                    token_hash=token_hash(token),
                    created_at=now,
                    expires_at=now + max_age_s,
                )
            )
        return token

    def user_for_session(self, token: str) -> User | None:
        """The enabled user of a live (unexpired, unrevoked) session, else None."""
        digest = token_hash(token)
        with read_only(self.engine) as conn:
            row = conn.execute(
                sa.select(sessions.c.token_hash, sessions.c.expires_at, users)
                .join(users, users.c.id == sessions.c.user_id)
                .where(sessions.c.token_hash == digest, sessions.c.revoked_at.is_(None))
            ).first()
        if row is None or not token_matches(token, row._mapping["token_hash"]):
            return None
        if float(row._mapping["expires_at"]) <= self._clock():
            return None
        user = _user(row)
        return None if user.disabled else user

    def end_session(self, token: str) -> bool:
        """Revoke one session (logout); False if it was not live."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sessions.update()
                .where(sessions.c.token_hash == token_hash(token), sessions.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        return bool(result.rowcount)

    @staticmethod
    def _end_sessions(conn: sa.Connection, user_id: int, now: float) -> None:
        conn.execute(
            sessions.update()
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    # -- tokens ----------------------------------------------------------------------
    def issue_token(self, user_id: int, *, label: str = "") -> str:
        """A new bearer token for ``user_id``; the token is returned once, only its hash kept."""
        token = new_token()
        self.store_token_hash(user_id, token_hash(token), label=label)
        return token

    def store_token_hash(self, user_id: int, digest: str, *, label: str = "") -> None:
        """Store a token digest (idempotent: an existing digest is re-enabled for the user)."""
        now = self._clock()
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(api_tokens.c.id).where(api_tokens.c.token_hash == digest)
            ).first()
            if row is None:
                conn.execute(
                    api_tokens.insert().values(
                        user_id=user_id, token_hash=digest, label=label, created_at=now
                    )
                )
            else:
                conn.execute(
                    api_tokens.update()
                    .where(api_tokens.c.id == row[0])
                    .values(user_id=user_id, revoked_at=None, label=label)
                )

    def user_for_token(self, token: str) -> User | None:
        """The enabled user holding an unrevoked ``token``, else None (and stamps its use)."""
        digest = token_hash(token)
        with read_only(self.engine) as conn:
            row = conn.execute(
                sa.select(
                    api_tokens.c.id.label("token_id"),
                    api_tokens.c.token_hash,
                    api_tokens.c.last_used_at.label("token_last_used_at"),
                    users,
                )
                .join(users, users.c.id == api_tokens.c.user_id)
                .where(api_tokens.c.token_hash == digest, api_tokens.c.revoked_at.is_(None))
            ).first()
        # The lookup is by digest; the explicit constant-time comparison keeps the check
        # independent of how the database compares strings.
        if row is None or not token_matches(token, row._mapping["token_hash"]):
            return None
        user = _user(row)
        if user.disabled:
            return None
        now = self._clock()
        last = row._mapping["token_last_used_at"]
        # Stamped at most once a minute: a write per request would serialise every read
        # of the API behind the store's write lock (SQLite) for a coarse "last used".
        if last is None or now - float(last) >= LAST_USED_RESOLUTION_S:
            with self.engine.begin() as conn:
                conn.execute(
                    api_tokens.update()
                    .where(api_tokens.c.id == row._mapping["token_id"])
                    .values(last_used_at=now)
                )
        return user

    def list_tokens(self, name: str | None = None) -> list[TokenInfo]:
        """Issued tokens (all users, or one), newest first."""
        query = (
            sa.select(api_tokens, users.c.name)
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(api_tokens.c.id.desc())
        )
        if name is not None:
            query = query.where(users.c.name == name)
        with read_only(self.engine) as conn:
            rows = conn.execute(query).all()
        return [
            TokenInfo(
                id=int(r._mapping["id"]),
                user=str(r._mapping["name"]),
                label=str(r._mapping["label"]),
                created_at=float(r._mapping["created_at"]),
                revoked_at=r._mapping["revoked_at"],
                last_used_at=r._mapping["last_used_at"],
            )
            for r in rows
        ]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke one token by id; False if it does not exist or was revoked already.

        Raises:
            LockOut: the token of ``GRIDSIGHT_ADMIN_TOKEN`` (the environment owns it:
                rotate the variable and restart instead).
        """
        with self.engine.begin() as conn:
            label = conn.execute(
                sa.select(api_tokens.c.label).where(
                    api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)
                )
            ).scalar()
            if label == ADMIN_TOKEN_LABEL:
                raise LockOut(
                    f"token {token_id} is GRIDSIGHT_ADMIN_TOKEN's; rotate the variable and "
                    "restart to replace it"
                )
            result = conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        return bool(result.rowcount)

    def seed_admin_token(self, token: str, *, name: str = ADMIN_TOKEN_ACCOUNT) -> User:
        """Make ``token`` THE admin bearer token (``GRIDSIGHT_ADMIN_TOKEN``); idempotent.

        The account is (re)made an enabled admin, and every other token it was given from
        the environment is revoked: rotating the variable retires the old token.
        """
        if len(token) < 16:
            raise ConfigError("GRIDSIGHT_ADMIN_TOKEN: at least 16 characters")
        try:
            user = self.by_name(name)
        except UserNotFound:
            user = self.add_user(name, "admin")
        digest = token_hash(token)
        with self.engine.begin() as conn:
            conn.execute(
                users.update().where(users.c.id == user.id).values(role="admin", disabled=False)
            )
            conn.execute(
                api_tokens.update()
                .where(
                    api_tokens.c.user_id == user.id,
                    api_tokens.c.label == ADMIN_TOKEN_LABEL,
                    api_tokens.c.token_hash != digest,
                    api_tokens.c.revoked_at.is_(None),
                )
                .values(revoked_at=self._clock())
            )
        self.store_token_hash(user.id, digest, label=ADMIN_TOKEN_LABEL)
        return self.by_name(name)
