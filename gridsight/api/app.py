"""The FastAPI application factory.

``create_app(settings)`` builds a new app (nothing is built at import): the services
(store, accounts, work-order service, optional engine host and outbox relay), the
routers (health and metrics at the root, the resources under ``/api/v1``, Open311 under
``/open311/v2``, the pages at ``/``), the one error handler, HTTP metrics, and CORS only
when origins are configured.

Start and drain: the lifespan seeds ``GRIDSIGHT_ADMIN_TOKEN``, starts the engine and
relay and the SLA ticker, then marks the service ready; on shutdown it marks it
``stopping`` (``/readyz`` answers 503 from then on), stops the engine (its open events
are ended and written), the relay and the ticker, and closes the store.

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
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from gridsight import __version__
from gridsight.api.errors import DetailBody, install_error_handlers
from gridsight.api.middleware import install_hardening
from gridsight.api.routers import (
    ack,
    auth,
    cameras,
    events,
    health,
    open311,
    pages,
    plugins,
    township,
    work_orders,
    workers,
)
from gridsight.api.services import Services, build_services
from gridsight.api.settings import Settings

log = logging.getLogger("gridsight.api")

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/v1"


async def _ticker(services: Services) -> None:
    """Run the SLA clocks (escalations, breaches) every ``tick_s`` seconds."""
    while True:
        await asyncio.sleep(services.tick_s)
        if services.orders is None:
            continue
        try:
            await asyncio.to_thread(services.orders.tick)
        except Exception:  # the ticker must outlive one bad tick
            log.exception("work-order tick failed; going on")


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the engine, relay and ticker; drain them on shutdown."""
    services: Services = app.state.services
    settings = services.settings
    services.phase = "starting"
    if settings.admin_token is not None:
        services.accounts.seed_admin_token(settings.admin_token.get_secret_value())
    if services.host is not None:
        services.host.start()
    if services.relay is not None:
        services.relay.start()
    ticker = asyncio.create_task(_ticker(services))
    services.phase = "ready"
    log.info("gridsight API ready")
    try:
        yield
    finally:
        services.phase = "stopping"
        services.bus.close()  # live streams end, so the drain does not wait on them
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        if services.host is not None:
            await asyncio.to_thread(services.host.stop)
        if services.relay is not None:
            await asyncio.to_thread(services.relay.stop)
        services.store.close()
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
    if services.orders is not None and services.orders.on_change is None:
        # Every committed order change (the API's, the engine's, the ticker's, and
        # orders changed as a consequence) goes to the live stream.
        from gridsight.api.routers.work_orders import publish_order

        bound = services

        def on_change(view: Any) -> None:
            publish_order(bound, view)

        services.orders.on_change = on_change
    install_error_handlers(app)
    install_hardening(app, settings.max_body_bytes)
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
    for module in (cameras, events, work_orders, workers, plugins, township, auth):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(open311.router)
    app.include_router(pages.router)
    app.include_router(ack.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
