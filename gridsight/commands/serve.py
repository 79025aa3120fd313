"""``gridsight serve``: the engine, the work-order service, the outbox relay and the REST
API with its pages, in one process."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gridsight.commands import options
from gridsight.commands.notify_option import notify_option
from gridsight.core.errors import ConfigError

if TYPE_CHECKING:
    from gridsight.orders.notify.delivery import Delivery

DEFAULT_CONFIG = Path("configs/jingqiao.yaml")


class _Relay:
    """The service's relay: the notification delivery, started and drained with the app."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery

    def start(self) -> None:
        self.delivery.relay.start()

    def stop(self) -> None:
        # Deliver what is due (at most 5 s); the rest stays in the outbox for next time.
        self.delivery.close(flush_s=5.0)


@click.command("serve")
@click.argument("config", type=click.Path(path_type=Path), required=False, default=None)
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="TCP port (default 8000).")
@click.option(
    "--db",
    default=None,
    help="Store URL or SQLite path (default $GRIDSIGHT_DB_URL, else sqlite:///gridsight.db).",
)
@click.option("--no-engine", is_flag=True, help="Serve the API over the store; run no cameras.")
@notify_option
@options.detector()
@options.backend_options()
@click.option(
    "--fast",
    is_flag=True,
    help="Run file/synthetic sources as fast as possible instead of at their own pace.",
)
@click.option(
    "--nats",
    "nats_url",
    default=None,
    help="Consume the events of a cluster of engine nodes from this NATS (JetStream) "
    "instead of running cameras here (see gridsight node, docs/cluster.md).",
)
@click.option("--cluster", "cluster_name", default="gridsight", show_default=True)
@click.option("--log-level", default="info", show_default=True)
def serve(
    config: Path | None,
    host: str | None,
    port: int | None,
    db: str | None,
    no_engine: bool,
    notify: tuple[str, ...],
    backend: str,
    model: str | None,
    backend_options: dict[str, Any],
    fast: bool,
    nats_url: str | None,
    cluster_name: str,
    log_level: str,
) -> None:
    """Run the operator service: cameras -> events -> work orders, REST API, dashboard.

    \b
    Examples:
      gridsight serve configs/jingqiao.yaml               # http://127.0.0.1:8000/
      GRIDSIGHT_ADMIN_TOKEN=$(openssl rand -hex 24) gridsight serve --db postgresql+psycopg://...
      gridsight serve --no-engine --db data/gridsight.db  # API and pages over a store
      gridsight serve --nats nats://127.0.0.1:4222 --db postgresql+psycopg://...  # cluster
      gridsight users add alice --role operator --db data/gridsight.db
    """
    import uvicorn

    from gridsight.api import Settings, create_app
    from gridsight.api.services import build_services
    from gridsight.api.wiring import attach_engine
    from gridsight.core.config import load_township, validate_camera_hazards
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.orders.notify.channels import build_channels
    from gridsight.orders.notify.delivery import Delivery

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if db is not None:
        overrides["db_url"] = db
    if config is None and "GRIDSIGHT_CONFIG" not in os.environ and DEFAULT_CONFIG.exists():
        config = DEFAULT_CONFIG
    if config is not None:
        if not config.exists():
            raise ConfigError(f"{config}: no such config file")
        overrides["config"] = config
    settings = Settings(**overrides)  # type: ignore[arg-type]
    pm = build_plugin_manager()
    town = None
    if settings.config is not None:
        town = load_township(settings.config)
        validate_camera_hazards(town, pm)
    channels = build_channels(pm, town, notify)
    from gridsight.orders.notify.ack import ack_secret_from_env

    services = build_services(
        settings,
        township=town,
        pm=pm,
        channels=[c.name for c in channels],
        ack_secret=ack_secret_from_env(),
        store_clock=no_engine,  # a demo's store is read on the stream's clock it recorded
    )
    delivery = None
    if channels:
        delivery = Delivery.create(
            channels, services.store.engine, town=town, start=False, poll_s=0.2
        )
        services.relay = _Relay(delivery)
    if not no_engine and nats_url is None:  # with --nats the cluster's nodes run the cameras
        attach_engine(
            services,
            backend=backend,
            model=model,
            realtime=not fast,
            backend_options=backend_options,
        )
    app = create_app(settings, services=services)
    if delivery is not None and services.orders is not None:
        # Send at once after each committed change instead of at the relay's next poll.
        publish = services.orders.on_change
        wake = delivery.wake

        def on_change(view: object) -> None:
            if publish is not None:
                publish(view)
            wake()

        services.orders.on_change = on_change
    where = f"http://{settings.host}:{settings.port}/"
    click.echo(
        f"gridsight serve: {where} (store {services.store.url.render_as_string()}, "
        f"engine {'off' if no_engine else 'on'}, {len(channels)} notify channel(s))",
        err=True,
    )
    consumer = None
    if nats_url is not None and services.orders is not None:
        from gridsight.live.cluster.consumer import start_order_consumer

        consumer = start_order_consumer(nats_url, services.orders, cluster_name)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            timeout_graceful_shutdown=5,
        )
    finally:
        if consumer is not None:
            consumer.close()
