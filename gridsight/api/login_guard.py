"""Who is trying to log in, and whether they may: client address, device, throttle keys.

- The client address comes from :func:`gridsight.api.client_address.client_address`
  (``X-Forwarded-For`` only from a configured trusted proxy).
- Failed logins are counted per account and per client address, so neither rotating
  addresses nor rotating names gets unlimited guesses.
- A browser that has logged in to an account before carries a signed *device cookie*
  (OWASP's "device cookies"): its attempts on that account are counted for that device
  alone, so somebody else's failures never lock the real user out of their account.
- An unknown or disabled name costs one scrypt evaluation like a known one, so the
  response time does not tell whether an account exists.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache

from gridsight.api.accounts import User
from gridsight.api.security import LoginThrottle, SessionSigner, hash_password, verify_password

DEVICE_COOKIE = "gridsight_device"
#: How long a browser is remembered as a device of the account.
DEVICE_MAX_AGE_S = 90 * 86400


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def password_ok(found: tuple[User, str | None] | None, password: str) -> bool:
    """Whether ``password`` logs in the account ``found``, in the same time for all cases.

    An unknown name, a disabled account and an account without a password are checked
    against a throwaway hash, so each costs one scrypt evaluation like a real check.
    """
    usable = found is not None and not found[0].disabled and found[1] is not None
    stored = found[1] if usable and found is not None else _dummy_hash()
    ok = verify_password(password, stored)
    return usable and ok


@dataclass(frozen=True, slots=True)
class LoginGuard:
    """The throttle keys of one login attempt.

    Args:
        throttle: the service's failure counter.
        name: the login name tried.
        address: the client address (:func:`client_address`).
        device: the nonce of a valid device cookie for this account, else None.
        per_account: failures allowed on an account from unknown devices (and per device).
        per_address: failures allowed from one address, whatever the names.
    """

    throttle: LoginThrottle
    name: str
    address: str
    device: str | None
    per_account: int
    per_address: int

    def _keys(self) -> list[tuple[str, int]]:
        if self.device is not None:
            return [(f"device|{self.name}|{self.device}", self.per_account)]
        return [
            (f"account|{self.name}", self.per_account),
            (f"addr|{self.address}", self.per_address),
        ]

    def retry_after(self) -> float:
        """Seconds until this attempt may be made (0: now)."""
        return max(self.throttle.retry_after(k, n) for k, n in self._keys())

    def failed(self) -> None:
        """Count a failed attempt on every key."""
        for key, _ in self._keys():
            self.throttle.failed(key)

    def succeeded(self) -> None:
        """A correct password: forget this device's (or account's) failures.

        The address count is kept: logging in to one's own account must not reset the
        guesses an address may make on others.
        """
        self.throttle.succeeded(self._keys()[0][0])


def device_of(signer: SessionSigner, cookie: str | None, user: User | None) -> str | None:
    """The device nonce of a valid device cookie issued to ``user``, else None."""
    if not cookie or user is None:
        return None
    claim = signer.claim(cookie)
    if claim is None or claim[0] != user.id:
        return None
    return claim[1]
