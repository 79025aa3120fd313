"""The node's JetStream sink: message ids, the bounded buffer while NATS is unreachable."""

from __future__ import annotations

import json
import logging

from gridsight.core.events import HazardEvent
from gridsight.live.cluster.names import ClusterNames
from gridsight.live.cluster.publisher import JetStreamSink, encode, message_id

from .natsproc import free_port


def ev(n: int, phase: str = "start") -> HazardEvent:
    return HazardEvent(f"cam-1:fire_lane:{n}:{n}", "cam-1", "fire_lane", phase, float(n),  # type: ignore[arg-type]
                       "2026-07-01T10:00:00.000+08:00", "ruijia", "ruijia-g01", 0.8)  # fmt: skip


def test_message_ids_tell_phases_apart_and_repeat_for_a_resend() -> None:
    start, update, end = ev(1), ev(1, "update"), ev(1, "end")
    ids = {message_id(start), message_id(update), message_id(end)}
    assert len(ids) == 3
    assert message_id(ev(1)) == message_id(start)
    body = json.loads(encode(start, 7, "n1"))
    assert (body["epoch"], body["node"], body["id"]) == (7, "n1", start.id)


def test_an_unreachable_nats_buffers_then_drops_updates_first_counted(caplog) -> None:
    dead = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    sink = JetStreamSink(dead, ClusterNames("tbuf"), "n1", lambda cam: 3, max_buffer=5)
    try:
        with caplog.at_level(logging.ERROR, logger="gridsight.cluster.publisher"):
            sink.write(ev(0))
            for n in range(1, 4):
                sink.write(ev(n, "update"))
            sink.write(ev(4))
            assert (sink.pending, sink.dropped) == (5, 0)
            sink.write(ev(5))  # full: an update goes
            sink.write(ev(6, "end"))
            assert (sink.pending, sink.dropped) == (5, 2)
            for n in range(7, 10):  # no updates left: the oldest waiting events go
                sink.write(ev(n))
            assert (sink.pending, sink.dropped) == (5, 5)
        assert sum("dropped" in r.getMessage() for r in caplog.records) == 5
    finally:
        sink.close(drain_s=0.1)
