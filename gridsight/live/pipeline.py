"""The live pipeline, built once: engine, sinks, orders, notifications, bus and clock.

``gridsight run``, ``gridsight demo`` and ``gridsight serve`` (and a cluster node) ask
:func:`build_pipeline` for the same pipeline and add only their own face: a status table,
a score against the synthetic truth, HTTP. What it builds from a township config and
:class:`LiveOptions`::

    cameras -> engine (Engine, or a LiveEngine on a thread for a service: EngineHost)
      -> sinks: JSONL (--alerts), SQLite (--events-db), hazard events to the notifiers
         that carry them (MQTT <prefix>/events)
      -> OrdersSink (own thread, bounded queue, retries while the store is down; first
         ends what a crashed earlier process left open) -> OrderService -> store
           -> each applied event and its order to the event bus (the API's SSE stream)
           -> each committed order change to the order listeners (the API's stream) and
              a wake-up of the outbox relay
      -> the outbox relay (notifications) and the camera-status publisher
    clock: the streams' clock for files, synthetic cameras and --fast; the wall clock for
    live cameras paced in real time (:mod:`gridsight.live.clock`).

Usage (a command)::

    pipe = build_pipeline(Path("configs/jingqiao.yaml"), LiveOptions(db="o.sqlite"))
    try:
        summary = pipe.run()          # the engine in the foreground (run, demo)
    finally:
        pipe.close()                  # orders drained, notifications flushed

A service (``LiveOptions(service=True)``) calls :meth:`LivePipeline.start` instead: the
engine runs on a thread until :meth:`LivePipeline.close`, and takes camera changes
through :attr:`LivePipeline.host`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pluggy

from gridsight.core.config import OrdersConfig, Township
from gridsight.core.config.camera import CameraConfig
from gridsight.core.engine import Engine, EngineOptions, EngineSummary
from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.base import EventSink
from gridsight.live.bus import LiveBus
from gridsight.live.clock import uses_stream_clock
from gridsight.live.engine_host import EngineHost
from gridsight.live.evidence_paths import with_relative_evidence
from gridsight.live.notifications import Notifications
from gridsight.orders.clock import StreamClock
from gridsight.orders.notify.channels import Channel
from gridsight.orders.notify.event_sink import EventNotifySink
from gridsight.orders.service import OrderService
from gridsight.orders.sink import OrdersSink
from gridsight.orders.store import OrderStore
from gridsight.orders.views import WorkOrderView

log = logging.getLogger(__name__)

OrderListener = Callable[[WorkOrderView], None]


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How to build a pipeline (the command-line options of run, demo and serve).

    Attributes:
        db: the work-order store (SQLite path or SQLAlchemy URL); None: no orders.
        engine: run the cameras (False: ``serve --no-engine``, the API over a store).
        service: run until stopped and take camera changes (serve, node); else the
            engine runs in the foreground until its sources end or ``duration_s``.
        realtime: pace file and synthetic sources to their own clocks.
        duration_s: seconds of stream time (fast) or wall time (realtime), or None.
        cameras: run only these camera ids (empty: all of the config's).
        backend, model, backend_options: the detector (see ``gridsight run --help``).
        alerts: a JSONL file of every event phase.
        events_db: a SQLite file of every event phase.
        snapshots: a folder of evidence JPEGs (one per event start).
        blur_faces: blur faces in the evidence.
        motion_gate: motion-gated inference (None: the engine's default).
        names: the model's class names (``--names``), over the config's ``detector.names``.
        clips: a folder of evidence clips (``--clips``), over the config's ``clips.dir``.
        data_dir: the service's data folder (``GRIDSIGHT_DATA_DIR``): the store keeps
            the snapshot and clip paths inside it relative to it (None: as written).
        keep_events: keep every event in ``Engine.events`` (the demo scores them).
        notify: ``--notify`` URLs, added to the config's ``notify:`` channels.
        orders_settings: the ``orders:`` settings, overriding the config's.
        store_clock: without an engine, run the orders on the clock recorded in the store
            (:class:`~gridsight.orders.store_clock.StoreClock`): the API over a store a
            stream-clock run wrote (``serve --no-engine`` over a demo's store).
        tick_s: seconds between the order clocks' ticks (time-outs, SLA breaches).
        status_interval_s: how often camera states are published.
        degraded_drop_share: a camera dropping a larger share of its frames is shown as
            degraded (API, dashboard, camera-status notifications).
        drain_s: longest wait, when closing, for queued events to reach the store.
    """

    db: str | None = None
    engine: bool = True
    service: bool = False
    realtime: bool = False
    duration_s: float | None = None
    cameras: tuple[str, ...] = ()
    backend: str = "auto"
    model: str | None = None
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    alerts: Path | None = None
    events_db: Path | None = None
    snapshots: Path | None = None
    clips: Path | None = None
    data_dir: Path | None = None
    blur_faces: bool = True
    motion_gate: bool | None = None
    names: tuple[str, ...] | None = None
    keep_events: bool = False
    notify: tuple[str, ...] = ()
    orders_settings: OrdersConfig | None = None
    store_clock: bool = False
    tick_s: float = 1.0
    status_interval_s: float = 2.0
    degraded_drop_share: float = 0.2
    drain_s: float = 30.0

    def engine_options(self) -> EngineOptions:
        """The engine's options."""
        opts = EngineOptions(
            duration_s=self.duration_s,
            realtime=self.realtime,
            snapshots_dir=self.snapshots,
            blur_faces=self.blur_faces,
            keep_events=self.keep_events,
            backend_options=dict(self.backend_options),
            names=self.names,
        )
        if self.motion_gate is not None:
            opts = dataclasses.replace(opts, motion_gate=self.motion_gate)
        return opts


