"""The ``--notify URL`` option shared by ``gridsight run`` and ``gridsight serve``.

Usage in a command::

    @click.command()
    @notify_option
    def run(..., notify: tuple[str, ...]) -> None: ...

Each URL's form is checked when the command line is parsed, so a typo fails at once
with a usage error naming the URL and what is wrong; whether Apprise knows a scheme is
checked when the channels are built (``Delivery.open`` / ``build_channels``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gridsight.core.errors import ConfigError

if TYPE_CHECKING:
    import pluggy
    from sqlalchemy.engine import Engine

    from gridsight.orders.notify.camera_status import CameraStatusPublisher
    from gridsight.orders.notify.channels import Channel
    from gridsight.orders.notify.delivery import Delivery

F = TypeVar("F", bound=Callable[..., Any])

NOTIFY_HELP = (
    "Send work-order notifications to URL (repeatable): http(s)://... a JSON webhook signed "
    "with X-Gridsight-Signature (secret: $GRIDSIGHT_WEBHOOK_SECRET); "
    "mqtt://host[:port][/prefix] MQTT (topics <prefix>/work_orders/<id>, <prefix>/events, "
    "retained <prefix>/cameras/<id>/status); anything else an Apprise URL "
    "(dingtalk://TOKEN, wecombot://KEY, ntfy://TOPIC, mailtos://...). Adds to the "
    "config's notify: channels."
)


def check_notify_urls(
    _ctx: click.Context | None, _param: click.Parameter | None, value: tuple[str, ...]
) -> tuple[str, ...]:
    """Click callback: every ``--notify`` URL well formed, else a usage error naming it."""
    from gridsight.orders.notify.channels import parse_notify_urls

    try:
        parse_notify_urls(value)
    except ConfigError as exc:
        raise click.BadParameter(
            str(exc).removeprefix("--notify "), param_hint="--notify"
        ) from None
    return value


def notify_option(fn: F) -> F:
    """Add ``--notify URL`` (repeatable; the parameter ``notify: tuple[str, ...]``)."""
    return click.option(
        "--notify",
        "notify",
        multiple=True,
        metavar="URL",
        callback=check_notify_urls,
        help=NOTIFY_HELP,
    )(fn)


def notify_channels(
    pm: pluggy.PluginManager, town: Any, urls: Iterable[str], db: str | None
) -> list[Channel]:
    """The channels of ``town``'s ``notify:`` section and ``--notify`` URLs, for ``run``.

    Raises:
        ConfigError: a channel cannot be built, or there are channels but no ``--db``
            (notifications are sent for the work orders kept in the store).
    """
    from gridsight.orders.notify.channels import build_channels

    urls = list(urls)
    if db is None:
        if urls:
            raise ConfigError(
                "--notify sends work-order notifications, which need the work-order store: "
                "add --db PATH (e.g. --db orders.sqlite) or a PostgreSQL URL"
            )
        return []  # a config notify: section without --db: nothing to notify about
    return build_channels(pm, town, urls)


class RunNotifications:
    """Delivery (outbox relay) and camera-status publishing for one ``gridsight run``."""

    def __init__(self, delivery: Delivery, publisher: CameraStatusPublisher) -> None:
        self.delivery = delivery
        self.publisher = publisher

    @classmethod
    def start(
        cls, channels: list[Channel], store_engine: Engine, town: Any, engine: Any
    ) -> RunNotifications | None:
        """Start the relay over ``store_engine`` and the camera-status publisher."""
        if not channels:
            return None
        from gridsight.orders.notify.camera_status import CameraStatusPublisher
        from gridsight.orders.notify.delivery import Delivery

        delivery = Delivery.create(channels, store_engine, town=town, poll_s=0.2)
        publisher = CameraStatusPublisher(
            [c.notifier for c in channels], engine.status, interval_s=2.0
        ).start()
        return cls(delivery, publisher)

    def close(self, console: Any, *, flush_s: float = 10.0) -> None:
        """Deliver what is due (up to ``flush_s``), stop, and print one line per channel."""
        self.publisher.stop()
        left = self.delivery.flush(flush_s)
        for name in self.delivery.names:
            c = self.delivery.relay.counts(name)
            console.print(
                f"notify {name}: {c['delivered']} delivered, {c['pending']} pending, "
                f"{c['dead']} dead",
                soft_wrap=True,
            )
        if left:
            console.print(
                f"{left} notification(s) not delivered yet; they stay in the outbox and go "
                "out with the next run or serve on this store"
            )
        self.delivery.close()
