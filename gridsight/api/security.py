"""Secrets handling: bearer tokens, password hashes, signed session cookies, login throttle.

- Bearer tokens are random (``gs_`` + 32 bytes, URL-safe) and stored only as their
  SHA-256 hex digest; a presented token is hashed and the digest compared with
  :func:`hmac.compare_digest`.
- Passwords are hashed with scrypt (stdlib), a random salt per password.
- A signed cookie is ``<user id>.<expiry>.<nonce>.<HMAC-SHA256>`` under the service's
  session secret; it is checked in constant time and against its expiry,
  and is used for the long-lived device cookie of the login throttle (browser sessions
  themselves are server-side: :meth:`~gridsight.api.accounts.AccountStore.open_session`).
- :class:`LoginThrottle` counts failed logins per key in a sliding window
  (:mod:`gridsight.api.login_guard` decides the keys).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

TOKEN_PREFIX = "gs_"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_MAX_KEYS = 10_000


def new_token() -> str:
    """A fresh bearer token (shown once; only its hash is stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Whether ``token`` hashes to ``stored_hash`` (constant-time comparison)."""
    return hmac.compare_digest(token_hash(token), stored_hash)


def hash_password(password: str) -> str:
    """``scrypt$<salt b64>$<hash b64>`` for ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return "scrypt${}${}".format(
        base64.b64encode(salt).decode("ascii"), base64.b64encode(digest).decode("ascii")
    )


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches the stored scrypt hash (False for no/odd hash)."""
    if not stored:
        return False
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return hmac.compare_digest(digest, expected)


class SessionSigner:
    """Signs and checks session cookie values.

    Args:
        secret: the signing key (bytes).
        max_age_s: how long a session lasts.
        clock: wall clock (tests pass a fake one).
    """

    def __init__(
        self, secret: bytes, max_age_s: int, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        self._secret = secret
        self.max_age_s = max_age_s
        self._clock = clock

    def _mac(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()

    def sign(self, user_id: int, max_age_s: int | None = None) -> str:
        """A cookie value for ``user_id`` that expires ``max_age_s`` (default: the
        signer's) from now."""
        expires = int(self._clock()) + (self.max_age_s if max_age_s is None else max_age_s)
        payload = f"{user_id}.{expires}.{secrets.token_hex(8)}"
        return f"{payload}.{self._mac(payload)}"

    def claim(self, value: str) -> tuple[int, str] | None:
        """``(user id, nonce)`` of a valid, unexpired cookie value, else None."""
        payload, _, mac = value.rpartition(".")
        if not payload or not hmac.compare_digest(self._mac(payload), mac):
            return None
        try:
            user_s, expires_s, nonce = payload.split(".")
            user_id, expires = int(user_s), int(expires_s)
        except ValueError:
            return None
        if expires < self._clock():
            return None
        return user_id, nonce

    def verify(self, value: str) -> int | None:
        """The user id of a valid, unexpired cookie value, else None."""
        found = self.claim(value)
        return None if found is None else found[0]


@dataclass(slots=True)
class _Window:
    failures: deque[float]


class LoginThrottle:
    """At most ``attempts`` failed logins per key in ``window_s`` seconds.

    Args:
        attempts: failures allowed inside the window.
        window_s: the sliding window.
        clock: monotonic clock (tests pass a fake one).
    """

    def __init__(
        self, attempts: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, _Window] = {}

    def _prune(self, key: str, now: float) -> _Window:
        win = self._keys.setdefault(key, _Window(deque()))
        while win.failures and win.failures[0] <= now - self.window_s:
            win.failures.popleft()
        return win

    def retry_after(self, key: str, attempts: int | None = None) -> float:
        """Seconds until ``key`` may try again (0 if it may now).

        Args:
            key: what is counted (an account, an address, a device).
            attempts: this key's allowance, if not the throttle's ``attempts``.
        """
        limit = self.attempts if attempts is None else attempts
        with self._lock:
            now = self._clock()
            win = self._prune(key, now)
            if len(win.failures) < limit:
                return 0.0
            return max(0.0, win.failures[-limit] + self.window_s - now)

    def failed(self, key: str) -> None:
        """Record one failed attempt."""
        with self._lock:
            now = self._clock()
            self._prune(key, now).failures.append(now)
            if len(self._keys) > _MAX_KEYS:
                # Rotating names or addresses must not grow the table without bound.
                for stale in [k for k in self._keys if not self._prune(k, now).failures]:
                    del self._keys[stale]

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key`` (a correct login)."""
        with self._lock:
            self._keys.pop(key, None)
