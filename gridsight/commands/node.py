"""``gridsight node``: an engine node of a cluster (cameras only; no HTTP, no order store)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any

import click

from gridsight.commands import cluster_options, options
from gridsight.core.errors import ConfigError

DEFAULT_CONFIG = Path("configs/jingqiao.yaml")
#: Cameras a node takes when it is not told: the synthetic-world figure of one 2-core box.
DEFAULT_CAPACITY = 24


@click.command("node")
@click.argument("config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG, required=False)
@cluster_options.nats()
@click.option("--node-id", default=None, help="This node's id (default: <host>-<pid>).")
@click.option(
    "--capacity",
    type=click.IntRange(min=0),
    default=DEFAULT_CAPACITY,
    show_default=True,
    help="The most cameras this node runs.",
)
@cluster_options.timings
@options.detector()
@options.backend_options()
@click.option(
    "--fast",
    is_flag=True,
    help="Run file/synthetic sources as fast as possible instead of at their own pace.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    show_default=True,
    help="Serve this node's Prometheus metrics (its engine's and the node's: cameras, "
    "lease renewals, events published/acked/buffered/dropped) at "
    "http://<host>:PORT/metrics; 0 = off.",
)
@click.option(
    "--metrics-addr",
    default="0.0.0.0",
    show_default=True,
    help="Address the metrics server listens on (with --metrics-port).",
)
@click.option("--log-level", default="warning", show_default=True)
def node(
    config: Path,
    nats_url: str,
    cluster_name: str,
    node_id: str | None,
    capacity: int,
    lease_s: float,
    renew_s: float,
    replicas: str,
    backend: str,
    model: str | None,
    backend_options: dict[str, Any],
    fast: bool,
    metrics_port: int,
    metrics_addr: str,
    log_level: str,
) -> None:
    """Run an engine node: take cameras from the cluster, publish their events to JetStream.

    CONFIG's cameras are added to the cluster when it does not know them yet; after that
    the cluster's camera bucket is the truth (see docs/cluster.md).

    \b
    Examples:
      gridsight node configs/jingqiao.yaml --nats nats://127.0.0.1:4222 --node-id n1
      gridsight node --nats nats://a:4222,nats://b:4222 --capacity 12 --replicas 3
      gridsight node --nats nats://127.0.0.1:4222 --metrics-port 9108
    """
    from gridsight.core.config import load_township, validate_camera_hazards
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.live.cluster.names import ClusterNames, Timings
    from gridsight.live.cluster.node import ClusterNode
    from gridsight.live.cluster.node_metrics import NodeCollector, serve_node_metrics
    from gridsight.live.cluster.publisher import JetStreamSink
    from gridsight.live.cluster.runner import EngineRunner
    from gridsight.live.pipeline import LiveOptions

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not config.exists():
        raise ConfigError(f"{config}: no such config file")
    pm = build_plugin_manager()
    town = load_township(config, pm)
    validate_camera_hazards(town, pm)
    names = ClusterNames(cluster_name)
    timings = Timings(lease_s=lease_s, renew_s=renew_s, replicas=int(replicas))
    node_id = node_id or f"{socket.gethostname()}-{os.getpid()}"
    epochs: dict[str, int] = {}
    sink = JetStreamSink(nats_url, names, node_id, lambda cam: epochs.get(cam, 0), timings=timings)
    runner = EngineRunner(
        town,
        pm,
        options=LiveOptions(
            realtime=not fast,
            backend=backend,
            model=model,
            backend_options=dict(backend_options),
        ),
        sinks=[sink],
    )
    member = ClusterNode(
        nats_url,
        runner,
        node_id=node_id,
        capacity=capacity,
        names=names,
        timings=timings,
        seed_cameras=town.cameras,
        on_event_drain=sink.wait_empty,
    )
    member.epochs = epochs  # the sink stamps each event with the epoch the node holds
    metrics_server = None
    if metrics_port:
        collector = NodeCollector(member, sink, runner.metrics_registry)
        try:
            metrics_server = serve_node_metrics(collector, metrics_port, metrics_addr)
        except OSError as exc:
            raise click.UsageError(
                f"--metrics-port {metrics_port}: cannot listen on {metrics_addr}: {exc}"
            ) from exc

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, member.stop)
        await member.run()

    click.echo(
        f"gridsight node {node_id}: cluster {names.name} at {nats_url}, capacity {capacity}"
        + (f", metrics on {metrics_addr}:{metrics_port}" if metrics_port else ""),
        err=True,
    )
    try:
        asyncio.run(main())
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
        runner.close()
        sink.close()
        click.echo(f"gridsight node {node_id}: stopped ({sink.stats()})", err=True)
