"""The pipeline's outbound fan-out: the outbox relay and the camera-status publisher.

Built once per pipeline over its channels (the township's ``notify:`` section, the
``--notify`` URLs, or channels made by the caller, e.g. the demo's webhook receiver):

* the :class:`~gridsight.orders.notify.delivery.Delivery` relay delivers the outbox rows
  the order service writes with each change (woken after every commit);
* the :class:`~gridsight.orders.notify.camera_status.CameraStatusPublisher` publishes
  each camera's state to the notifiers that keep it (MQTT's retained
  ``<prefix>/cameras/<id>/status``);
* hazard events themselves go out through
  :class:`~gridsight.orders.notify.event_sink.EventNotifySink`, one of the engine's sinks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Engine as SqlEngine

from gridsight.orders.notify.camera_status import CameraStatusPublisher
from gridsight.orders.notify.channels import Channel
from gridsight.orders.notify.delivery import Delivery

log = logging.getLogger(__name__)


class Notifications:
    """Relay and camera-status publisher of one pipeline (started with it).

    Args:
        channels: the channels.
        store_engine: the order store's engine (where the outbox table is).
        town: the township (its ``notify.ack_url``), or None.
        status: the engine's status (``Engine.status``), or None when no engine runs.
        status_interval_s: how often camera states are looked at.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        store_engine: SqlEngine,
        *,
        town: Any = None,
        status: Callable[[], Any] | None = None,
        status_interval_s: float = 2.0,
    ) -> None:
        self.channels = list(channels)
        self.delivery = Delivery.create(
            self.channels, store_engine, town=town, start=False, poll_s=0.2
        )
        #: ``{channel: {"delivered", "pending", "dead"}}`` as :meth:`close` left them.
        self.final_counts: dict[str, dict[str, int]] = {}
        self.publisher = (
            CameraStatusPublisher(
                [c.notifier for c in self.channels], status, interval_s=status_interval_s
            )
            if status is not None
            else None
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The channel names (what the order service writes outbox rows for)."""
        return self.delivery.names

    def start(self) -> None:
        """Start delivering and publishing."""
        self.delivery.relay.start()
        if self.publisher is not None:
            self.publisher.start()

    def wake(self) -> None:
        """Deliver due rows now (after a commit) instead of at the relay's next poll."""
        self.delivery.wake()

    def close(self, *, flush_s: float = 10.0) -> int:
        """Publish the final camera states, deliver what is due (up to ``flush_s``), stop.

        Returns how many due notifications were left in the outbox (they go out with
        the next process on this store).
        """
        if self.publisher is not None:
            self.publisher.stop()
        left = self.delivery.flush(flush_s) if flush_s > 0 else 0
        try:
            self.final_counts = self.counts()
        except Exception as exc:  # the store went away: the counts are only a summary
            log.warning("notification counts: %s", exc)
        self.delivery.close()
        return left

    def counts(self) -> dict[str, dict[str, int]]:
        """``{channel: {"delivered", "pending", "dead"}}``."""
        return {name: self.delivery.relay.counts(name) for name in self.delivery.names}
