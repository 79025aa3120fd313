"""A cluster node without an engine, for the takeover benchmark: the control plane only.

Usage: python benchmarks/cluster_node_proc.py NATS_URL CLUSTER NODE_ID LEASE_S RENEW_S

It renews its liveness, takes part in the assigner election and claims cameras exactly
as ``gridsight node`` does; "running" a camera is recording it (no model, no source), so
what a kill costs here is detection + reassignment + claim, not opening the stream again.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gridsight.core.config import load_township  # noqa: E402
from gridsight.live.cluster.names import ClusterNames, Timings  # noqa: E402
from gridsight.live.cluster.node import ClusterNode  # noqa: E402


class Recorder:
    def __init__(self) -> None:
        self.running: set[str] = set()

    def start(self, configs: Any) -> None:
        self.running |= {c.id for c in configs}

    def update(self, config: Any) -> None:
        pass

    def stop(self, camera_id: str) -> None:
        self.running.discard(camera_id)

    def camera_status(self) -> dict[str, dict[str, Any]]:
        return {c: {"state": "running", "fps": 0.0} for c in self.running}

    def close(self) -> None:
        self.running.clear()


def main() -> None:
    url, cluster, node_id, lease, renew = sys.argv[1:6]
    town = load_township(ROOT / "configs" / "jingqiao.yaml")
    node = ClusterNode(url, Recorder(), node_id=node_id, capacity=12, names=ClusterNames(cluster),
                       timings=Timings(lease_s=float(lease), renew_s=float(renew)),
                       seed_cameras=town.cameras)  # fmt: skip
    asyncio.run(node.run())


if __name__ == "__main__":
    main()
