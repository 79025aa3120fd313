"""Events: listing with filters and cursor pages, snapshots by id only, the live stream."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from gridsight.core.events import HazardEvent
from gridsight.orders.config import OrdersTownship

from .conftest import Api, make_api

JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 100 + b"\xff\xd9"


def event(
    n: int, camera: str = "cam-reservoir-01", hazard: str = "near_water", **kw
) -> HazardEvent:
    fields = dict(
        id=f"{camera}:{hazard}:{n}@run",
        camera=camera,
        hazard=hazard,
        phase="start",
        ts=float(n),
        wall_time="2026-12-01T02:00:00+00:00",
        village="ruijia",
        grid="ruijia-g01",
        confidence=0.9,
        boxes=((1.0, 2.0, 3.0, 4.0),),
        track_ids=(n,),
    )
    fields.update(kw)
    return HazardEvent(**fields)  # type: ignore[arg-type]


def ingest(api: Api, ev: HazardEvent) -> None:
    api.services.orders.ingest_event(ev)
    api.clock.advance(1.0)


def test_events_list_filters_and_pages(api: Api) -> None:
    for n in range(4):
        ingest(api, event(n))
    ingest(
        api,
        event(9, camera="cam-stairwell-01", hazard="ebike", village="xinqiao", grid="xinqiao-g01"),
    )
    h = api.h("viewer")
    everything = api.client.get("/api/v1/events", headers=h).json()["items"]
    assert len(everything) == 5
    assert [e["started_at"] for e in everything] == sorted(
        (e["started_at"] for e in everything), reverse=True
    )
    ebike = api.client.get("/api/v1/events?hazard=ebike", headers=h).json()["items"]
    assert [e["camera"] for e in ebike] == ["cam-stairwell-01"]
    assert ebike[0]["order_id"] is not None  # the event opened a work order
    village = api.client.get("/api/v1/events?village=ruijia", headers=h).json()["items"]
    assert len(village) == 4
    t1 = everything[2]["started_at"]
    since = api.client.get(f"/api/v1/events?since={t1}", headers=h).json()["items"]
    assert len(since) == 3
    seen, cursor = [], None
    while True:
        q = "/api/v1/events?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.client.get(q, headers=h).json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [e["id"] for e in everything]
    one = api.client.get(f"/api/v1/events/{seen[0]}", headers=h)
    assert one.status_code == 200 and one.json()["id"] == seen[0]
    assert api.client.get("/api/v1/events/nope", headers=h).status_code == 404
    assert api.client.get("/api/v1/events?cursor=zz", headers=h).status_code == 422


def test_snapshot_is_served_by_event_id_and_only_from_the_folder(api: Api, tmp_path: Path) -> None:
    snaps = api.settings.snapshots_dir
    snaps.mkdir(parents=True)
    (snaps / "a.jpg").write_bytes(JPEG)
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"\xff\xd8\xff secret")
    ingest(api, event(1, snapshot=str(snaps / "a.jpg")))
    ingest(api, event(2, camera="cam-reservoir-02", snapshot=str(outside)))
    ingest(api, event(3, camera="cam-stairwell-02", hazard="ebike", snapshot="../secret.jpg"))
    h = api.h("viewer")
    items = {e["camera"]: e for e in api.client.get("/api/v1/events", headers=h).json()["items"]}
    good = api.client.get(items["cam-reservoir-01"]["snapshot_url"], headers=h)
    assert good.status_code == 200 and good.content == JPEG
    for cam in ("cam-reservoir-02", "cam-stairwell-02"):
        url = items[cam]["snapshot_url"]
        assert url is not None
        assert api.client.get(url, headers=h).status_code == 404
    assert api.client.get(items["cam-reservoir-01"]["snapshot_url"]).status_code == 401


MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def test_clip_is_served_by_event_id_and_only_from_the_clips_folder(
    tmp_path: Path, township: OrdersTownship
) -> None:
    for api in make_api(tmp_path, township, clips_dir="clips"):
        clips = api.settings.clips_dir
        assert clips == tmp_path / "clips"  # inside the data folder
        (clips / "cam-reservoir-01").mkdir(parents=True)
        (clips / "cam-reservoir-01" / "1.mp4").write_bytes(MP4)
        (tmp_path / "secret.mp4").write_bytes(MP4)
        ingest(api, event(1, clip=str(clips / "cam-reservoir-01" / "1.mp4")))
        ingest(api, event(2, camera="cam-reservoir-02", clip=str(tmp_path / "secret.mp4")))
        ingest(api, event(3, camera="cam-stairwell-02", hazard="ebike", clip="../secret.mp4"))
        ingest(api, event(4, camera="cam-stairwell-01", hazard="ebike"))  # written without
        ingest(api, event(5, camera="cam-reservoir-01", clip="cam-reservoir-01/5.mp4"))
        h = api.h("viewer")
        items = {e["id"]: e for e in api.client.get("/api/v1/events", headers=h).json()["items"]}
        by_n = {int(i.rsplit(":", 1)[1].split("@")[0]): e for i, e in items.items()}
        good = api.client.get(by_n[1]["clip_url"], headers=h)
        assert good.status_code == 200 and good.content == MP4
        assert good.headers["content-type"] == "video/mp4"
        assert by_n[1]["clip_url"] == f"/api/v1/events/{by_n[1]['id']}/clip"
        assert by_n[4]["clip_url"] is None
        for n in (2, 3, 5):  # outside the folder, a traversal, not written (yet)
            r = api.client.get(by_n[n]["clip_url"], headers=h)
            assert r.status_code == 404 and "clip" in r.json()["message"]
        r = api.client.get(f"/api/v1/events/{by_n[4]['id']}/clip", headers=h)
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert api.client.get(by_n[1]["clip_url"]).status_code == 401
        # A relative path (the engine's own form) is found in the clips folder.
        (clips / "cam-reservoir-01" / "5.mp4").write_bytes(MP4)
        assert api.client.get(by_n[5]["clip_url"], headers=h).status_code == 200


def test_without_a_clips_folder_no_clip_is_served(api: Api, tmp_path: Path) -> None:
    (tmp_path / "x.mp4").write_bytes(MP4)
    ingest(api, event(1, clip=str(tmp_path / "x.mp4")))
    h = api.h("viewer")
    [item] = api.client.get("/api/v1/events", headers=h).json()["items"]
    assert api.client.get(item["clip_url"], headers=h).status_code == 404


def _read_messages(api: Api, url: str, headers: dict, n: int, publish) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    with api.client.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        threading.Thread(target=publish, daemon=True).start()
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind is not None and len(out) < n:
                out.append((kind, json.loads(line[6:])))
        # Read to the end: the server closes the stream after `limit` (= n) messages.
        # Leaving early would leave its last send waiting on a client that no longer
        # reads, and the TestClient's shutdown waiting on that send (a hang in teardown).
    return out


def test_stream_delivers_events_and_order_changes(api: Api) -> None:
    listener = api.services.live.ingest  # what the pipeline's orders thread does

    def publish() -> None:
        deadline = time.monotonic() + 5
        while api.services.bus.subscribers == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        listener(event(1))

    got = _read_messages(api, "/api/v1/events/stream?limit=2", api.h("viewer"), 2, publish)
    by_kind = {k: d for k, d in got}
    assert set(by_kind) == {"event", "work_order"}  # the order's change comes via on_change
    assert by_kind["event"]["hazard"] == "near_water" and by_kind["event"]["order_id"]
    assert by_kind["work_order"]["order"]["id"] == by_kind["event"]["order_id"]
    assert by_kind["work_order"]["order"]["state"] == "dispatched"  # near_water: at once


def test_api_changes_reach_the_stream(api: Api) -> None:
    # An order filed over HTTP reaches a stream subscriber. The stream is the route's
    # generator on an event loop of the test's own: a POST through the TestClient from a
    # second thread while a streamed GET is open on it could leave the client's shutdown
    # waiting for ever (about one run in three here); HTTP streaming itself is covered by
    # test_stream_delivers_events_and_order_changes.
    import asyncio

    from gridsight.api.routers.events import _stream

    from .conftest import manual_order

    async def run() -> list[str]:
        frames = _stream(api.services, Connected(), frozenset({"work_order"}), 1)  # type: ignore[arg-type]
        got = [await frames.__anext__()]  # the "connected" comment: subscribed now
        manual_order(api)
        got += [frame async for frame in frames]
        return got

    frames = asyncio.run(asyncio.wait_for(run(), 10))
    data = [
        json.loads(line[6:])
        for f in frames[1:]
        for line in f.splitlines()
        if line.startswith("data: ")
    ]
    kinds = [line[7:] for f in frames[1:] for line in f.splitlines() if line.startswith("event: ")]
    assert kinds == ["work_order"] and data[0]["order"]["state"] == "dispatched"


class Connected:
    """A request whose client never goes away (the stream ends by its limit)."""

    async def is_disconnected(self) -> bool:
        return False


def test_stream_of_a_worker_carries_only_their_orders(api: Api) -> None:
    # The stream's generator itself, as in test_api_changes_reach_the_stream.
    import asyncio

    from gridsight.api.routers.events import _stream
    from gridsight.api.routers.work_orders import publish_order

    mine = api.services.orders.create_manual(
        "fire_lane", "ruijia", "ruijia-g01", title="a", actor="operator:t"
    )
    other = api.services.orders.create_manual(
        "vending", "xinqiao", "xinqiao-g01", title="b", actor="operator:t"
    )

    async def run() -> list[str]:
        frames = _stream(
            api.services,
            Connected(),
            frozenset({"work_order"}),
            1,
            mine.assignee,  # type: ignore[arg-type]
        )
        got = [await frames.__anext__()]  # the "connected" comment: subscribed now
        api.services.bus.publish("event", {"hazard": "x"})
        publish_order(api.services, other)
        publish_order(api.services, mine)
        got += [frame async for frame in frames]
        return got

    frames = asyncio.run(asyncio.wait_for(run(), 10))
    assert frames[0].startswith("retry: 3000")
    data = [
        json.loads(line[6:])
        for f in frames[1:]
        for line in f.splitlines()
        if line.startswith("data: ")
    ]
    assert [d["order"]["id"] for d in data] == [mine.id]
    assert mine.assignee != other.assignee
