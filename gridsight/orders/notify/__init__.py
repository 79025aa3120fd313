"""Notifications of work orders: webhook, MQTT and Apprise notifiers, rate limits, digests.

The order service writes notifications into the outbox table; the outbox relay
(:mod:`gridsight.orders.notify.relay`) delivers them through the notifiers built here:

* :mod:`.base`: the :class:`~.base.Notifier` interface and :func:`~.base.notifier_for_url`;
* :mod:`.webhook`, :mod:`.mqtt`, :mod:`.apprise_notifier`: the built-in notifiers;
* :mod:`.channels`: channels from the ``notify:`` config section and ``--notify`` URLs;
* :mod:`.ratelimit`: token buckets and digests;
* :mod:`.ack`: acknowledge tokens; :mod:`.render`: notifications as text;
* :mod:`.receiver`: a local webhook receiver for the demo, tests and benchmarks.
"""

from __future__ import annotations

from gridsight.orders.notify.base import DeliveryError, Notifier, notifier_for_url, redact_url

__all__ = ["DeliveryError", "Notifier", "notifier_for_url", "redact_url"]
