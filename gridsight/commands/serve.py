"""``gridsight serve``: the live pipeline (:mod:`gridsight.live`: engine, work orders,
notifications, camera status) with the REST API and its pages on top, in one process."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from gridsight.commands import options
from gridsight.commands.notify_option import notify_option
from gridsight.core.errors import ConfigError

DEFAULT_CONFIG = Path("configs/jingqiao.yaml")


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
@options.names()
@options.backend_options()
@click.option(
    "--clips",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write an H.264 MP4 around each event start here (else $GRIDSIGHT_CLIPS_DIR, else "
    "the config's clips: dir); the API serves them by event id.",
)
@click.option(
    "--fast",
    is_flag=True,
    help="Run file/synthetic sources as fast as possible instead of at their own pace. "
    "Orders follow the streams' clock with --fast and for files and synthetic cameras, "
    "the wall clock for live ones (as gridsight run).",
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
    names: tuple[str, ...] | None,
    backend_options: dict[str, Any],
    clips: Path | None,
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
    from gridsight.live import LiveOptions, build_pipeline

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
    if clips is not None:  # as typed, from here; the API serves the folder the engine writes
        overrides["clips_dir"] = clips.expanduser().resolve()
    if config is None and "GRIDSIGHT_CONFIG" not in os.environ and DEFAULT_CONFIG.exists():
        config = DEFAULT_CONFIG
    if config is not None:
        if not config.exists():
            raise ConfigError(f"{config}: no such config file")
        overrides["config"] = config
    settings = Settings(**overrides)  # type: ignore[arg-type]
    live = build_pipeline(
        settings.config,
        LiveOptions(
            db=settings.db_url,
            # With --nats the cluster's nodes run the cameras.
            engine=not no_engine and nats_url is None,
            service=True,
            realtime=not fast,
            backend=backend,
            model=model,
            backend_options=backend_options,
            snapshots=settings.snapshots_dir,
            clips=settings.clips_dir,
            data_dir=settings.data_dir,  # the store keeps evidence paths relative to it
            names=names,
            notify=notify,
            degraded_drop_share=settings.degraded_drop_share,
            # A demo's store is read on the stream's clock it recorded.
            store_clock=no_engine,
        ),
    )
    services = build_services(settings, live=live)
    if nats_url is not None and live.township is not None:
        from gridsight.live.cluster.hosting import cluster_camera_host

        # The camera routes change the cluster's cameras (the nodes run them).
        services.host = cluster_camera_host(nats_url, live.township, live.pm, cluster_name)
    app = create_app(settings, services=services)
    clock = "streams'" if live.stream_clock is not None else "wall"
    if no_engine:
        clock = "recorded (the store's)"
    where = f"http://{settings.host}:{settings.port}/"
    click.echo(
        f"gridsight serve: {where} (store {services.store.url.render_as_string()}, "
        f"engine {'on' if live.host is not None else 'off'}, orders on the {clock} clock, "
        f"{len(live.channels)} notify channel(s))",
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
