"""Acknowledge tokens: a worker acknowledges an order with the token in the message.

A token is an HMAC-SHA256, under a server-side secret, over the order id, the worker id
and an optional expiry, so whoever holds it can acknowledge that order as that worker
and nothing else, without logging in (the phone link in a chat message). The REST API
checks it with :func:`verify_ack_token`.

Format: ``<base64url(order id \\x1f worker \\x1f expiry)>.<base64url(hmac)>`` (no
padding; URL-safe, so it can go straight into ``?token=``).

Example:
    >>> t = ack_token("wo-1", "w-12", "s3cret")
    >>> verify_ack_token(t, "s3cret")
    AckClaim(order_id='wo-1', worker='w-12', expires_at=None)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from urllib.parse import quote

from gridsight.core.errors import GridsightError

ACK_SECRET_ENV = "GRIDSIGHT_ACK_SECRET"
_SEP = "\x1f"
_DOMAIN = b"gridsight-ack-v1\x00"


class AckTokenError(GridsightError):
    """An acknowledge token is malformed, forged, expired or for another order."""


@dataclass(frozen=True, slots=True)
class AckClaim:
    """What a valid token allows: acknowledging ``order_id`` as ``worker``."""

    order_id: str
    worker: str
    expires_at: float | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(message: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), _DOMAIN + message, hashlib.sha256).digest()


def ack_token(order_id: str, worker: str, secret: str, *, expires_at: float | None = None) -> str:
    """A token that lets ``worker`` acknowledge ``order_id`` (until ``expires_at``, epoch s).

    Raises:
        ValueError: an empty id or secret, or an id containing the separator.
    """
    if not secret:
        raise ValueError("an acknowledge token needs a non-empty secret")
    for what, value in (("order id", order_id), ("worker id", worker)):
        if not value or _SEP in value:
            raise ValueError(f"{what} {value!r} cannot go in a token")
    exp = "" if expires_at is None else f"{float(expires_at):.0f}"
    message = _SEP.join((order_id, worker, exp)).encode()
    return f"{_b64(message)}.{_b64(_mac(message, secret))}"


def verify_ack_token(
    token: str,
    secret: str,
    *,
    order_id: str | None = None,
    now: float | None = None,
) -> AckClaim:
    """Check a token and return what it allows.

    Args:
        token: the token from the link or message.
        secret: the server's acknowledge secret.
        order_id: if given, the token must be for this order.
        now: the current epoch time, to check the expiry (None: no expiry check).

    Raises:
        AckTokenError: malformed, wrong signature, expired, or for another order.
    """
    try:
        head, sig = token.strip().split(".", 1)
        message = _unb64(head)
        given = _unb64(sig)
        oid, worker, exp = message.decode().split(_SEP)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise AckTokenError("the acknowledge token is malformed") from None
    if not hmac.compare_digest(given, _mac(message, secret)):
        raise AckTokenError("the acknowledge token's signature does not match")
    expires = float(exp) if exp else None
    if expires is not None and now is not None and now > expires:
        raise AckTokenError(f"the acknowledge token for {oid} expired")
    if order_id is not None and oid != order_id:
        raise AckTokenError(f"the acknowledge token is for order {oid}, not {order_id}")
    return AckClaim(order_id=oid, worker=worker, expires_at=expires)


def ack_link(base_url: str, token: str) -> str:
    """``base_url?token=...`` (or ``&token=`` when the base has a query already)."""
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}token={quote(token, safe='')}"


def ack_secret_from_env() -> str | None:
    """The acknowledge secret: ``GRIDSIGHT_ACK_SECRET``, else ``GRIDSIGHT_WEBHOOK_SECRET``."""
    from gridsight.orders.notify.webhook import SECRET_ENV

    return os.environ.get(ACK_SECRET_ENV) or os.environ.get(SECRET_ENV) or None
