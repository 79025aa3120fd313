"""The demo's notifications: alerts become dispatched work orders, posted, signed, to the
local webhook receiver through the outbox relay (gridsight.commands.demo_notify)."""

from __future__ import annotations

import json
from pathlib import Path

from gridsight.commands.demo_notify import (
    DEMO_SECRET,
    FLUSH_S,
    DemoNotifications,
    format_notices,
    order_notices,
)
from gridsight.core.events import HazardEvent
from gridsight.core.plugins import build_plugin_manager
from gridsight.live import LiveOptions, build_pipeline
from gridsight.orders.clock import StreamClock
from gridsight.orders.config import HazardOrders, OrdersConfig, load_orders_township
from gridsight.orders.notify.receiver import Received
from gridsight.orders.views import OrderFilter

CONFIG = "configs/jingqiao.yaml"
WALL = "2026-07-01T10:00:00+08:00"  # the events' time: the day shift is on


def _event(eid: str, camera: str, hazard: str) -> HazardEvent:
    town = load_orders_township(CONFIG)
    cam = town.camera(camera)
    return HazardEvent(
        id=eid,
        camera=camera,
        hazard=hazard,
        phase="start",
        ts=0.0,
        wall_time=WALL,
        village=cam.village,
        grid=cam.grid,
        confidence=0.9,
        boxes=((1.0, 2.0, 3.0, 4.0),),
        track_ids=(7,),
        snapshot=None,
    )


def test_demo_orders_are_notified_signed_with_their_delay(tmp_path: Path) -> None:
    record = tmp_path / "notifications.jsonl"
    notes = DemoNotifications.start(build_plugin_manager(), record=record)
    # As the demo: the service on the events' clock, not the machine's hour.
    clock = StreamClock()
    clock.observe(WALL)
    settings = OrdersConfig(
        hazards={h: HazardOrders(auto_verify=True) for h in ("near_water", "fire_lane")}
    )
    pipe = build_pipeline(
        CONFIG,
        LiveOptions(db=str(tmp_path / "orders.sqlite"), engine=False, orders_settings=settings),
        channels=notes.channels,
        ack_secret=notes.secret,
        clock=clock,
    )
    try:
        pipe.start()
        made = [
            pipe.ingest(_event("e1", "cam-reservoir-01", "near_water")),
            pipe.ingest(_event("e2", "cam-reservoir-01", "fire_lane")),
        ]
        assert all(m is not None for m in made)
        assert pipe.service is not None and pipe.notifications is not None
        views = list(pipe.service.iter_all(OrderFilter()))
        left = pipe.close(flush_s=FLUSH_S)
        summary = notes.finish(
            views,
            pending=left,
            counts=pipe.notifications.final_counts,
            to_service_time=clock.at_wall,
        )
    finally:
        pipe.close(flush_s=0.0)
        notes.close()
    assert {v.state for v in views} == {"dispatched"}
    assert summary["pending"] == 0 and summary["dead"] == 0
    assert summary["accepted"] >= len(views)
    assert summary["signatures_ok"] == summary["received"]
    by_order = {n["order"]: n for n in summary["notices"]}
    assert set(by_order) == {v.id for v in views}
    for v in views:
        n = by_order[v.id]
        assert n["worker"] == v.assignee and n["worker"]
        assert n["signature_ok"] is True
        assert 0.0 <= n["delay_s"] < 10.0
    lines = format_notices(summary)
    assert lines[0].startswith(
        f"notifications: the demo webhook receiver got {summary['received']}"
    )
    assert any(v.id in ln and f"{v.assignee} notified" in ln for v in views for ln in lines)
    kept = [json.loads(ln) for ln in record.read_text(encoding="utf-8").splitlines()]
    assert len(kept) == summary["accepted"]
    assert all(k["signature_ok"] for k in kept)


def test_notices_take_the_first_dispatch_and_ignore_other_notifications() -> None:
    class View:
        def __init__(self, oid: str, created_at: float) -> None:
            self.id, self.created_at = oid, created_at

    def rx(body: object, at: float, ok: bool = True) -> Received:
        raw = json.dumps(body).encode()
        return Received("/hook", {}, raw, body, ok, None, at, at, 200, False)

    got = [
        rx({"after": "verified", "order": {"id": "a"}, "assignee": None}, 101.0),
        rx({"after": "dispatched", "order": {"id": "a"}, "assignee": "w1"}, 102.5),
        rx({"after": "dispatched", "order": {"id": "a"}, "assignee": "w2"}, 300.0),
        rx({"after": "dispatched", "order": {"id": "b"}, "assignee": "w3"}, 50.0, ok=False),
        rx("not json", 1.0),
    ]
    notices = order_notices([View("a", 100.0), View("b", 40.0), View("c", 1.0)], got)  # type: ignore[list-item]
    assert [(n.order, n.worker, n.delay_s, n.signature_ok) for n in notices] == [
        ("a", "w1", 2.5, True),
        ("b", "w3", 10.0, False),
    ]
    assert DEMO_SECRET
