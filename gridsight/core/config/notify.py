"""The ``notify:`` section of a township config: where work-order notifications go.

Example::

    notify:
      ack_url: http://command-centre.local:8080/ack   # acknowledge links in messages
      retry: {max_attempts: 10, base_s: 1, max_s: 300}
      channels:
        - name: ops-webhook
          url: https://ops.example/gridsight/hook      # signed JSON webhook
          secret_env: GRIDSIGHT_WEBHOOK_SECRET
        - name: mqtt
          url: mqtt://127.0.0.1:1883/gridsight         # MQTT, topic prefix "gridsight"
        - name: ruijia-wecom
          url: wecombot://BOT_KEY                       # any Apprise URL
          villages: [ruijia]                            # only orders in these villages
          hazards: [near_water, fire_lane]              # only these hazards
          rate_limit: {messages: 20, per_s: 60}         # WeCom bots allow ~20 a minute

The URL decides the notifier: ``http(s)://`` the signed JSON webhook, ``mqtt(s)://`` the
MQTT publisher, anything else an Apprise URL. Only the URL's *form* is checked here (so
the loader can name the file line); whether Apprise knows a scheme, and whether the
villages and hazards named in a filter exist, is checked when the channels are built
(``gridsight.orders.notify.channels``).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from gridsight.core.config.base import Id, InvariantViolation, Problem, StrictModel, duplicates

NotificationType = Literal["new", "update", "end", "escalation", "sla_breach"]

WEBHOOK_SCHEMES = ("http", "https")
MQTT_SCHEMES = ("mqtt", "mqtts")


def url_problem(url: str) -> str | None:
    """What is wrong with the form of a notifier URL, or None if nothing is.

    Checks what every notifier needs: a ``scheme://`` prefix, no whitespace, and for
    webhook and MQTT URLs a host and a valid port.

    Example:
        >>> url_problem("mqtt://:1883/gridsight")
        'has no host'
    """
    if not url or not url.strip():
        return "is empty"
    if url != url.strip() or any(ch.isspace() for ch in url):
        return "contains whitespace"
    if "://" not in url:
        return (
            "has no scheme (expected e.g. 'https://host/path', 'mqtt://host:1883/prefix' "
            "or an Apprise URL such as 'ntfy://topic')"
        )
    scheme = url.split("://", 1)[0].lower()
    if not scheme or not scheme[0].isalpha() or not all(c.isalnum() or c in "+-." for c in scheme):
        return f"has an invalid scheme {scheme!r}"
    if scheme in WEBHOOK_SCHEMES or scheme in MQTT_SCHEMES:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            return f"has an invalid port or host ({exc})"
        if not parts.hostname:
            return "has no host"
        if port == 0:
            return "has port 0 (expected 1-65535)"
        if scheme in MQTT_SCHEMES and ("?" in url or "#" in url):
            return (
                "has '?' or '#'; an MQTT URL is mqtt://[user:pass@]host[:port][/prefix] "
                "and the prefix may not contain MQTT wildcards"
            )
    return None


class RateLimit(StrictModel):
    """At most ``messages`` sends per ``per_s`` seconds; what exceeds it goes in a digest.

    Implemented as a token bucket of ``burst`` tokens refilled at
    ``(messages - burst) / per_s`` per second, so no window of ``per_s`` seconds ever
    holds more than ``messages`` sends.
    """

    messages: int = Field(ge=1, description="sends allowed per window")
    per_s: float = Field(default=60.0, gt=0, description="window length, seconds")
    burst: int | None = Field(
        default=None, ge=1, description="sends allowed at once (default: a quarter of messages)"
    )

    @model_validator(mode="after")
    def _burst_fits(self) -> RateLimit:
        if self.burst is not None and self.burst > self.messages:
            raise ValueError(
                f"burst ({self.burst}) cannot exceed messages ({self.messages}) per window"
            )
        return self

    @property
    def capacity(self) -> int:
        """Bucket size (``burst``, default a quarter of ``messages``, at least 1)."""
        return self.burst if self.burst is not None else max(1, self.messages // 4)

    @property
    def refill_per_s(self) -> float:
        """Tokens added per second, so that burst + refill x window <= messages."""
        return max(self.messages - self.capacity, 1) / self.per_s


class RetrySettings(StrictModel):
    """Retries of a failed delivery: exponential backoff with jitter, then a dead letter."""

    max_attempts: int = Field(default=10, ge=1, le=1000, description="sends before dead letter")
    base_s: float = Field(default=1.0, gt=0, description="delay after the first failure")
    factor: float = Field(default=2.0, ge=1.0, description="delay growth per failure")
    max_s: float = Field(default=300.0, gt=0, description="longest delay between attempts")
    jitter: float = Field(
        default=0.5, ge=0.0, le=1.0, description="share of each delay drawn at random"
    )


class NotifyChannel(StrictModel):
    """One destination of notifications."""

    name: Id | None = Field(
        default=None, description="channel name (default: '<notifier>-<n>', e.g. 'webhook-1')"
    )
    url: str = Field(description="http(s):// webhook, mqtt(s):// broker, or an Apprise URL")
    villages: tuple[Id, ...] = Field(default=(), description="only these villages (empty: all)")
    hazards: tuple[Id, ...] = Field(
        default=(), description="only these hazards / request kinds (empty: all)"
    )
    types: tuple[NotificationType, ...] = Field(
        default=(), description="only these notification types (empty: all)"
    )
    rate_limit: RateLimit | None = Field(
        default=None,
        description="send limit (default: 20 a minute for DingTalk and WeCom bots, else none)",
    )
    timeout_s: float = Field(default=5.0, gt=0, le=120, description="per-send network timeout")
    secret_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding the webhook secret "
        "(default GRIDSIGHT_WEBHOOK_SECRET)",
    )
    retry: RetrySettings | None = Field(
        default=None, description="retries of this channel (default: the section's)"
    )

    @field_validator("url")
    @classmethod
    def _url_form(cls, value: str) -> str:
        what = url_problem(value)
        if what is not None:
            raise ValueError(f"notifier URL {value!r} {what}")
        return value


class NotifyConfig(StrictModel):
    """The township's notification channels and delivery settings."""

    channels: tuple[NotifyChannel, ...] = ()
    retry: RetrySettings = Field(default_factory=RetrySettings)
    ack_url: str | None = Field(
        default=None,
        description="base URL of acknowledge links (a token is appended as ?token=...)",
    )

    @model_validator(mode="after")
    def _check(self) -> NotifyConfig:
        problems: list[Problem] = []
        names = [ch.name or f"#{k}" for k, ch in enumerate(self.channels)]
        for name, idx in duplicates(names).items():
            problems.append(
                Problem(
                    ("channels", idx[1], "name"),
                    f"channel name {name!r} is used more than once (first at index {idx[0]})",
                )
            )
        if self.ack_url is not None:
            what = url_problem(self.ack_url)
            if what is None and self.ack_url.split("://", 1)[0].lower() not in WEBHOOK_SCHEMES:
                what = "is not an http(s) URL"
            if what is not None:
                problems.append(Problem(("ack_url",), f"ack_url {self.ack_url!r} {what}"))
        if problems:
            raise InvariantViolation(problems)
        return self
