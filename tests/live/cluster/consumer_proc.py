"""A order-service replica for the tests: the cluster's consumer into a store, nothing else.

Usage: python consumer_proc.py NATS_URL DB_URL SCHEMA CLUSTER ACK_WAIT_S
Runs until killed; the clock is fixed (10:00 on a weekday) so that every replica and
the reference run dispatch alike.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from gridsight.core.config import load_township
from gridsight.live.cluster.consumer import OrderConsumer
from gridsight.live.cluster.names import ClusterNames
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore

MORNING = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def main() -> None:
    url, db, schema, cluster, ack_wait = sys.argv[1:6]
    store = OrderStore.open(db, schema=schema or None)
    service = OrderService(store, load_township("configs/jingqiao.yaml"), clock=lambda: MORNING)
    consumer = OrderConsumer(url, service, names=ClusterNames(cluster), ack_wait_s=float(ack_wait))
    consumer.start()
    consumer.ready.wait(30)
    print("ready", flush=True)
    while True:
        time.sleep(1.0)


if __name__ == "__main__":
    main()