def event_message(event: HazardEvent, view: WorkOrderView | None) -> dict[str, Any]:
    """An event as the bus carries it: the alert dict, its order id and a snapshot flag."""
    body: dict[str, Any] = event.to_dict()
    body["order_id"] = view.id if view is not None else None
    body["has_snapshot"] = bool(event.snapshot)
    return body


class LivePipeline:
    """The assembled pipeline (see the module docstring); built by :func:`build_pipeline`.

    Attributes:
        pm: the plugin manager.
        township: the township config, or None (a service over a store only).
        cameras: the cameras the engine runs.
        options: what it was built from.
        clock: the order service's clock (epoch seconds).
        stream_clock: that clock when it is the streams' (else None).
        store, service, orders: the work-order store, service and the engine's path into
            it (None without a store or a township).
        notifications: relay and camera-status publisher (None without channels).
        bus: live messages (``event``, ``work_order``, ``camera``) for the API's stream.
        engine: the engine of a foreground pipeline (run, demo), else None.
        host: the engine host of a service (serve, node), else None.
        sinks: the engine's event sinks.
    """

    def __init__(
        self,
        *,
        pm: pluggy.PluginManager,
        township: Township | None,
        cameras: Sequence[CameraConfig],
        options: LiveOptions,
        clock: Callable[[], float],
        stream_clock: StreamClock | None,
        channels: Sequence[Channel],
        store: OrderStore | None,
        ack_secret: str | None,
        outbox_channels: Sequence[str] = (),
    ) -> None:
        self.pm = pm
        self.township = township
        self.cameras = list(cameras)
        self.options = options
        self.clock = clock
        self.stream_clock = stream_clock
        self.channels = list(channels)
        self.store = store
        self.bus = LiveBus()
        self.order_listeners: list[OrderListener] = []
        self.service: OrderService | None = None
        self.orders: OrdersSink | None = None
        self.notifications: Notifications | None = None
        self.engine: Engine | None = None
        self.host: EngineHost | None = None
        self.sinks: list[EventSink] = []
        self._started = False
        self._closed = False
        if store is not None and township is not None:
            self.service = OrderService(
                store,
                township,
                clock=clock,
                channels=[*(c.name for c in self.channels), *outbox_channels],
                ack_secret=ack_secret,
                settings=options.orders_settings,
                on_change=self._order_changed,
            )

    # -- what flows through it ------------------------------------------------------------

    def _order_changed(self, view: WorkOrderView) -> None:
        """After each committed order change: wake the relay, tell the listeners."""
        if self.notifications is not None:
            self.notifications.wake()
        for listener in list(self.order_listeners):
            try:
                listener(view)
            except Exception:  # a listener must not undo or block a committed change
                log.exception("order listener failed")

    def _event_applied(self, event: HazardEvent, view: WorkOrderView | None) -> None:
        self.bus.publish("event", event_message(event, view))

    def ingest(self, event: HazardEvent) -> WorkOrderView | None:
        """Apply one event now, on the caller's thread, as the orders thread would
        (tests and tools; the engine's events go through :attr:`orders`)."""
        if self.service is None:
            raise ConfigError("this pipeline has no work-order store (no --db or no township)")
        view = self.service.ingest_event(event)
        self._event_applied(event, view)
        return view

    def camera_status(self) -> Any:
        """The engine's status now (no cameras before the engine is built)."""
        if self.engine is not None:
            return self.engine.status()
        status = self.host.status() if self.host is not None else None
        return status if status is not None else SimpleNamespace(cameras=())

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the notifications and, for a service, the engine thread (idempotent)."""
        if self._started:
            return
        self._started = True
        if self.notifications is not None:
            self.notifications.start()
        if self.host is not None:
            self.host.start()

    def run(self) -> EngineSummary:
        """Start, and run the engine in the foreground until its sources end.

        Raises:
            ConfigError: the pipeline was built without an engine, or as a service.
        """
        if self.engine is None:
            raise ConfigError("this pipeline runs no engine in the foreground (a service?)")
        self.start()
        return self.engine.run()

    def drain(self) -> None:
        """Stop the engine (a service's) and apply every queued event (idempotent)."""
        if self.host is not None:
            self.host.stop()
        elif self.engine is not None:
            self.engine.stop()
        if self.orders is not None:
            self.orders.close()

    def close(self, *, flush_s: float = 10.0, close_store: bool = True) -> int:
        """Drain, deliver what is due (up to ``flush_s``), stop everything (idempotent).

        Returns how many due notifications were left in the outbox.
        """
        if self._closed:
            return 0
        self._closed = True
        left = 0
        try:
            self.drain()
        finally:
            if self.notifications is not None:
                left = self.notifications.close(flush_s=flush_s)
            self.bus.close()
            if close_store and self.store is not None:
                self.store.close()
        return left


def _load_township(
    config: Township | str | Path | None, pm: pluggy.PluginManager
) -> Township | None:
    from gridsight.core.config import load_township

    if config is None or isinstance(config, Township):
        if config is not None:
            from gridsight.core.config import validate_camera_hazards

            validate_camera_hazards(config, pm)
        return config
    path = Path(config)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    return load_township(path, pm)


def _pick_cameras(town: Township | None, wanted: Iterable[str], where: str) -> list[CameraConfig]:
    cams = list(town.cameras) if town is not None else []
    want = set(wanted)
    if want:
        unknown = want - {c.id for c in cams}
        if unknown:
            raise ConfigError(f"{where}no camera(s) {', '.join(sorted(unknown))}")
        cams = [c for c in cams if c.id in want]
    return cams


def build_pipeline(
    config: Township | str | Path | None,
    options: LiveOptions | None = None,
    *,
    pm: pluggy.PluginManager | None = None,
    cameras: Sequence[CameraConfig] | None = None,
    channels: Sequence[Channel] | None = None,
    ack_secret: str | None = None,
    store: OrderStore | None = None,
    clock: Callable[[], float] | None = None,
    engine_factory: Callable[..., Any] | None = None,
    outbox_channels: Sequence[str] = (),
    sinks: Sequence[EventSink] = (),
) -> LivePipeline:
    """Build the live pipeline of ``config`` (see the module docstring); nothing runs yet
    except the orders thread, which first ends what a crashed process left open.

    Args:
        config: a township YAML path, a loaded township, or None (a service over a store
            with no township: no orders, no engine).
        options: what to build (default: :class:`LiveOptions`'s defaults).
        pm: plugin manager (a fresh one if None).
        cameras: the cameras to run instead of the config's (the demo's resampled ones).
        channels: notification channels built already (instead of the config's
            ``notify:`` section and ``options.notify``).
        ack_secret: secret of the acknowledge tokens (default ``GRIDSIGHT_ACK_SECRET``,
            else the webhook secret).
        store: an open store instead of ``options.db`` (tests: a PostgreSQL schema).
        clock: the order service's clock instead of the one chosen from the cameras
            (tests pass a fake one).
        engine_factory: builds the engine (tests pass one with a fake detector).
        outbox_channels: names of channels the order service writes outbox rows for that
            another process delivers (``gridsight outbox``), besides ``channels``.
        sinks: more event sinks for the engine (a cluster node's JetStream sink: with
            ``options.db`` None the pipeline is then an engine feeding only them).

    Raises:
        ConfigError: a bad config, camera id, notify URL, or notify without a store.
        StoreError: the store cannot be opened.
    """
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.orders.notify.ack import ack_secret_from_env
    from gridsight.orders.notify.channels import build_channels

    opts = options or LiveOptions()
    pm = pm if pm is not None else build_plugin_manager()
    town = _load_township(config, pm)
    where = f"{config}: " if isinstance(config, str | Path) else ""
    cams = list(cameras) if cameras is not None else _pick_cameras(town, opts.cameras, where)
    if opts.engine and not cams:
        raise ConfigError(
            "the engine needs a township config with cameras; pass CONFIG (or --no-engine)"
        )
    has_store = store is not None or opts.db is not None
    if channels is None:
        if not has_store and opts.notify:
            raise ConfigError(
                "--notify sends work-order notifications, which need the work-order store: "
                "add --db PATH (e.g. --db orders.sqlite) or a PostgreSQL URL"
            )
        # A config's notify: section without a store: nothing to notify about.
        channels = build_channels(pm, town, opts.notify) if has_store else []
    stream_clock = (
        StreamClock()
        if clock is None and opts.engine and uses_stream_clock(cams, realtime=opts.realtime)
        else None
    )
    if clock is None:
        clock = stream_clock if stream_clock is not None else time.time
    if store is None and opts.db is not None:
        store = OrderStore.open(opts.db)
    if opts.store_clock and not opts.engine and store is not None:
        from gridsight.orders.store_clock import StoreClock

        clock = StoreClock(store, wall=clock)
    pipe = LivePipeline(
        pm=pm,
        township=town,
        cameras=cams,
        options=opts,
        clock=clock,
        stream_clock=stream_clock,
        channels=channels,
        store=store,
        ack_secret=ack_secret if ack_secret is not None else ack_secret_from_env(),
        outbox_channels=outbox_channels,
    )
    pipe.sinks.extend(sinks)
    try:
        _assemble(pipe, engine_factory)
    except BaseException:
        pipe.close(flush_s=0.0)
        raise
    return pipe


def _store_relative(
    write: Callable[[HazardEvent], None], data_dir: Path
) -> Callable[[HazardEvent], None]:
    """``write`` of events whose evidence paths inside ``data_dir`` are relative to it."""

    def relative_write(event: HazardEvent) -> None:
        write(with_relative_evidence(event, data_dir))

    return relative_write


def _assemble(pipe: LivePipeline, engine_factory: Callable[..., Any] | None) -> None:
    """The orders thread, the sinks, the engine (or its host) and the notifications."""
    from gridsight.core.plugins import sinks as sink_registry

    opts = pipe.options
    if pipe.service is not None:
        pipe.orders = OrdersSink(
            pipe.service,
            tick_s=opts.tick_s,
            drain_s=opts.drain_s,
            stream_clock=pipe.stream_clock,
            recover=[c.id for c in pipe.cameras] if opts.engine else None,
            on_ingested=pipe._event_applied,
        )
    if pipe.store is not None and pipe.channels:
        pipe.notifications = Notifications(
            pipe.channels,
            pipe.store.engine,
            town=pipe.township,
            status=pipe.camera_status if opts.engine else None,
            status_interval_s=opts.status_interval_s,
        )
    if not opts.engine:
        return
    registry = sink_registry(pipe.pm)
    if opts.alerts is not None:
        pipe.sinks.append(registry["jsonl"](opts.alerts))
    if opts.events_db is not None:
        pipe.sinks.append(registry["sqlite"](opts.events_db))
    events_out = EventNotifySink(pipe.channels)
    if events_out:
        pipe.sinks.append(events_out)
    # The orders sink never blocks (a queue and its own thread) and the pipeline owns its
    # life, so it listens to the engine rather than being one of the engine's sinks.
    listeners: list[Callable[[HazardEvent], None]] = (
        [pipe.orders.write] if pipe.orders is not None else []
    )
    if pipe.orders is not None and opts.data_dir is not None:
        listeners = [_store_relative(pipe.orders.write, opts.data_dir.resolve())]
    engine_options = opts.engine_options()
    if pipe.township is not None:
        from gridsight.core.config.evidence import ClipsConfig

        # --clips over the config's clips: block; the township's default detector goes
        # with the options, as a foreground engine gets its cameras as a list.
        clips = (pipe.township.clips or ClipsConfig()).settings(opts.clips, opts.blur_faces)
        engine_options = dataclasses.replace(
            engine_options, clips=clips, detector=pipe.township.detector
        )
    if opts.service:
        town = pipe.township
        if town is None:
            raise ConfigError("a service's engine needs a township config (its cameras)")
        pipe.host = EngineHost(
            town.model_copy(update={"cameras": tuple(pipe.cameras)}),
            pipe.pm,
            backend=opts.backend,
            model=opts.model,
            options=engine_options,
            sinks=pipe.sinks,
            listeners=listeners,
            engine_factory=engine_factory,
            degraded_drop_share=opts.degraded_drop_share,
        )
        return
    factory = engine_factory or Engine
    pipe.engine = factory(
        pipe.cameras,
        pipe.pm,
        backend=opts.backend,
        model=opts.model,
        sinks=pipe.sinks,
        options=engine_options,
        listeners=listeners,
    )
