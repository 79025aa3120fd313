"""The one assembly (gridsight.live.pipeline): what run, demo and serve get from it.

No model is loaded here: the engine is a stand-in (or the real loop with a detector that
sees nothing); what is checked is the wiring: the clock chosen from the cameras, events
reaching the store only through the orders thread (never on the engine's), the event
bus, the notifiers that carry events and camera status, and recovery on start.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent
from gridsight.live import LiveOptions, build_pipeline
from gridsight.live.clock import is_recorded, uses_stream_clock
from gridsight.orders.clock import StreamClock
from gridsight.orders.notify.base import Notifier
from gridsight.orders.notify.channels import Channel
from gridsight.orders.notify.event_sink import EventNotifySink

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "jingqiao.yaml"


class _FakeEngine:
    """Stands in for the engine: records what the pipeline gave it."""

    def __init__(self, cameras: Any, pm: Any, **kwargs: Any) -> None:
        self.cameras = list(cameras)
        self.kwargs = kwargs

    def stop(self) -> None:
        pass


class _Notifier(Notifier):
    """Keeps camera statuses and carries hazard events, as MQTT does."""

    name: ClassVar[str] = "test"
    schemes: ClassVar[tuple[str, ...]] = ("test",)
    camera_status: ClassVar[bool] = True
    hazard_events: ClassVar[bool] = True

    def __init__(self) -> None:
        self.url = "test://"
        self.sent: list[dict[str, Any]] = []

    @classmethod
    def from_url(cls, url: str, *, secret: str | None, timeout_s: float = 5.0) -> _Notifier:
        return cls()

    def send(self, payload: dict[str, Any], *, key: str) -> None:
        self.sent.append(payload)


def _event(phase: str = "start", eid: str = "e-1") -> HazardEvent:
    return HazardEvent(
        id=eid,
        camera="cam-reservoir-01",
        hazard="near_water",
        phase=phase,  # type: ignore[arg-type]
        ts=1.0,
        wall_time="2026-07-01T10:00:00+08:00",
        village="ruijia",
        grid="ruijia-g01",
        confidence=0.9,
        boxes=((1.0, 2.0, 3.0, 4.0),),
        track_ids=(1,),
        snapshot=None,
    )


def test_the_clock_follows_the_cameras() -> None:
    assert is_recorded("synthetic://reservoir?seed=1") and is_recorded("/data/clip.mp4")
    assert is_recorded("file:///data/clip.mp4") and not is_recorded("rtsp://cam/1")
    assert not is_recorded("0")  # a capture device

    class Cam:
        def __init__(self, source: str) -> None:
            self.source = source

    live, synthetic = Cam("rtsp://10.0.0.5/s"), Cam("synthetic://street?seed=2")
    assert uses_stream_clock([synthetic], realtime=True)  # the world's time of day
    assert not uses_stream_clock([live, synthetic], realtime=True)
    assert uses_stream_clock([live], realtime=False)  # --fast: ahead of real time


@pytest.mark.parametrize("service", [False, True])
def test_synthetic_cameras_run_orders_on_the_streams_clock(tmp_path: Path, service: bool) -> None:
    # serve --fast and run alike (serve used to run them on the wall clock).
    pipe = build_pipeline(
        CONFIG,
        LiveOptions(db=str(tmp_path / "o.sqlite"), service=service, realtime=not service),
        engine_factory=_FakeEngine,
    )
    try:
        assert isinstance(pipe.stream_clock, StreamClock)
        assert pipe.service is not None and pipe.service.clock is pipe.stream_clock
    finally:
        pipe.close(flush_s=0)


def test_the_engine_reaches_orders_only_through_the_orders_thread(tmp_path: Path) -> None:
    pipe = build_pipeline(
        CONFIG, LiveOptions(db=str(tmp_path / "o.sqlite")), engine_factory=_FakeEngine
    )
    try:
        assert pipe.orders is not None and isinstance(pipe.engine, _FakeEngine)
        listeners = pipe.engine.kwargs["listeners"]
        assert listeners == [pipe.orders.write]  # a queue, never a transaction
        threads: list[str] = []
        pipe.order_listeners.append(lambda view: threads.append(threading.current_thread().name))
        sub: list[tuple[str, dict[str, Any]]] = []
        pipe.bus.publish = lambda topic, data: sub.append((topic, data))  # type: ignore[method-assign]
        for listener in listeners:
            listener(_event())  # as the engine's loop would
        pipe.drain()
        assert threads and set(threads) == {"orders-sink"}
        assert sub and sub[0][0] == "event" and sub[0][1]["order_id"]
    finally:
        pipe.close(flush_s=0)


def test_notifiers_that_carry_events_and_status_get_them(tmp_path: Path) -> None:
    note = _Notifier()
    pipe = build_pipeline(
        CONFIG,
        LiveOptions(db=str(tmp_path / "o.sqlite"), service=True),
        channels=[Channel("mqtt", note)],
        engine_factory=_FakeEngine,
    )
    try:
        outs = [s for s in pipe.sinks if isinstance(s, EventNotifySink)]
        assert len(outs) == 1
        outs[0].write(_event())
        assert note.sent[-1] == {"type": "new", "event": _event().to_dict()}
        notes = pipe.notifications
        assert notes is not None and notes.publisher is not None  # serve publishes status
        assert notes.publisher.notifiers == [note]
    finally:
        pipe.close(flush_s=0)


def test_a_node_is_an_engine_feeding_its_own_sinks() -> None:
    # What gridsight node asks for: no store, no orders, its sink (JetStream) only.
    sink = EventNotifySink([])
    pipe = build_pipeline(CONFIG, LiveOptions(service=True), sinks=[sink])
    try:
        assert pipe.service is None and pipe.orders is None and pipe.store is None
        assert pipe.host is not None and pipe.host._sinks == [sink]
    finally:
        pipe.close(flush_s=0)


def test_notify_without_a_store_is_refused() -> None:
    with pytest.raises(ConfigError, match="--db"):
        build_pipeline(CONFIG, LiveOptions(notify=("http://127.0.0.1:9/hook",)))


def test_recovery_runs_before_the_first_new_event(tmp_path: Path) -> None:
    db = str(tmp_path / "o.sqlite")
    first = build_pipeline(CONFIG, LiveOptions(db=db, engine=False))
    first.ingest(_event(eid="left-open"))  # the process then dies: nobody ends it
    first.close(flush_s=0)
    pipe = build_pipeline(CONFIG, LiveOptions(db=db), engine_factory=_FakeEngine)
    try:
        assert pipe.orders is not None
        pipe.orders.write(_event(eid="new-one"))
        deadline = time.monotonic() + 30
        while pipe.orders.recovered is None and time.monotonic() < deadline:
            time.sleep(0.05)
        pipe.drain()
        assert pipe.orders.recovered is not None and len(pipe.orders.recovered) == 1
        assert pipe.service is not None
        order = pipe.service.get(pipe.orders.recovered[0].id)
        # The new event of the same camera and hazard joined the reconciled order.
        assert order.hazard_active
        assert [t.data.get("event") for t in order.transitions].count("restart") == 1
    finally:
        pipe.close(flush_s=0)


def test_evidence_paths_inside_the_data_dir_are_stored_relative_to_it(tmp_path: Path) -> None:
    import dataclasses

    from gridsight.orders.event_log import EventLog

    data = tmp_path / "data"
    pipe = build_pipeline(
        CONFIG,
        LiveOptions(db=str(tmp_path / "o.sqlite"), data_dir=data),
        engine_factory=_FakeEngine,
    )
    try:
        assert pipe.orders is not None and isinstance(pipe.engine, _FakeEngine)
        [listener] = pipe.engine.kwargs["listeners"]
        inside = dataclasses.replace(
            _event(eid="inside"),
            snapshot=str(data / "snapshots" / "cam-reservoir-01" / "inside.jpg"),
            clip=str(data / "clips" / "cam-reservoir-01" / "inside.mp4"),
        )
        outside = dataclasses.replace(
            _event(eid="outside"),
            camera="cam-reservoir-02",
            snapshot=str(tmp_path / "elsewhere" / "outside.jpg"),
        )
        listener(inside)
        listener(outside)
        pipe.drain()
        assert pipe.store is not None
        log = EventLog(pipe.store)
        got = log.get("inside")
        assert got is not None
        assert got.snapshot == "snapshots/cam-reservoir-01/inside.jpg"
        assert got.clip == "clips/cam-reservoir-01/inside.mp4"
        kept = log.get("outside")
        assert kept is not None and kept.snapshot == outside.snapshot and kept.clip is None
    finally:
        pipe.close(flush_s=0)
