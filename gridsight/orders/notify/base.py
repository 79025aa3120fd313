"""The notifier interface and choosing a notifier by URL.

A notifier delivers one notification (a JSON-able dict) to one destination and raises
on failure; retrying, rate limiting and dead letters are the outbox relay's job
(:mod:`gridsight.orders.notify.relay`), so a notifier stays a thin, synchronous client.

Notification payloads (what ``send`` receives) come in three shapes:

* a **work-order notification** (written by the order service with each transition)::

      {"type": "new"|"update"|"end"|"escalation"|"sla_breach", "order": {...},
       "before": state|None, "after": state, "transition": {...}, "hazard", "village",
       "grid", "camera", "snapshot", "dispatch_due_at", "close_due_at", "ack_token",
       "ack_url", "idempotency_key"}

* a **hazard event**: ``{"type": "new"|"update"|"end", "event": {...alert JSONL dict...}}``
* a **camera status**: ``{"type": "camera_status", "camera": id, "status": {...}}``

plus the relay's own ``{"type": "digest", "items": [...]}`` (see
:mod:`gridsight.orders.notify.ratelimit`).

Choosing by URL (``--notify URL`` and the ``notify:`` config section): ``http(s)://`` is
the signed JSON webhook, ``mqtt(s)://`` the MQTT publisher and anything else an Apprise
URL. Notifier classes come from the ``gridsight_register_notifiers`` hook, so a plugin
can add a scheme of its own.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import pluggy

from gridsight.core.config.notify import url_problem
from gridsight.core.errors import ConfigError, GridsightError

# Apprise handles every scheme no other notifier claims.
FALLBACK_NOTIFIER = "apprise"


class DeliveryError(GridsightError):
    """A notification could not be delivered.

    Attributes:
        permanent: retrying cannot help (e.g. the receiver answered 400 or 404): the
            relay dead-letters the row at once instead of backing off.
        retry_after_s: the receiver asked to wait this long (HTTP 429 Retry-After).
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


class Notifier(ABC):
    """Delivers notifications to one destination (a webhook, a broker, a chat bot).

    Subclasses set ``name`` (unique among notifiers) and ``schemes`` (URL schemes they
    handle; the Apprise notifier's are ``()``: it takes what is left) and implement
    :meth:`from_url` and :meth:`send`.

    Attributes:
        url: the URL the notifier was built from, for messages (see :meth:`describe`).
        timeout_s: the longest a single :meth:`send` may take on the network.
    """

    name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]
    # Whether camera statuses (current values, see .camera_status) are sent here too.
    camera_status: ClassVar[bool] = False
    # Whether hazard events (best effort, see .event_sink) are sent here too.
    hazard_events: ClassVar[bool] = False

    url: str = ""
    timeout_s: float = 5.0

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, *, secret: str | None, timeout_s: float = 5.0) -> Notifier:
        """Build the notifier for ``url``.

        Args:
            url: the destination URL.
            secret: the shared secret that signs what is sent (used by the webhook).
            timeout_s: network timeout of one send.

        Raises:
            ConfigError: the URL is malformed for this notifier (naming the URL and what
                is wrong).
        """

    @abstractmethod
    def send(self, payload: dict[str, Any], *, key: str) -> None:
        """Deliver one notification; return only once the destination has it.

        Args:
            payload: the notification (see the module docstring for its shapes).
            key: the idempotency key; a resend of the same notification carries the same
                key, so receivers can drop duplicates.

        Raises:
            DeliveryError: not delivered (the relay retries it, or dead-letters it when
                ``permanent``).
        """

    def default_rate_limit(self) -> tuple[int, float] | None:
        """``(messages, per seconds)`` the destination allows, or None for no limit."""
        return None

    def describe(self) -> str:
        """The URL with passwords and tokens hidden, for logs and error messages."""
        return redact_url(self.url)

    def close(self) -> None:  # noqa: B027 (optional hook: most notifiers hold nothing)
        """Release connections (idempotent)."""

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-]{12,}")


def redact_url(url: str) -> str:
    """``url`` with its password and long tokens (bot keys, access tokens) masked.

    Example:
        >>> redact_url("wecombot://0123456789abcdef0123")
        'wecombot://01…23'
        >>> redact_url("mqtt://user:pw@broker:1883/town")
        'mqtt://user:***@broker:1883/town'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in creds else f"{user}@{host}"

    def mask(m: re.Match[str]) -> str:
        s = m.group(0)
        return f"{s[:2]}…{s[-2:]}"

    if "@" not in netloc:
        netloc = _LONG_TOKEN.sub(mask, netloc)
    path = _LONG_TOKEN.sub(mask, parts.path)
    query = re.sub(
        r"(?i)((?:token|key|secret|password|pass|access_token)=)[^&]*", r"\1***", parts.query
    )
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def scheme_of(url: str) -> str:
    """The lower-case scheme of ``url`` (the part before ``://``)."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


def check_url(url: str) -> None:
    """Raise ConfigError if ``url``'s form is wrong for every notifier (see ``url_problem``)."""
    what = url_problem(url)
    if what is not None:
        raise ConfigError(f"notifier URL {redact_url(url)!r} {what}")


def notifier_classes(pm: pluggy.PluginManager) -> dict[str, type[Notifier]]:
    """``{name: Notifier class}`` from the plugins (ConfigError-free; PluginError on clashes)."""
    from gridsight.core.plugins import notifiers

    return dict(notifiers(pm))


def class_for_url(url: str, pm: pluggy.PluginManager) -> type[Notifier]:
    """The notifier class that handles ``url``'s scheme.

    Raises:
        ConfigError: the URL is malformed, or no notifier (not even Apprise) is installed.
    """
    check_url(url)
    classes = notifier_classes(pm)
    scheme = scheme_of(url)
    for cls in classes.values():
        if scheme in cls.schemes:
            return cls
    if FALLBACK_NOTIFIER in classes:
        return classes[FALLBACK_NOTIFIER]
    known = sorted({s for c in classes.values() for s in c.schemes})
    raise ConfigError(
        f"notifier URL {redact_url(url)!r}: no notifier handles {scheme}:// and the Apprise "
        f"notifier is not registered; schemes available: {', '.join(known) or 'none'}"
    )


def notifier_for_url(
    url: str, pm: pluggy.PluginManager, secret: str | None = None, *, timeout_s: float = 5.0
) -> Notifier:
    """Build the notifier for ``url``: http(s) -> webhook, mqtt(s) -> MQTT, else Apprise.

    Args:
        url: the destination URL (``--notify`` or a config channel's ``url``).
        pm: the plugin manager (its ``gridsight_register_notifiers`` results).
        secret: the webhook signing secret.
        timeout_s: network timeout of one send.

    Raises:
        ConfigError: the URL is malformed or no notifier accepts it; the message names
            the URL (secrets hidden) and what is wrong.

    Example:
        >>> from gridsight.core.plugins import build_plugin_manager
        >>> n = notifier_for_url("https://ops.example/hook", build_plugin_manager(), "s3cret")
        >>> n.name
        'webhook'
    """
    return class_for_url(url, pm).from_url(url, secret=secret, timeout_s=timeout_s)
