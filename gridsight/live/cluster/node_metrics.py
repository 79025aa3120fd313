"""A node's ``/metrics``: its engine's ``gridsight_*`` series and the node's own.

``gridsight node --metrics-port N`` serves them with prometheus_client's HTTP server (no
web framework in a node). The values are read from the node, its event publisher and its
engine at each scrape, so nothing here has to be kept in step with them. Node series
carry a ``node`` label (the node id):

- ``gridsight_node_cameras``, ``gridsight_node_capacity``, ``gridsight_node_assigner``
  (gauges): cameras held, the most it takes, 1 while it is the assigner;
- ``gridsight_node_lease_renewals_total``, ``gridsight_node_lease_renewal_failures_total``,
  ``gridsight_node_claims_total``, ``gridsight_node_releases_total``,
  ``gridsight_node_cameras_lost_total``, ``gridsight_node_self_stops_total``,
  ``gridsight_node_partial_reads_total`` (assigner ticks skipped on a partial read);
- ``gridsight_node_events_published_total`` (handed to the publisher),
  ``gridsight_node_events_acked_total`` (acknowledged by JetStream),
  ``gridsight_node_events_buffered`` (gauge: not yet acknowledged),
  ``gridsight_node_events_dropped_total`` (the buffer was full),
  ``gridsight_node_publish_retries_total``.

Example:
    >>> from prometheus_client import generate_latest
    >>> from gridsight.live.cluster.node import NodeCounters
    >>> class Node:
    ...     node_id, capacity, held, is_assigner = "n1", 4, {"cam-a": 1}, False
    ...     counters = NodeCounters()
    >>> text = generate_latest(node_registry(NodeCollector(Node()))).decode()
    >>> 'gridsight_node_cameras{node="n1"} 1.0' in text
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class NodeCollector(Collector):
    """Collects a node's series at scrape time (see the module docstring).

    Args:
        node: the :class:`~gridsight.live.cluster.node.ClusterNode` (or anything with
            its ``node_id``, ``capacity``, ``held``, ``is_assigner`` and ``counters``).
        sink: its :class:`~gridsight.live.cluster.publisher.JetStreamSink`, or None.
        engine_registry: returns the running engine's registry (None before the node
            has started an engine): its ``gridsight_*`` series are served as they are.
    """

    def __init__(
        self,
        node: Any,
        sink: Any | None = None,
        engine_registry: Callable[[], CollectorRegistry | None] = lambda: None,
    ) -> None:
        self.node = node
        self.sink = sink
        self.engine_registry = engine_registry

    def collect(self) -> Iterator[Metric]:
        registry = self.engine_registry()
        if registry is not None:
            yield from registry.collect()
        node = self.node
        label = [str(node.node_id)]
        counters = node.counters

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(f"gridsight_node_{name}", doc, labels=["node"])
            family.add_metric(label, value)
            return family

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(f"gridsight_node_{name}", doc, labels=["node"])
            family.add_metric(label, value)
            return family

        yield gauge("cameras", "Cameras this node holds", len(node.held))
        yield gauge("capacity", "The most cameras this node takes", node.capacity)
        yield gauge("assigner", "1 while this node is the assigner", int(node.is_assigner))
        yield counter("lease_renewals", "Liveness keys renewed", counters.renewals)
        yield counter(
            "lease_renewal_failures", "Liveness renewals that failed", counters.renew_failures
        )
        yield counter("claims", "Cameras claimed (each a new epoch)", counters.claims)
        yield counter("releases", "Cameras released to another node", counters.releases)
        yield counter("cameras_lost", "Cameras found claimed by another node", counters.lost)
        yield counter(
            "self_stops",
            "Times the node stopped its cameras, its lease at risk",
            counters.self_stops,
        )
        yield counter(
            "partial_reads",
            "Assigner ticks skipped: the nodes bucket read lacked this node",
            counters.partial_reads,
        )
        sink = self.sink
        if sink is None:
            return
        yield counter("events_published", "Events handed to the publisher", sink.written)
        yield counter("events_acked", "Events acknowledged by JetStream", sink.published)
        yield gauge("events_buffered", "Events not yet acknowledged", sink.pending)
        yield counter("events_dropped", "Events dropped: the buffer was full", sink.dropped)
        yield counter("publish_retries", "Publishes that failed and were retried", sink.retries)


def node_registry(collector: NodeCollector) -> CollectorRegistry:
    """A registry of its own holding ``collector`` (never the process-global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def serve_node_metrics(collector: NodeCollector, port: int, addr: str = "0.0.0.0") -> Any:
    """Serve ``collector`` at ``http://addr:port/metrics``; the server (``shutdown()``)."""
    server, _thread = start_http_server(port, addr=addr, registry=node_registry(collector))
    return server


__all__ = ["NodeCollector", "node_registry", "serve_node_metrics"]
