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

from collections.abc import Callable
from typing import Any, TypeVar

import click

from gridsight.core.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

NOTIFY_HELP = (
    "Send work-order notifications to URL (repeatable): http(s)://... a JSON webhook signed "
    "with X-Gridsight-Signature (secret: $GRIDSIGHT_WEBHOOK_SECRET); "
    "mqtt://host[:port][/prefix] MQTT (topics <prefix>/work_orders/<id>, <prefix>/events "
    "(every hazard event phase), retained <prefix>/cameras/<id>/status); anything else "
    "an Apprise URL (dingtalk://TOKEN, wecombot://KEY, ntfy://TOPIC, mailtos://...). Adds to the "
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
