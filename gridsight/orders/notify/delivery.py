"""Notification delivery for a running service: channels + outbox relay, started and stopped.

What ``gridsight run --db ... --notify URL`` and ``gridsight serve`` need, in one object::

    delivery = Delivery.open(pm, town, urls, store.engine)    # builds channels, starts relay
    svc = OrderService(store, town, channels=delivery.names, ack_secret=delivery.ack_secret)
    ...                                                        # svc writes outbox rows
    delivery.wake()                                            # after a commit: send now
    delivery.close(flush_s=10)                                 # deliver what is due, stop

The order service writes an outbox row only for channels that want the notification;
:meth:`Delivery.accepts` is the filter (village, hazard, type) it asks.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import pluggy
from sqlalchemy.engine import Engine

from gridsight.orders.notify.ack import ack_secret_from_env
from gridsight.orders.notify.channels import Channel, build_channels
from gridsight.orders.notify.relay import OutboxRelay


class Delivery:
    """Built channels and the relay delivering their outbox rows.

    Attributes:
        channels: ``{name: Channel}`` in configuration order.
        relay: the outbox relay (started by :meth:`open`).
        ack_secret: the secret for acknowledge tokens (``GRIDSIGHT_ACK_SECRET``, else
            the webhook secret), or None.
    """

    def __init__(
        self,
        channels: Iterable[Channel],
        relay: OutboxRelay,
        *,
        ack_secret: str | None = None,
    ) -> None:
        self.channels = {c.name: c for c in channels}
        self.relay = relay
        self.ack_secret = ack_secret

    @classmethod
    def open(
        cls,
        pm: pluggy.PluginManager,
        town: Any,
        urls: Iterable[str],
        engine: Engine,
        *,
        env: Mapping[str, str] | None = None,
        start: bool = True,
        **relay_options: Any,
    ) -> Delivery:
        """Build the channels of ``town``'s ``notify:`` section and ``urls``, and a relay.

        Args:
            pm: the plugin manager.
            town: the township (its ``notify`` section) or None.
            urls: ``--notify`` URLs.
            engine: the store's engine (where the outbox table is).
            env: environment for secrets (default ``os.environ``).
            start: start the relay's threads.
            relay_options: passed to :class:`OutboxRelay` (``poll_s``, ``clock``, ...).

        Raises:
            ConfigError: a channel cannot be built (see ``build_channels``).
        """
        chans = build_channels(pm, town, urls, env=env)
        return cls.create(chans, engine, town=town, start=start, **relay_options)

    @classmethod
    def create(
        cls,
        channels: Iterable[Channel],
        engine: Engine,
        *,
        town: Any = None,
        start: bool = True,
        **relay_options: Any,
    ) -> Delivery:
        """A delivery over channels built already (e.g. before the store was opened).

        ``town``'s ``notify.ack_url`` becomes the relay's ``ack_url`` unless given.
        """
        chans = list(channels)
        section = getattr(town, "notify", None) if town is not None else None
        relay_options.setdefault("ack_url", getattr(section, "ack_url", None))
        relay = OutboxRelay.for_channels(engine, chans, **relay_options)
        out = cls(chans, relay, ack_secret=ack_secret_from_env())
        if start and chans:
            relay.start()
        return out

    @property
    def names(self) -> tuple[str, ...]:
        """The channel names (what the order service writes outbox rows for)."""
        return tuple(self.channels)

    def accepts(self, channel: str, payload: Mapping[str, Any]) -> bool:
        """Whether ``channel`` wants this notification (unknown channels: True)."""
        ch = self.channels.get(channel)
        return True if ch is None else ch.accepts(payload)

    def wake(self) -> None:
        """Deliver due rows now instead of at the next poll."""
        self.relay.wake()

    def flush(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for due rows to be delivered; return how many remain."""
        deadline = time.monotonic() + timeout_s
        while True:
            pending = self.pending_due() + self.relay.inflight
            if pending == 0 or time.monotonic() >= deadline:
                return pending
            self.relay.wake()
            time.sleep(0.05)

    def pending_due(self) -> int:
        """Rows of these channels that are due now and not yet delivered or dead."""
        import sqlalchemy as sa

        t = self.relay.table.c
        now = self.relay.clock()
        with self.relay.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(self.relay.table)
                    .where(
                        t.channel.in_(list(self.channels)),
                        t.delivered_at.is_(None),
                        t.dead_at.is_(None),
                        t.next_attempt_at <= now,
                    )
                ).scalar_one()
            )

    def summary(self) -> str:
        """One line: rows delivered / pending / dead per channel."""
        parts = []
        for name in self.channels:
            c = self.relay.counts(name)
            parts.append(
                f"{name}: {c['delivered']} delivered, {c['pending']} pending, {c['dead']} dead"
            )
        return "; ".join(parts) or "no channels"

    def close(self, *, flush_s: float = 0.0) -> None:
        """Optionally wait for due rows (``flush_s``), then stop the relay and close channels."""
        if flush_s > 0 and self.channels:
            self.flush(flush_s)
        self.relay.close()

    def __enter__(self) -> Delivery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
