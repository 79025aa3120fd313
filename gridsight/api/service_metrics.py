"""The series ``/metrics`` serves besides the HTTP layer's: the work-order store's
(:class:`~gridsight.orders.metrics.OrderMetrics`), the process (``process_*``, Linux) and
Python platform, and ``gridsight_build_info``.
"""

from __future__ import annotations

import platform

from prometheus_client import Gauge, PlatformCollector, ProcessCollector
from prometheus_client.registry import CollectorRegistry

from gridsight import __version__
from gridsight.orders.metrics import OrderMetrics

_DONE = "_gridsight_service_metrics"


def register_service_metrics(registry: CollectorRegistry, order_metrics: OrderMetrics) -> None:
    """Add the store, process, platform and build series to ``registry`` (once)."""
    if getattr(registry, _DONE, False):
        return
    registry.register(order_metrics)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    info = Gauge(
        "gridsight_build_info",
        "Always 1; the labels say which gridsight and Python serve.",
        ["version", "python"],
        registry=registry,
    )
    info.labels(__version__, platform.python_version()).set(1)
    setattr(registry, _DONE, True)
