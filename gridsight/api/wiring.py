"""Wiring the engine into the service: its events become work orders and live messages.

``gridsight serve`` calls :func:`attach_engine`; tests call :func:`event_listener` with a
fake engine. Every engine event goes, on the engine thread, to
:meth:`OrderService.ingest_event <gridsight.orders.service.OrderService.ingest_event>`
(which stores the event and opens, attaches to or clears its work order in one
transaction), then to the live stream as ``event``; the order changes go to the stream
as ``work_order`` through ``OrderService.on_change`` (see :func:`~gridsight.api.app.create_app`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gridsight.api.engine_host import EngineHost
from gridsight.api.services import Services
from gridsight.core.engine import EngineOptions
from gridsight.core.events import HazardEvent

log = logging.getLogger("gridsight.api")


def event_listener(services: Services) -> Callable[[HazardEvent], None]:
    """The engine listener feeding ``services``' work-order service and live bus."""

    def on_event(event: HazardEvent) -> None:
        view = services.orders.ingest_event(event) if services.orders is not None else None
        body: dict[str, Any] = event.to_dict()
        body["order_id"] = view.id if view is not None else None
        body["has_snapshot"] = bool(event.snapshot)
        services.bus.publish("event", body)
        # The order changes reach the stream through OrderService.on_change.

    return on_event


def attach_engine(
    services: Services,
    *,
    backend: str = "auto",
    model: str | None = None,
    realtime: bool = True,
    engine_factory: Callable[..., Any] | None = None,
    backend_options: dict[str, Any] | None = None,
) -> EngineHost:
    """An engine host over the township's cameras, wired to ``services`` (not started).

    Raises:
        ConfigError: the service has no township, or the township has no cameras.
    """
    from gridsight.core.errors import ConfigError

    town = services.township
    if town is None or not town.cameras:
        raise ConfigError(
            "the engine needs a township config with cameras; pass CONFIG or use --no-engine"
        )
    options = EngineOptions(
        realtime=realtime,
        snapshots_dir=services.settings.snapshots_dir,
        backend_options=dict(backend_options or {}),
    )
    host = EngineHost(
        town,
        services.pm,
        backend=backend,
        model=model,
        options=options,
        listeners=[event_listener(services)],
        engine_factory=engine_factory,
    )
    services.host = host
    return host
