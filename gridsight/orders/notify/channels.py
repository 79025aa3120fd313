"""Notification channels: the ``notify:`` config section and ``--notify URL`` options, built.

A :class:`Channel` is a named notifier with its filters (villages, hazards, types), its
rate limit and retry settings. The order service writes one outbox row per channel that
:meth:`Channel.accepts` a notification; the outbox relay delivers each row through its
channel's notifier.

Names: a config channel may name itself; every other channel is ``<notifier>-<n>``
(``webhook-1``, ``mqtt-1``, ``apprise-2``), numbered per notifier in the order the
config's channels and then the ``--notify`` URLs are given.

Example:
    >>> from gridsight.core.plugins import build_plugin_manager
    >>> chans = build_channels(build_plugin_manager(), urls=["https://ops.example/hook"],
    ...                        env={"GRIDSIGHT_WEBHOOK_SECRET": "s3cret"})
    >>> [c.name for c in chans]
    ['webhook-1']
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

from gridsight.core.config.notify import NotifyChannel, NotifyConfig, RateLimit, RetrySettings
from gridsight.core.errors import ConfigError
from gridsight.orders.notify.base import Notifier, class_for_url, redact_url
from gridsight.orders.notify.webhook import SECRET_ENV


@dataclass(slots=True)
class Channel:
    """A named destination: its notifier, filters, rate limit and retries.

    Attributes:
        name: the channel name (the outbox rows' ``channel``).
        notifier: delivers to the destination.
        villages, hazards, types: filters; empty means everything.
        rate_limit: sends allowed per window (None: no limit).
        retry: backoff and dead-letter settings.
    """

    name: str
    notifier: Notifier
    villages: frozenset[str] = frozenset()
    hazards: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    rate_limit: RateLimit | None = None
    retry: RetrySettings = field(default_factory=RetrySettings)

    def accepts(self, payload: Mapping[str, Any]) -> bool:
        """Whether this channel wants a notification (by village, hazard and type).

        Digests and camera statuses pass the hazard and village filters (they carry
        none); the type filter applies only to work-order notification types.
        """
        kind = payload.get("type")
        order_types = ("new", "update", "end", "escalation", "sla_breach")
        if self.types and kind in order_types and kind not in self.types:
            return False
        event = payload.get("event") if isinstance(payload.get("event"), dict) else None
        src: Mapping[str, Any] = event if event is not None else payload
        village = src.get("village")
        hazard = src.get("hazard")
        if hazard is None and isinstance(payload.get("order"), dict):
            hazard = payload["order"].get("kind")
        if self.villages and village is not None and village not in self.villages:
            return False
        return not (self.hazards and hazard is not None and hazard not in self.hazards)

    def close(self) -> None:
        """Close the notifier."""
        self.notifier.close()


def parse_notify_urls(urls: Iterable[str]) -> list[NotifyChannel]:
    """Channels from ``--notify URL`` options (checked for form; ConfigError names the URL).

    Raises:
        ConfigError: ``--notify URL`` is malformed, saying what is wrong.
    """
    out: list[NotifyChannel] = []
    for url in urls:
        from gridsight.core.config.notify import url_problem

        what = url_problem(url)
        if what is not None:
            raise ConfigError(f"--notify {redact_url(url)!r}: the URL {what}")
        out.append(NotifyChannel(url=url))
    return out


def _where(town: Any, loc: tuple[str | int, ...], fallback: str) -> str:
    if town is not None:
        from gridsight.core.config.loader import source_map

        smap = source_map(town)
        if smap is not None:
            return smap.where(loc)
    return fallback


def _secret(ch: NotifyChannel, env: Mapping[str, str], where: str) -> str | None:
    if ch.secret_env is not None:
        value = env.get(ch.secret_env)
        if not value:
            raise ConfigError(f"{where}: secret_env {ch.secret_env} is not set in the environment")
        return value
    return env.get(SECRET_ENV) or None


def build_channels(
    pm: pluggy.PluginManager,
    town: Any = None,
    urls: Iterable[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    known_kinds: Collection[str] = (),
) -> list[Channel]:
    """Build the channels of a township's ``notify:`` section and of ``--notify`` URLs.

    Args:
        pm: the plugin manager (notifier classes, hazard ids for filter checks).
        town: a ``Township`` (its ``notify`` section and villages) or None.
        urls: ``--notify`` URLs, added after the config's channels.
        env: the environment for secrets (default ``os.environ``).
        known_kinds: request kinds besides hazard ids that a ``hazards`` filter may name.

    Raises:
        ConfigError: a malformed URL, a URL no notifier accepts, an unknown village or
            hazard in a filter, or a missing secret; naming the file line when the
            township was loaded from YAML.
    """
    env = os.environ if env is None else env
    section: NotifyConfig | None = getattr(town, "notify", None) if town is not None else None
    specs: list[tuple[NotifyChannel, str, tuple[str | int, ...] | None]] = []
    if section is not None:
        for k, ch in enumerate(section.channels):
            specs.append((ch, f"notify.channels[{k}]", ("notify", "channels", k)))
    for url_ch in parse_notify_urls(urls):
        specs.append((url_ch, f"--notify {redact_url(url_ch.url)}", None))
    default_retry = section.retry if section is not None else RetrySettings()
    villages = {v.id for v in getattr(town, "villages", ())}
    from gridsight.core.plugins import hazard_rules

    hazards = set(hazard_rules(pm)) | set(known_kinds)

    taken = {ch.name for ch, _, _ in specs if ch.name}
    counters: dict[str, int] = {}
    channels: list[Channel] = []
    try:
        for ch, label, loc in specs:
            where = _where(town, (*loc, "url"), label) if loc else label
            try:
                cls = class_for_url(ch.url, pm)
                notifier = cls.from_url(
                    ch.url, secret=_secret(ch, env, where), timeout_s=ch.timeout_s
                )
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            name = ch.name
            if name is None:
                while True:
                    counters[cls.name] = counters.get(cls.name, 0) + 1
                    name = f"{cls.name}-{counters[cls.name]}"
                    if name not in taken:
                        break
                taken.add(name)
            for j, v in enumerate(ch.villages):
                if town is not None and v not in villages:
                    notifier.close()
                    raise ConfigError(
                        f"{_where(town, (*(loc or ()), 'villages', j), label)}: channel {name!r} "
                        f"filters on village {v!r}, which is not defined; known: "
                        f"{', '.join(sorted(villages))}"
                    )
            for j, h in enumerate(ch.hazards):
                if h not in hazards:
                    notifier.close()
                    raise ConfigError(
                        f"{_where(town, (*(loc or ()), 'hazards', j), label)}: channel {name!r} "
                        f"filters on hazard {h!r}, which no plugin provides; known: "
                        f"{', '.join(sorted(hazards))}"
                    )
            limit = ch.rate_limit
            if limit is None and notifier.default_rate_limit() is not None:
                messages, per_s = notifier.default_rate_limit() or (0, 0.0)
                limit = RateLimit(messages=messages, per_s=per_s)
            channels.append(
                Channel(
                    name=name,
                    notifier=notifier,
                    villages=frozenset(ch.villages),
                    hazards=frozenset(ch.hazards),
                    types=frozenset(ch.types),
                    rate_limit=limit,
                    retry=ch.retry or default_retry,
                )
            )
    except BaseException:
        for built in channels:
            built.close()
        raise
    return channels
