"""Prometheus series of the work-order store, read at scrape time: what operators alert on.

- ``gridsight_work_orders{state}``: orders in each state (gauge).
- ``gridsight_sla_breaches_total{clock}``: orders whose ``dispatch`` or ``close`` clock
  breached (a breach stays a breach, so the count only rises while orders are kept).
- ``gridsight_orders_awaiting_verification`` and
  ``gridsight_verification_wait_seconds``: orders in ``new`` and how long the oldest has
  waited (nobody verifying is the failure that breached every e-bike order in review).
- ``gridsight_outbox_pending{channel}`` / ``gridsight_outbox_dead{channel}``: messages
  waiting to be delivered, and dead letters (given up after the retries).
- ``gridsight_notification_latency_seconds{channel}``: from the change committed to the
  message delivered, a histogram over every delivered message (the rows are the record,
  so restarts lose nothing).

One SQL query per family, read-only; a store that cannot be reached yields no series
(and ``gridsight_store_up 0``) rather than a failed scrape.

Example:
    >>> from prometheus_client import CollectorRegistry
    >>> registry = CollectorRegistry()
    >>> registry.register(OrderMetrics(store.engine))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy.engine import Engine

from gridsight.orders.states import STATES
from gridsight.orders.tables import outbox, work_orders

log = logging.getLogger("gridsight.orders")

#: Bounds of the notification latency histogram, seconds (the dispatch target is 60 s).
LATENCY_BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)


class OrderMetrics(Collector):
    """A Prometheus collector over the work-order store.

    Args:
        engine: the store's engine.
        clock: the orders' clock (epoch seconds), for the verification wait.
    """

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> list[Metric]:
        """Nothing up front: the families are built at scrape time."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The families (see the module docstring)."""
        up = GaugeMetricFamily("gridsight_store_up", "1 when the work-order store answered.")
        try:
            with self.engine.connect() as conn:
                families = list(self._families(conn))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: the store did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, conn: sa.Connection) -> Iterator[Metric]:
        wo = work_orders.c
        by_state: dict[str, int] = dict(
            conn.execute(sa.select(wo.state, sa.func.count()).group_by(wo.state)).all()
        )
        states = GaugeMetricFamily(
            "gridsight_work_orders", "Work orders in each state.", labels=["state"]
        )
        for state in STATES:
            states.add_metric([state], int(by_state.get(state, 0)))
        yield states

        breaches = CounterMetricFamily(
            "gridsight_sla_breaches",
            "Work orders whose SLA clock breached, by clock (dispatch, close).",
            labels=["clock"],
        )
        for clock, column in (("dispatch", wo.sla_dispatch), ("close", wo.sla_close)):
            n = conn.execute(
                sa.select(sa.func.count()).select_from(work_orders).where(column == "breached")
            ).scalar_one()
            breaches.add_metric([clock], int(n))
        yield breaches

        waiting, oldest = conn.execute(
            sa.select(sa.func.count(), sa.func.min(wo.created_at)).where(wo.state == "new")
        ).one()
        yield GaugeMetricFamily(
            "gridsight_orders_awaiting_verification",
            "Work orders in state new, waiting for an operator to verify them.",
            value=int(waiting),
        )
        yield GaugeMetricFamily(
            "gridsight_verification_wait_seconds",
            "How long the oldest order waiting for verification has waited (0: none waits).",
            value=max(0.0, self.clock() - float(oldest)) if oldest is not None else 0.0,
        )
        yield from self._outbox(conn)

    def _outbox(self, conn: sa.Connection) -> Iterator[Metric]:
        ob = outbox.c
        pending = GaugeMetricFamily(
            "gridsight_outbox_pending",
            "Notifications waiting to be delivered, by channel.",
            labels=["channel"],
        )
        dead = GaugeMetricFamily(
            "gridsight_outbox_dead",
            "Notifications given up after their retries (dead letters), by channel.",
            labels=["channel"],
        )
        rows = conn.execute(
            sa.select(
                ob.channel,
                sa.func.sum(
                    sa.case((sa.and_(ob.delivered_at.is_(None), ob.dead_at.is_(None)), 1), else_=0)
                ),
                sa.func.sum(sa.case((ob.dead_at.is_not(None), 1), else_=0)),
            ).group_by(ob.channel)
        ).all()
        for channel, n_pending, n_dead in rows:
            pending.add_metric([channel], int(n_pending or 0))
            dead.add_metric([channel], int(n_dead or 0))
        yield pending
        yield dead

        latency = ob.delivered_at - ob.created_at
        columns = [
            sa.func.sum(sa.case((latency <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS
        ]
        hist = HistogramMetricFamily(
            "gridsight_notification_latency_seconds",
            "From the order change committed to its notification delivered, by channel.",
            labels=["channel"],
        )
        delivered = conn.execute(
            sa.select(ob.channel, sa.func.count(), sa.func.sum(latency), *columns)
            .where(ob.delivered_at.is_not(None), ob.last_error.is_(None))
            .group_by(ob.channel)
        ).all()
        for channel, count, total, *cumulative in delivered:
            buckets = [
                (floatToGoString(b), float(c or 0))
                for b, c in zip(LATENCY_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", float(count)))
            hist.add_metric([channel], buckets, sum_value=float(total or 0.0))
        yield hist
