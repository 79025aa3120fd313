"""The order service's side: a durable JetStream consumer that makes each event an order once.

Every replica of the order service pulls from one durable consumer
(``<cluster>-orders``), so several consume together and a crashed one's unacknowledged
messages are redelivered to the others after ``ack_wait``. For each message:

1. read the camera's owner key in the cluster's KV: its revision is the newest epoch
   granted (the *floor*);
2. :meth:`OrderService.ingest_fenced` in one transaction: the message id is recorded
   (UNIQUE: a redelivery changes nothing), an epoch older than the floor or than the
   newest seen for the camera is refused (recorded as ``stale``), anything else
   is applied to the work orders;
3. acknowledge after the commit. A crash between commit and acknowledgement only
   causes a redelivery, which step 2 recognises.

When the store is unreachable the message is not acknowledged (it is redelivered
after a pause); a message that is not an event at all is terminated and counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gridsight.core.errors import GridsightError
from gridsight.core.events import HazardEvent
from gridsight.live.cluster.kv import ClusterStore, connect, open_store_retrying
from gridsight.live.cluster.names import ClusterNames, Timings
from gridsight.live.cluster.publisher import message_id

if TYPE_CHECKING:
    from nats.aio.msg import Msg

    from gridsight.orders.service import OrderService

log = logging.getLogger("gridsight.cluster.consumer")

#: Seconds the server waits for an acknowledgement before redelivering a message.
ACK_WAIT_S = 30.0
_STORE_DOWN = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


@dataclass(slots=True)
class ConsumerCounters:
    """What the consumer did with the messages it got."""

    accepted: int = 0
    duplicate: int = 0
    stale: int = 0
    bad: int = 0
    store_errors: int = 0
    nats_errors: int = 0
    last_error: str | None = None


class OrderConsumer:
    """Consumes the cluster's events into ``service`` (see the module docstring).

    Args:
        url: NATS URL(s).
        service: the order service.
        names: the cluster's names.
        timings: the cluster's timings (the stream's replicas).
        batch: messages fetched at once.
        ack_wait_s: how long the server waits for an acknowledgement.
    """

    def __init__(
        self,
        url: str,
        service: OrderService,
        *,
        names: ClusterNames | None = None,
        timings: Timings | None = None,
        batch: int = 64,
        ack_wait_s: float = ACK_WAIT_S,
    ) -> None:
        self.url = url
        self.service = service
        self.names = names or ClusterNames()
        self.timings = timings or Timings()
        self.batch = batch
        self.ack_wait_s = ack_wait_s
        self.counters = ConsumerCounters()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    # -- on a thread of its own (the service's) ---------------------------------------------

    def start(self) -> None:
        """Consume on a background thread until :meth:`close`."""
        self._thread = threading.Thread(target=self._main, name="orders-consumer", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop consuming (the message in hand is finished and acknowledged first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self.run())
        except Exception:
            log.exception("order consumer stopped on an error")

    def stats(self) -> dict[str, Any]:
        """Counters for status views and ``/metrics``."""
        c = self.counters
        return {
            "accepted": c.accepted,
            "duplicate": c.duplicate,
            "stale": c.stale,
            "bad": c.bad,
            "store_errors": c.store_errors,
            "nats_errors": c.nats_errors,
            "last_error": c.last_error,
        }

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Pull and apply messages until :meth:`close`."""
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        nc = await connect(self.url, name="gridsight-orders-consumer")
        try:
            store = await open_store_retrying(
                nc, self.names, self.timings, stopping=self._stop.is_set
            )
            if store is None:
                return
            sub = await store.js.pull_subscribe(
                self.names.subjects,
                durable=self.names.orders_consumer,
                stream=self.names.stream,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_wait=self.ack_wait_s,
                    max_ack_pending=10_000,
                ),
            )
            self.ready.set()
            while not self._stop.is_set():
                try:
                    msgs = await sub.fetch(self.batch, timeout=1.0)
                except (NatsTimeout, TimeoutError):
                    continue
                except Exception as exc:  # NATS restarting: try again shortly
                    self.counters.last_error = f"fetch: {type(exc).__name__}: {exc}"
                    await asyncio.sleep(0.5)
                    continue
                for msg in msgs:
                    try:
                        await self._handle(store, msg)
                    except Exception as exc:  # NATS failing over: redelivered after ack_wait
                        self.counters.nats_errors += 1
                        self.counters.last_error = f"{type(exc).__name__}: {exc}"
                        log.warning("message left for redelivery: %s", self.counters.last_error)
                        await asyncio.sleep(0.5)
        finally:
            await nc.close()

    async def _handle(self, store: ClusterStore, msg: Msg) -> None:
        try:
            data = json.loads(msg.data)
            epoch = int(data.pop("epoch"))
            node = data.pop("node", None)
            event = HazardEvent.from_dict(data, where=f"message on {msg.subject}")
        except (ValueError, KeyError, TypeError, GridsightError) as exc:
            self.counters.bad += 1
            self.counters.last_error = f"bad message on {msg.subject}: {exc}"
            log.error("%s", self.counters.last_error)
            await msg.term()
            return
        delivery = (msg.headers or {}).get("Nats-Msg-Id") or message_id(event)
        try:
            floor = await self._floor(store, event.camera)
            admission, _ = await asyncio.to_thread(
                self.service.ingest_fenced,
                event,
                delivery_id=delivery,
                epoch=epoch,
                floor=floor,
                node=None if node is None else str(node),
            )
        except _STORE_DOWN as exc:
            self.counters.store_errors += 1
            self.counters.last_error = f"store unavailable: {exc}"
            log.warning("%s; message left for redelivery", self.counters.last_error)
            await msg.nak(delay=1.0)
            await asyncio.sleep(0.5)
            return
        except GridsightError as exc:  # a bad event stays bad: count it, do not retry
            self.counters.bad += 1
            self.counters.last_error = f"event {event.id} rejected: {exc}"
            log.warning("%s", self.counters.last_error)
            await msg.ack()
            return
        if admission == "accepted":
            self.counters.accepted += 1
        elif admission == "duplicate":
            self.counters.duplicate += 1
        else:
            self.counters.stale += 1
            log.warning(
                "refused %s from %s: epoch %d older than %s's newest", delivery, node, epoch,
                event.camera,
            )  # fmt: skip
        await msg.ack()

    async def _floor(self, store: ClusterStore, camera: str) -> int:
        from nats.js.errors import KeyNotFoundError

        try:
            entry = await store.owners.get(camera)
        except KeyNotFoundError:
            return 0
        return int(entry.revision or 0)


def start_order_consumer(url: str, service: OrderService, cluster: str) -> OrderConsumer:
    """An :class:`OrderConsumer` of cluster ``cluster`` into ``service``, started."""
    consumer = OrderConsumer(url, service, names=ClusterNames(cluster))
    consumer.start()
    return consumer


__all__ = ["ACK_WAIT_S", "ConsumerCounters", "OrderConsumer", "start_order_consumer"]
