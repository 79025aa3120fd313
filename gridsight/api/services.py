"""What the app's handlers use, built once per app: store, accounts, orders, engine, bus.

:func:`build_services` opens (and migrates) the store named by the settings, loads the
township, and wires the work-order service. The engine host and outbox relay are
optional: ``gridsight serve --no-engine`` and the tests run without them.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy
import sqlalchemy as sa

from gridsight.api.accounts import AccountStore
from gridsight.api.bus import LiveBus
from gridsight.api.dbread import read_only
from gridsight.api.engine_host import EngineHost
from gridsight.api.http_metrics import HttpMetrics
from gridsight.api.security import LoginThrottle, SessionSigner
from gridsight.api.settings import Settings
from gridsight.core.config.township import Township
from gridsight.orders.store import OrderStore

log = logging.getLogger("gridsight.api")


class Relay:
    """What the app needs of an outbox relay (``start``/``stop``)."""

    def start(self) -> None:  # pragma: no cover - protocol
        """Start delivering."""

    def stop(self) -> None:  # pragma: no cover - protocol
        """Stop delivering."""


@dataclass
class Services:
    """Everything a request handler may need.

    Attributes:
        settings: the service settings.
        store: the work-order store.
        accounts: users and tokens.
        orders: the work-order service (``gridsight.orders.service.OrderService``).
        township: the township config, or None.
        pm: the plugin manager.
        bus: live messages for the SSE stream.
        signer: session cookie signer.
        throttle: login rate limiter.
        http_metrics: HTTP metrics registry.
        host: the engine host, or None (``--no-engine``).
        relay: the outbox relay, or None.
        phase: ``starting`` | ``ready`` | ``stopping``.
        clock: wall clock (sessions, tokens).
        language: default page language.
    """

    settings: Settings
    store: OrderStore
    accounts: AccountStore
    orders: Any
    township: Township | None
    pm: pluggy.PluginManager
    bus: LiveBus
    signer: SessionSigner
    throttle: LoginThrottle
    http_metrics: HttpMetrics = field(default_factory=HttpMetrics)
    host: EngineHost | None = None
    relay: Any = None
    phase: str = "starting"
    clock: Callable[[], float] = time.time
    language: str = "en"
    tick_s: float = 5.0

    def orders_now(self) -> float:
        """Now on the work orders' clock: a stream's time on a store written on one
        (``serve --no-engine`` over a demo's store), else the wall clock."""
        return float(self.orders.clock()) if self.orders is not None else self.clock()

    def orders_clock(self) -> dict[str, Any]:
        """The orders' clock as the API states it: ``now``, ``stream_time`` (whether it is
        a stream's time, the store's recorded clock) and the township's ``timezone``."""
        clock = getattr(self.orders, "clock", None)
        return {
            "now": self.orders_now(),
            "stream_time": getattr(clock, "kind", "wall") == "stream",
            "timezone": self.orders.settings.timezone if self.orders is not None else None,
        }

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
    township: Township | None = None,
    pm: pluggy.PluginManager | None = None,
    clock: Callable[[], float] = time.time,
    channels: Sequence[str] = (),
    ack_secret: str | None = None,
    store: OrderStore | None = None,
    store_clock: bool = False,
) -> Services:
    """Open the store, load the township, and wire the work-order service.

    Args:
        settings: the service settings (``db_url``, ``config``, ...).
        township: a loaded township (else loaded from ``settings.config``, if set).
        pm: plugin manager (a fresh one if None).
        clock: wall clock (tests pass a fake one).
        channels: notification channel names (an outbox row each per change).
        ack_secret: secret of the acknowledge tokens in dispatch notifications.
        store: an open store (e.g. in a PostgreSQL schema) instead of ``settings.db_url``.
        store_clock: run the orders on the clock recorded in the store
            (:class:`~gridsight.orders.store_clock.StoreClock`): for a service that writes
            no events of its own over a store a stream-clock run wrote (``--no-engine``).

    Raises:
        ConfigError: the township config is invalid.
        StoreError: the store cannot be opened.
    """
    from gridsight.core.config import validate_camera_hazards
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.orders.config import load_orders_township
    from gridsight.orders.service import OrderService
    from gridsight.orders.store_clock import StoreClock

    pm = pm if pm is not None else build_plugin_manager()
    if township is None and settings.config is not None:
        township = load_orders_township(settings.config)
        validate_camera_hazards(township, pm)
    store = store if store is not None else OrderStore.open(settings.db_url)
    secret = (
        settings.session_secret.get_secret_value().encode("utf-8")
        if settings.session_secret is not None
        else secrets.token_bytes(32)
    )
    orders_clock = StoreClock(store, wall=clock) if store_clock else clock
    orders = (
        OrderService(store, township, clock=orders_clock, channels=channels, ack_secret=ack_secret)
        if township is not None
        else None
    )
    return Services(
        settings=settings,
        store=store,
        accounts=AccountStore(store.engine, clock=clock),
        orders=orders,
        township=township,
        pm=pm,
        bus=LiveBus(),
        signer=SessionSigner(secret, settings.session_max_age_s, clock=clock),
        throttle=LoginThrottle(settings.login_attempts, settings.login_window_s),
        clock=clock,
        language=default_language(settings, township),
    )
