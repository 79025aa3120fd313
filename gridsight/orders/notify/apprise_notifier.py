"""The Apprise notifier: every URL that is not a webhook or MQTT.

`Apprise <https://github.com/caronc/apprise>`_ speaks to the chat apps and mail that
township staff use, each by a URL of its own, e.g.::

    dingtalk://TOKEN/                 a DingTalk group robot (钉钉群机器人)
    dingtalk://SECRET@TOKEN/          ... with its signing secret
    wecombot://BOT_KEY                a WeCom (企业微信) group bot
    ntfy://TOPIC  ntfys://host/TOPIC  ntfy push notifications
    mailtos://user:pass@smtp.example.org?to=ops@example.org     e-mail
    json://127.0.0.1:8099/            a plain JSON POST (tests, local receivers)

A notification is rendered as a title and a short text (:mod:`.render`). DingTalk and
WeCom bots accept about 20 messages a minute per bot; :meth:`default_rate_limit` tells
the relay so, and what exceeds it goes out as a digest instead of being refused.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from gridsight.core.errors import ConfigError
from gridsight.orders.notify.base import DeliveryError, Notifier, check_url, redact_url, scheme_of
from gridsight.orders.notify.render import render

# Group bots that allow about 20 messages a minute (both vendors document this limit).
BOT_LIMITED_SCHEMES = frozenset({"dingtalk", "wecombot"})
BOT_RATE = (20, 60.0)


class AppriseNotifier(Notifier):
    """Sends a rendered notification to one Apprise URL (see the module docstring)."""

    name: ClassVar[str] = "apprise"
    schemes: ClassVar[tuple[str, ...]] = ()  # the fallback: whatever no other notifier takes

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        check_url(url)
        import apprise

        self._apprise_mod = apprise
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            known = ", ".join(sorted(_example_schemes()))
            raise ConfigError(
                f"notifier URL {redact_url(url)!r}: Apprise does not accept it (unknown "
                f"scheme {scheme_of(url)}:// or missing parts, e.g. a bot key); use "
                f"http(s):// for a webhook, mqtt:// for MQTT, or an Apprise URL such as "
                f"{known}"
            )
        for server in self._apprise:
            # Apprise's own retries would hide failures from the relay, which retries
            # with backoff and keeps the dead letter.
            server.socket_connect_timeout = timeout_s
            server.socket_read_timeout = timeout_s
        self.url = url
        self.timeout_s = timeout_s
        self.scheme = scheme_of(url)

    @classmethod
    def from_url(cls, url: str, *, secret: str | None, timeout_s: float = 5.0) -> AppriseNotifier:
        return cls(url, timeout_s=timeout_s)

    def default_rate_limit(self) -> tuple[int, float] | None:
        return BOT_RATE if self.scheme in BOT_LIMITED_SCHEMES else None

    def send(self, payload: dict[str, Any], *, key: str) -> None:
        title, body = render(payload)
        problems: list[str] = []

        def on_log(entry: Any, _server: Any) -> None:
            # Only warnings and errors reach here (log_level below).
            problems.append(str(getattr(entry, "message", entry)))

        notify_type = (
            self._apprise_mod.NotifyType.FAILURE
            if payload.get("type") in ("escalation", "sla_breach")
            else self._apprise_mod.NotifyType.INFO
        )
        result = self._apprise.notify(
            body=body,
            title=title,
            notify_type=notify_type,
            body_format=self._apprise_mod.NotifyFormat.TEXT,
            log_callback=on_log,
            log_level=logging.WARNING,
        )
        if not result:
            why = "; ".join(problems[-3:]) or "the service reported a failure"
            raise DeliveryError(f"Apprise {redact_url(self.url)}: {why}")


def _example_schemes() -> set[str]:
    return {"dingtalk://TOKEN", "wecombot://KEY", "ntfy://TOPIC", "mailtos://…", "json://host/"}
