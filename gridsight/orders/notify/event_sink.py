"""Hazard events to the notifiers that carry them (MQTT's ``<prefix>/events``).

Like a camera's status, an event's phases are a live feed, not a work-order notification:
they do not go through the outbox (the work order an event opens is notified there,
reliably). :class:`EventNotifySink` is an ordinary event sink, so the engine writes it on
a thread of its own (a broker that hangs holds up no camera); each event is sent once,
best effort, to every channel whose notifier sets ``hazard_events`` and whose filters
(villages, hazards) accept it. A failed send is counted and logged, never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from gridsight.core.events import HazardEvent
from gridsight.core.sinks.base import EventSink
from gridsight.orders.notify.channels import Channel

log = logging.getLogger(__name__)

#: An event's phase as the notification ``type`` (as work-order notifications name them).
PHASE_TYPE = {"start": "new", "update": "update", "end": "end"}


def event_payload(event: HazardEvent) -> dict[str, Any]:
    """The notification of one event phase: ``{"type": new|update|end, "event": {...}}``."""
    return {"type": PHASE_TYPE.get(event.phase, event.phase), "event": event.to_dict()}


class EventNotifySink(EventSink):
    """Sends every event phase to the channels that carry hazard events.

    Args:
        channels: the pipeline's channels; those whose notifier does not set
            ``hazard_events`` are left out.

    Attributes:
        sent: sends that succeeded.
        failures: sends that raised.
    """

    name: ClassVar[str] = "notify-events"

    def __init__(self, channels: Iterable[Channel]) -> None:
        self.channels = [c for c in channels if getattr(c.notifier, "hazard_events", False)]
        self.sent = 0
        self.failures = 0

    def __bool__(self) -> bool:
        return bool(self.channels)

    def write(self, event: HazardEvent) -> None:
        """Send one event phase (best effort: a failure is logged, the next event goes on)."""
        payload = event_payload(event)
        for ch in self.channels:
            if not ch.accepts(payload):
                continue
            try:
                ch.notifier.send(payload, key=f"event:{event.id}:{event.phase}:{event.ts:.3f}")
            except Exception as exc:
                self.failures += 1
                log.warning("event %s to %s: %s", event.id, ch.notifier.describe(), exc)
            else:
                self.sent += 1
