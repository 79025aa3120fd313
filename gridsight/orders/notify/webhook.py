"""The signed JSON webhook notifier (``http://`` and ``https://`` URLs).

Each notification is POSTed as a JSON body with these headers:

* ``X-Gridsight-Signature: sha256=<hex HMAC-SHA256 of the body>``, keyed with the shared
  secret (``GRIDSIGHT_WEBHOOK_SECRET``, or the channel's ``secret_env``), so a receiver
  can check that the body came from us and was not changed on the way;
* ``Idempotency-Key: <key>``: the same for every resend of one notification, so a
  receiver that saw it already can answer 2xx and do nothing;
* ``X-Gridsight-Event: <type>`` (``new``, ``update``, ``digest``, ...).

A 2xx answer is success. 408, 425, 429 and 5xx are retried (429's ``Retry-After`` is
honoured); other 4xx answers are permanent failures (the relay dead-letters them at once:
a wrong URL or a receiver that rejects the body will not get better by waiting). The
connection is kept alive between sends; every socket operation has a timeout, so a
receiver that hangs costs one timeout, never a blocked relay.

Verifying on the receiving side (the same check :mod:`.receiver` does)::

    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, request.headers["X-Gridsight-Signature"])
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import ssl
import threading
from typing import Any, ClassVar
from urllib.parse import urlsplit

from gridsight import __version__
from gridsight.core.errors import ConfigError
from gridsight.orders.notify.base import DeliveryError, Notifier, check_url, redact_url

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Gridsight-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Gridsight-Event"
SECRET_ENV = "GRIDSIGHT_WEBHOOK_SECRET"

_RETRYABLE_4XX = frozenset({408, 425, 429})


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent: compact, key-sorted UTF-8 JSON (stable for signing)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(body: bytes, secret: str) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant time)."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret), header.strip())


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class WebhookNotifier(Notifier):
    """POSTs each notification as signed JSON to one URL (see the module docstring).

    Args:
        url: ``http(s)://host[:port]/path[?query]``.
        secret: the signing secret; None sends unsigned bodies (logged once as a warning).
        timeout_s: timeout of each connect / send / receive.
    """

    name: ClassVar[str] = "webhook"
    schemes: ClassVar[tuple[str, ...]] = ("http", "https")

    def __init__(self, url: str, *, secret: str | None, timeout_s: float = 5.0) -> None:
        check_url(url)
        parts = urlsplit(url)
        if parts.scheme.lower() not in self.schemes:
            raise ConfigError(f"webhook URL {redact_url(url)!r} is not http:// or https://")
        if timeout_s <= 0:
            raise ConfigError(f"webhook timeout must be > 0 s, got {timeout_s}")
        self.url = url
        self.timeout_s = timeout_s
        self._secret = secret or None
        self._https = parts.scheme.lower() == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._auth: str | None = None
        if parts.username is not None:
            import base64

            creds = f"{parts.username}:{parts.password or ''}".encode()
            self._auth = "Basic " + base64.b64encode(creds).decode()
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        if self._secret is None:
            log.warning(
                "webhook %s: no secret (set %s); bodies are sent unsigned",
                redact_url(url),
                SECRET_ENV,
            )

    @classmethod
    def from_url(cls, url: str, *, secret: str | None, timeout_s: float = 5.0) -> WebhookNotifier:
        return cls(url, secret=secret, timeout_s=timeout_s)

    @property
    def signed(self) -> bool:
        """Whether bodies carry the signature header."""
        return self._secret is not None

    def headers(self, body: bytes, key: str, kind: str) -> dict[str, str]:
        """The request headers for one body (signature, idempotency key, event type)."""
        out = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"gridsight/{__version__}",
            IDEMPOTENCY_HEADER: key,
            EVENT_HEADER: kind,
        }
        if self._secret is not None:
            out[SIGNATURE_HEADER] = sign(body, self._secret)
        if self._auth is not None:
            out["Authorization"] = self._auth
        return out

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host,
                    self._port,
                    timeout=self.timeout_s,
                    context=ssl.create_default_context(),
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout_s
                )
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def send(self, payload: dict[str, Any], *, key: str) -> None:
        body = encode_body(payload)
        headers = self.headers(body, key, str(payload.get("type", "notification")))
        with self._lock:
            status, reason, retry_after = self._post(body, headers)
        if 200 <= status < 300:
            return
        where = redact_url(self.url)
        if status >= 500 or status in _RETRYABLE_4XX:
            raise DeliveryError(
                f"webhook {where} answered {status} {reason}", retry_after_s=retry_after
            )
        raise DeliveryError(f"webhook {where} answered {status} {reason}", permanent=True)

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, float | None]:
        # One retry on a kept-alive connection the server closed meanwhile; a fresh
        # connection that fails is a delivery failure.
        for reused in (self._conn is not None, False):
            conn = self._connection()
            try:
                conn.request("POST", self._target, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.will_close:
                    self._drop_connection()
                return resp.status, resp.reason, _retry_after(resp.getheader("Retry-After"))
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop_connection()
                if reused:
                    continue
                raise DeliveryError(f"webhook {redact_url(self.url)}: {exc}") from exc
            except TimeoutError as exc:
                self._drop_connection()
                raise DeliveryError(
                    f"webhook {redact_url(self.url)}: no answer within {self.timeout_s:g} s"
                ) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                raise DeliveryError(f"webhook {redact_url(self.url)}: {exc}") from exc
        raise DeliveryError(f"webhook {redact_url(self.url)}: connection closed")  # unreachable

    def close(self) -> None:
        with self._lock:
            self._drop_connection()
