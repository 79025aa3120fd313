"""``gridsight node --metrics-port``: a real node process serves its engine's and its own
Prometheus series."""

from __future__ import annotations

import time
import urllib.request

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gridsight.live.cluster.names import ClusterNames
from gridsight.live.cluster.node import NodeCounters
from gridsight.live.cluster.node_metrics import NodeCollector, node_registry
from gridsight.live.cluster.publisher import JetStreamSink

from ...services import require_nats
from .harness import NodeProcess
from .helpers import fresh_names, small_config
from .natsproc import free_port
from .test_publisher import ev

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return _samples(r.read().decode())


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class _Node:
    node_id, capacity, held, is_assigner = "n1", 3, {"cam-a": 4}, True

    def __init__(self) -> None:
        self.counters = NodeCounters(claims=1, renewals=7, renew_failures=2)


def test_the_publishers_counts_are_node_series() -> None:
    dead = f"nats://127.0.0.1:{free_port()}"  # nothing listens: events stay buffered
    sink = JetStreamSink(dead, ClusterNames("tmet"), "n1", lambda cam: 1, max_buffer=4)
    try:
        for n in range(6):
            sink.write(ev(n))
        got = _samples(generate_latest(node_registry(NodeCollector(_Node(), sink))).decode())
    finally:
        sink.close(drain_s=0.1)
    label = (("node", "n1"),)
    assert got[("gridsight_node_events_published_total", label)] == 6
    assert got[("gridsight_node_events_buffered", label)] == 4
    assert got[("gridsight_node_events_dropped_total", label)] == 2
    assert got[("gridsight_node_events_acked_total", label)] == 0
    assert got[("gridsight_node_cameras", label)] == 1
    assert got[("gridsight_node_assigner", label)] == 1
    assert got[("gridsight_node_lease_renewals_total", label)] == 7
    assert got[("gridsight_node_lease_renewal_failures_total", label)] == 2
    assert not any(name.startswith("gridsight_frames") for name, _ in got), "no engine yet"


def test_a_node_serves_its_engine_and_node_metrics(tmp_path) -> None:
    nats = require_nats()
    names = fresh_names()
    config = small_config(tmp_path / "town.yaml", cameras=2, fps=2)
    port = free_port()
    node = NodeProcess(
        config,
        nats,
        names,
        "m1",
        tmp_path,
        capacity=4,
        extra=("--metrics-port", str(port), "--metrics-addr", "127.0.0.1"),
    )
    label = (("node", "m1"),)
    try:
        deadline = time.monotonic() + 90.0
        got: dict = {}
        while True:
            assert node.proc.poll() is None, f"the node exited:\n{node.tail()}"
            try:
                got = _scrape(port)
            except OSError:
                got = {}
            frames = [v for (name, _), v in got.items() if name == "gridsight_frames_total"]
            if got.get(("gridsight_node_cameras", label)) == 2 and sum(frames) > 0:
                break
            assert time.monotonic() < deadline, (
                f"no node and engine series: {sorted(got)[:40]}\n{node.tail()}"
            )
            time.sleep(0.5)
        assert got[("gridsight_node_capacity", label)] == 4
        assert got[("gridsight_node_lease_renewals_total", label)] > 0
        assert got[("gridsight_node_claims_total", label)] == 2
        assert got[("gridsight_node_lease_renewal_failures_total", label)] == 0
        for name in ("published", "acked", "dropped"):
            assert ("gridsight_node_events_" + name + "_total", label) in got
        assert got[("gridsight_node_events_dropped_total", label)] == 0
        assert ("gridsight_node_events_buffered", label) in got
        cams = {dict(k)["camera"] for (name, k) in got if name == "gridsight_frames_total"}
        assert len(cams) == 2, "the engine's per-camera series"
        renewed = got[("gridsight_node_lease_renewals_total", label)]
        deadline = time.monotonic() + 30.0
        while _scrape(port)[("gridsight_node_lease_renewals_total", label)] <= renewed:
            assert time.monotonic() < deadline, "renewals do not rise between scrapes"
            time.sleep(0.5)
    finally:
        node.stop()
