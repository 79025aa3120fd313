"""The demo's notifications: a local webhook receiver, a signed webhook channel, the relay.

``gridsight demo`` shows alerts becoming *notified* work orders, as
``gridsight run --db orders.sqlite --notify http://127.0.0.1:<port>/hook`` would with
``GRIDSIGHT_WEBHOOK_SECRET`` set: the order service writes an outbox row per
notification, the pipeline's outbox relay (:mod:`gridsight.live.notifications`) posts
each one, signed, to a :class:`~gridsight.orders.notify.receiver.WebhookReceiver` on
127.0.0.1 that checks the signature and records what arrived. Usage::

    notes = DemoNotifications.start(pm)          # receiver + a channel signed for it
    pipe = build_pipeline(town, options, channels=notes.channels, ack_secret=notes.secret)
    ...                                          # the engine runs; orders are notified
    left = pipe.close(flush_s=FLUSH_S)           # the relay delivers what is due
    summary = notes.finish(views, pending=left, counts=pipe.notifications.final_counts)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

    from gridsight.orders.notify.channels import Channel
    from gridsight.orders.notify.receiver import Received, WebhookReceiver
    from gridsight.orders.views import WorkOrderView

#: The demo's webhook secret (the receiver checks every signature against it).
DEMO_SECRET = "gridsight-demo-secret"
#: Longest wait at the end of the demo for the outbox to drain, seconds.
FLUSH_S = 10.0


@dataclass(frozen=True, slots=True)
class OrderNotice:
    """The first accepted dispatch notification of one work order.

    Attributes:
        order: the work-order id.
        worker: who was notified (the assignee in the notification).
        delay_s: arrival at the receiver minus the order's creation (the alarm), seconds.
        signature_ok: whether the receiver verified its signature.
    """

    order: str
    worker: str | None
    delay_s: float
    signature_ok: bool


def first_dispatches(received: Iterable[Received]) -> dict[str, Received]:
    """``{order id: the first accepted notification that dispatched it}``."""
    out: dict[str, Received] = {}
    for r in received:
        body = r.json
        if not isinstance(body, Mapping) or body.get("after") != "dispatched":
            continue
        order = body.get("order")
        oid = order.get("id") if isinstance(order, Mapping) else None
        if isinstance(oid, str) and oid not in out:
            out[oid] = r
    return out


def order_notices(
    views: Iterable[WorkOrderView],
    received: Iterable[Received],
    to_service_time: Callable[[float], float] | None = None,
) -> list[OrderNotice]:
    """One :class:`OrderNotice` per order the receiver got a dispatch notification for.

    ``to_service_time`` maps the machine's time of arrival onto the order service's
    clock (a :class:`~gridsight.orders.clock.StreamClock`'s ``at_wall``) when the
    service does not run on the machine's clock.
    """
    convert = to_service_time or (lambda t: t)
    first = first_dispatches(received)
    notices: list[OrderNotice] = []
    for v in views:
        r = first.get(v.id)
        if r is None:
            continue
        body = r.json
        notices.append(
            OrderNotice(
                order=v.id,
                worker=body.get("assignee"),
                delay_s=convert(r.at) - v.created_at,
                signature_ok=r.signature_ok is True,
            )
        )
    return notices


class DemoNotifications:
    """The receiver and its signed webhook channel.

    Args:
        receiver: a started receiver.
        channels: the built channels (one webhook to the receiver).
    """

    def __init__(self, receiver: WebhookReceiver, channels: list[Channel]) -> None:
        self.receiver = receiver
        self.channels = channels
        self.secret = DEMO_SECRET

    @classmethod
    def start(cls, pm: pluggy.PluginManager, *, record: Path | None = None) -> DemoNotifications:
        """Start a receiver on a free port and build a webhook channel signed for it.

        Args:
            pm: the plugin manager (the webhook notifier).
            record: a JSONL file the receiver appends each accepted request to.
        """
        from gridsight.orders.notify.channels import SECRET_ENV, build_channels
        from gridsight.orders.notify.receiver import WebhookReceiver

        rx = WebhookReceiver(secret=DEMO_SECRET, record=record).start()
        try:
            chans = build_channels(pm, None, [rx.url], env={SECRET_ENV: DEMO_SECRET})
        except BaseException:
            rx.stop()
            raise
        return cls(rx, chans)

    @property
    def names(self) -> tuple[str, ...]:
        """The channel names (what the order service writes outbox rows for)."""
        return tuple(c.name for c in self.channels)

    def finish(
        self,
        views: Iterable[WorkOrderView],
        *,
        pending: int = 0,
        counts: Mapping[str, Mapping[str, int]] | None = None,
        to_service_time: Callable[[float], float] | None = None,
    ) -> dict[str, Any]:
        """Stop the receiver and sum up what it got (call after the relay's flush).

        Args:
            views: the orders.
            pending: notifications the flush left in the outbox.
            counts: the relay's per-channel counts (``dead`` is summed).
            to_service_time: see :func:`order_notices`.

        Returns:
            ``received``, ``accepted``, ``signatures_ok``, ``pending`` (left in the
            outbox), ``dead`` and ``notices`` (a list of :class:`OrderNotice` dicts).
        """
        self.receiver.stop()
        dead = sum(int(c.get("dead", 0)) for c in (counts or {}).values())
        received = self.receiver.received
        accepted = self.receiver.accepted
        notices = order_notices(views, accepted, to_service_time)
        return {
            "received": len(received),
            "accepted": len(accepted),
            "signatures_ok": sum(r.signature_ok is True for r in received),
            "pending": pending,
            "dead": dead,
            "notices": [
                {
                    "order": n.order,
                    "worker": n.worker,
                    "delay_s": round(n.delay_s, 3),
                    "signature_ok": n.signature_ok,
                }
                for n in notices
            ],
        }

    def close(self) -> None:
        """Stop the receiver (on an error path)."""
        self.receiver.stop()


def format_notices(summary: Mapping[str, Any]) -> list[str]:
    """The lines printed next to the orders table."""
    lines = [
        f"notifications: the demo webhook receiver got {summary['received']} "
        f"({summary['accepted']} accepted, {summary['signatures_ok']} with a verified "
        f"signature); {summary['pending']} left in the outbox, {summary['dead']} dead"
    ]
    for n in summary["notices"]:
        ok = "signature ok" if n["signature_ok"] else "signature NOT verified"
        lines.append(
            f"  {n['order']}: {n['worker'] or '(nobody)'} notified "
            f"{n['delay_s']:.1f} s after the alarm ({ok})"
        )
    return lines
