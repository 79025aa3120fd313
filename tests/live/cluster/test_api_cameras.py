"""``serve --nats``: the REST API's camera routes change the cluster's cameras (KV), and
list each camera with the node that runs it and its epoch."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from gridsight.api import Settings, create_app
from gridsight.api.services import Services, build_services
from gridsight.core.config import Township, load_township
from gridsight.core.plugins import build_plugin_manager
from gridsight.live.cluster.control import open_store
from gridsight.live.cluster.hosting import cluster_camera_host
from gridsight.live.cluster.kv import read_all
from gridsight.live.cluster.names import Timings
from gridsight.live.cluster.node import ClusterNode

from ...services import require_nats
from .helpers import CONFIG, RecordingRunner, fresh_names


def _api(tmp_path: Path, role: str) -> tuple[Township, Settings, Services, dict[str, str]]:
    """The township, the API's settings and services, and a bearer header for ``role``."""
    town = load_township(CONFIG)
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'api.sqlite'}",
        data_dir=tmp_path,
        session_secret="test-session-secret-0123456789",  # type: ignore[arg-type]
    )
    services = build_services(settings, township=town)
    user = services.accounts.add_user(role, role, password=f"{role}-password")
    return (
        town,
        settings,
        services,
        {"Authorization": f"Bearer {services.accounts.issue_token(user.id)}"},
    )


def test_cameras_put_and_removed_through_the_api_reach_the_cluster(tmp_path) -> None:
    nats = require_nats()
    names = fresh_names()
    town, settings, services, headers = _api(tmp_path, "admin")
    host = cluster_camera_host(nats, town, build_plugin_manager(), names.name)
    services.host = host

    async def cluster_cameras() -> dict[str, dict]:
        nc, store = await open_store(nats, names)
        try:
            return {k: v for k, (_, v) in (await read_all(store.cameras)).items()}
        finally:
            await nc.close()

    cam = town.cameras[0].model_dump(mode="json")
    try:
        with TestClient(create_app(settings, services=services)) as client:
            r = client.put(f"/api/v1/cameras/{cam['id']}", json=cam, headers=headers)
            assert r.status_code in (200, 201), r.text
            assert r.json()["outcome"] == "created"
            assert asyncio.run(cluster_cameras())[cam["id"]]["source"] == cam["source"]
            listed = client.get("/api/v1/cameras", headers=headers).json()["items"]
            assert [(c["id"], c["state"]) for c in listed] == [(cam["id"], "unassigned")]
            assert (listed[0]["node"], listed[0]["epoch"]) == (None, None)
            bad = {**cam, "id": "cam-x", "grid": "no-such-grid"}
            r = client.put("/api/v1/cameras/cam-x", json=bad, headers=headers)
            assert r.status_code == 422 and "no-such-grid" in r.text
            r = client.delete(f"/api/v1/cameras/{cam['id']}", headers=headers)
            assert r.json()["outcome"] == "removed"
            assert asyncio.run(cluster_cameras()) == {}
    finally:
        host.close()


def test_the_camera_list_names_each_cameras_node_and_epoch(tmp_path) -> None:
    nats = require_nats()
    names = fresh_names()
    town, settings, services, headers = _api(tmp_path, "viewer")
    cams = list(town.cameras[:2])
    runner = RecordingRunner()
    node = ClusterNode(
        nats,
        runner,
        node_id="node-x",
        capacity=4,
        names=names,
        timings=Timings(lease_s=2.0, renew_s=0.25),
        seed_cameras=cams,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(node.run(),), daemon=True)
    thread.start()
    host = cluster_camera_host(nats, town, build_plugin_manager(), names.name)
    services.host = host
    try:
        with TestClient(create_app(settings, services=services)) as client:
            deadline = time.monotonic() + 30.0
            while True:
                listed = client.get("/api/v1/cameras", headers=headers).json()["items"]
                if len(listed) == 2 and all(c["state"] == "running" for c in listed):
                    break
                assert time.monotonic() < deadline, f"cameras never ran on the node: {listed}"
                time.sleep(0.2)
            assert [c["id"] for c in listed] == sorted(c.id for c in cams)
            assert {c["node"] for c in listed} == {"node-x"}
            assert all(isinstance(c["epoch"], int) and c["epoch"] > 0 for c in listed)
            one = client.get(f"/api/v1/cameras/{cams[0].id}", headers=headers).json()
            assert (one["node"], one["epoch"]) == (
                "node-x",
                next(c["epoch"] for c in listed if c["id"] == cams[0].id),
            )
            page = client.get("/?lang=zh", headers=headers)
            assert page.status_code == 200 and "节点" in page.text
    finally:
        host.close()
        loop.call_soon_threadsafe(node.stop)
        thread.join(15)
        loop.close()
