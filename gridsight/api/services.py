"""What the app's handlers use, built once per app: the live pipeline and the HTTP parts.

The pipeline (:mod:`gridsight.live`) holds the store, the work-order service, the
engine host, the notifications and the event bus; this module adds only what HTTP needs
(accounts, session signing, login throttle, HTTP metrics, the page language).
:func:`build_services` wraps a pipeline ``gridsight serve`` built, or builds one over a
store with no engine (``serve --no-engine`` and the tests).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pluggy
import sqlalchemy as sa

from gridsight.api.accounts import AccountStore
from gridsight.api.dbread import read_only
from gridsight.api.http_metrics import HttpMetrics
from gridsight.api.security import LoginThrottle, SessionSigner
from gridsight.api.settings import Settings
from gridsight.core.config.township import Township
from gridsight.core.errors import ConfigError
from gridsight.live import EngineHost, LiveBus, LivePipeline
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore

log = logging.getLogger("gridsight.api")


@dataclass
class Services:
    """Everything a request handler may need.

    Attributes:
        settings: the service settings.
        live: the live pipeline (store, orders, engine host, notifications, bus).
        store: the work-order store (the pipeline's).
        accounts: users and tokens.
        orders: the work-order service, or None without a township config.
        township: the township config, or None.
        pm: the plugin manager.
        bus: live messages for the SSE stream (the pipeline's).
        signer: session cookie signer.
        throttle: login rate limiter.
        http_metrics: HTTP metrics registry.
        host: the engine host, or None (``--no-engine``).
        phase: ``starting`` | ``ready`` | ``stopping``.
        clock: wall clock (sessions, tokens).
        language: default page language.
    """

    settings: Settings
    live: LivePipeline
    store: OrderStore
    accounts: AccountStore
    orders: OrderService | None
    township: Township | None
    pm: pluggy.PluginManager
    bus: LiveBus
    signer: SessionSigner
    throttle: LoginThrottle
    http_metrics: HttpMetrics = field(default_factory=HttpMetrics)
    host: EngineHost | None = None
    phase: str = "starting"
    clock: Callable[[], float] = time.time
    language: str = "en"

    def orders_now(self) -> float:
        """Now on the work orders' clock: a stream's time on a store written on one
        (``serve --no-engine`` over a demo's store), else the wall clock."""
        return float(self.orders.clock()) if self.orders is not None else self.clock()

    def orders_stream_time(self) -> bool:
        """Whether :meth:`orders_now` is a stream's time (the pipeline's streams' clock,
        or the clock a stream-clock run recorded in the store)."""
        if self.live.stream_clock is not None:
            return True
        return getattr(getattr(self.orders, "clock", None), "kind", "wall") == "stream"

    def store_reachable(self) -> str:
        """``ok`` or why the store cannot be reached."""
        try:
            with read_only(self.store.engine) as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            return f"store unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        return "ok"


def default_language(settings: Settings, township: Township | None) -> str:
    """The page language: the setting, else Chinese for a township with a Chinese name."""
    if settings.language is not None:
        return settings.language
    if township is not None and any("\u4e00" <= ch <= "\u9fff" for ch in township.name):
        return "zh"
    return "en"


def build_services(
    settings: Settings,
    *,
    live: LivePipeline | None = None,
    township: Township | None = None,
    pm: pluggy.PluginManager | None = None,
    clock: Callable[[], float] | None = None,
    store: OrderStore | None = None,
    store_clock: bool = False,
    channels: Sequence[str] = (),
    ack_secret: str | None = None,
) -> Services:
    """The HTTP parts over a live pipeline (built here, engine off, when not given).

    Args:
        settings: the service settings (``db_url``, ``config``, ...).
        live: the pipeline ``gridsight serve`` built (engine, notifications, ...).
        township: a loaded township (else loaded from ``settings.config``, if set),
            for a pipeline built here.
        pm: plugin manager (a fresh one if None), for a pipeline built here.
        clock: the wall clock of accounts and sessions, and the order service's clock
            for a pipeline built here (tests pass a fake one).
        store: an open store (e.g. in a PostgreSQL schema) instead of ``settings.db_url``.
        store_clock: see :attr:`~gridsight.live.LiveOptions.store_clock`, for a pipeline
            built here.
        channels: outbox channel names delivered elsewhere, for a pipeline built here.
        ack_secret: secret of the acknowledge tokens, for a pipeline built here.

    Raises:
        ConfigError: the township config is invalid.
        StoreError: the store cannot be opened.
    """
    from gridsight.live import LiveOptions, build_pipeline

    if live is None:
        config = township if township is not None else settings.config
        live = build_pipeline(
            config,
            LiveOptions(
                db=settings.db_url, engine=False, service=True, tick_s=5.0, store_clock=store_clock
            ),
            pm=pm,
            store=store,
            clock=clock or time.time,
            outbox_channels=channels,
            ack_secret=ack_secret,
        )
    wall = clock or time.time
    if live.store is None:
        raise ConfigError("the API needs a work-order store (--db or $GRIDSIGHT_DB_URL)")
    secret = (
        settings.session_secret.get_secret_value().encode("utf-8")
        if settings.session_secret is not None
        else secrets.token_bytes(32)
    )
    return Services(
        settings=settings,
        live=live,
        store=live.store,
        accounts=AccountStore(live.store.engine, clock=wall),
        orders=live.service,
        township=live.township,
        pm=live.pm,
        bus=live.bus,
        signer=SessionSigner(secret, settings.session_max_age_s, clock=wall),
        throttle=LoginThrottle(settings.login_attempts, settings.login_window_s),
        host=live.host,
        clock=wall,
        language=default_language(settings, live.township),
    )
