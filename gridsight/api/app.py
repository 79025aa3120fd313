"""The FastAPI application factory.

``create_app(settings)`` builds a new app (nothing is built at import): the services
(the live pipeline of :mod:`gridsight.live` plus accounts and sessions), the routers
(health and metrics at the root, the resources under ``/api/v1``, Open311 under
``/open311/v2``, the pages at ``/``), the one error handler, HTTP metrics, and CORS
only when origins are configured.

Start and drain: the lifespan seeds ``GRIDSIGHT_ADMIN_TOKEN``, starts the pipeline
(engine, notifications; its orders thread runs the SLA clocks), then marks the service
ready; on shutdown it marks it ``stopping`` (``/readyz`` answers 503 from then on) and
closes the pipeline: the engine stops (its open events are ended and written), every
queued event reaches the store, due notifications go out (up to 5 s), the store closes.

Example:
    >>> from gridsight.api import Settings, create_app
    >>> app = create_app(Settings(db_url="sqlite:///:memory:"))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from gridsight import __version__
from gridsight.api.errors import DetailBody, install_error_handlers
from gridsight.api.middleware import install_hardening
from gridsight.api.openapi_links import install_links
from gridsight.api.routers import (
    ack,
    auth,
    cameras,
    events,
    exports,
    health,
    open311,
    order_pages,
    order_snapshot,
    pages,
    plugins,
    township,
    work_orders,
    workers,
)
from gridsight.api.service_metrics import register_service_metrics
from gridsight.api.services import Services, build_services
from gridsight.api.settings import Settings
from gridsight.orders.metrics import OrderMetrics
from gridsight.orders.views import WorkOrderView

log = logging.getLogger("gridsight.api")

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/v1"


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the live pipeline; drain it on shutdown."""
    services: Services = app.state.services
    settings = services.settings
    services.phase = "starting"
    if settings.admin_token is not None:
        services.accounts.seed_admin_token(settings.admin_token.get_secret_value())
    services.live.start()
    services.phase = "ready"
    log.info("gridsight API ready")
    try:
        yield
    finally:
        services.phase = "stopping"
        services.bus.close()  # live streams end, so the drain does not wait on them
        await asyncio.to_thread(services.live.close, flush_s=5.0)
        log.info("gridsight API stopped")


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """A new gridsight API app.

    Args:
        settings: service settings (from the environment if None).
        services: ready-made services (tests, ``gridsight serve``); else built from the
            settings by :func:`~gridsight.api.services.build_services`.
    """
    settings = settings or (services.settings if services is not None else Settings())
    services = services or build_services(settings)
    app = FastAPI(
        title="gridsight",
        version=__version__,
        description=(
            "Hazard events from township cameras, the work orders they become, and the "
            "cameras, workers and plugins behind them. Authenticate with a bearer token "
            "(`gridsight users token NAME`) or the browser session of `/login`."
        ),
        lifespan=lifespan,
        # FastAPI's /docs and /redoc pages load their JavaScript from a CDN.
        docs_url=None,
        redoc_url=None,
        responses={400: {"model": DetailBody, "description": "a malformed request"}},
    )
    app.state.services = services
    # Every committed order change (the API's, the engine's, the clocks', and orders
    # changed as a consequence) goes to the live stream.
    from gridsight.api.routers.work_orders import publish_order

    bound = services

    def on_change(view: WorkOrderView) -> None:
        publish_order(bound, view)

    services.live.order_listeners.append(on_change)
    install_error_handlers(app)
    install_hardening(app, settings.max_body_bytes)
    register_service_metrics(
        services.http_metrics.registry, OrderMetrics(services.store.engine, services.live.clock)
    )
    app.middleware("http")(services.http_metrics.middleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Requested-With"],
        )
    app.include_router(health.router)
    api = APIRouter(prefix=API_PREFIX)
    for module in (
        cameras,
        events,
        work_orders,
        order_snapshot,
        workers,
        plugins,
        township,
        auth,
        exports,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(open311.router)
    app.include_router(pages.router)
    app.include_router(ack.router)
    app.include_router(order_pages.router)
    install_links(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
