"""Cameras at run time: list with status, put/patch/remove/enable/disable, idempotent by id,
validated as the YAML is. The engine runs for real on a synthetic camera with a detector
that sees nothing (the model is not what is tested here)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Api, make_api


@pytest.fixture
def live(tmp_path: Path, township) -> Iterator[Api]:
    """The app with a running engine on one synthetic camera."""
    one = township.model_copy(update={"cameras": township.cameras[:1]})
    yield from make_api(tmp_path, one, _engine=True)


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def cams(api: Api) -> dict[str, dict]:
    r = api.client.get("/api/v1/cameras", headers=api.h("viewer"))
    assert r.status_code == 200
    return {c["id"]: c for c in r.json()["items"]}


def test_cameras_change_at_run_time(live: Api) -> None:
    api = live
    wait_for(lambda: api.client.get("/readyz").status_code == 200)
    first = next(iter(cams(api)))
    wait_for(lambda: cams(api)[first]["state"] == "running" and cams(api)[first]["frames"] > 0)
    op = api.h("operator")
    base = cams(api)[first]
    assert base["source"].startswith("synthetic://") and base["hazards"]

    # Disable / enable, each idempotent.
    assert (
        api.client.post(f"/api/v1/cameras/{first}/disable", headers=op).json()["outcome"]
        == "disabled"
    )
    assert (
        api.client.post(f"/api/v1/cameras/{first}/disable", headers=op).json()["outcome"]
        == "unchanged"
    )
    assert cams(api)[first]["state"] == "stopped" and not cams(api)[first]["enabled"]
    assert (
        api.client.post(f"/api/v1/cameras/{first}/enable", headers=op).json()["outcome"]
        == "enabled"
    )
    wait_for(lambda: cams(api)[first]["state"] == "running")

    # PUT the same config: unchanged; a second camera: created, then running.
    town = api.services.township
    cfg = town.cameras[0].model_dump(mode="json")
    r = api.client.put(f"/api/v1/cameras/{first}", json=cfg, headers=op)
    assert r.status_code == 200 and r.json()["outcome"] == "unchanged"
    new = {**cfg, "id": "cam-extra-01", "name": "extra"}
    r = api.client.put("/api/v1/cameras/cam-extra-01", json=new, headers=op)
    assert r.json()["outcome"] == "created"
    r = api.client.put("/api/v1/cameras/cam-extra-01", json=new, headers=op)
    assert r.json()["outcome"] == "unchanged"
    wait_for(lambda: cams(api).get("cam-extra-01", {}).get("frames", 0) > 0)

    # Zones and hazard settings changed without a restart; frames keep coming.
    frames = cams(api)["cam-extra-01"]["frames"]
    zones = cfg["zones"]
    r = api.client.patch(
        "/api/v1/cameras/cam-extra-01", json={"zones": zones[:1] + zones[1:]}, headers=op
    )
    assert r.json()["outcome"] == "unchanged"
    r = api.client.patch("/api/v1/cameras/cam-extra-01", json={"name": "renamed"}, headers=op)
    assert r.json()["outcome"] == "updated" and r.json()["camera"]["name"] == "renamed"
    wait_for(lambda: cams(api)["cam-extra-01"]["frames"] > frames)

    # Remove, twice.
    assert (
        api.client.delete("/api/v1/cameras/cam-extra-01", headers=op).json()["outcome"] == "removed"
    )
    assert (
        api.client.delete("/api/v1/cameras/cam-extra-01", headers=op).json()["outcome"] == "absent"
    )
    assert "cam-extra-01" not in cams(api)
    assert api.client.post("/api/v1/cameras/cam-extra-01/enable", headers=op).status_code == 404
    # The engine's metrics are on /metrics beside the HTTP ones.
    text = api.client.get("/metrics").text
    assert "gridsight_frames_total" in text and "gridsight_http_requests_total" in text


def test_bad_camera_changes_are_422_naming_the_field(live: Api) -> None:
    api = live
    wait_for(lambda: api.client.get("/readyz").status_code == 200)
    op = api.h("operator")
    cfg = api.services.township.cameras[0].model_dump(mode="json")
    first = cfg["id"]
    # A zone point outside the image: the camera model's own check.
    zone = {**cfg["zones"][0], "points": [[0, 0], [99999, 0], [0, 10]]}
    r = api.client.patch(
        f"/api/v1/cameras/{first}", json={"zones": [zone, *cfg["zones"][1:]]}, headers=op
    )
    assert r.status_code == 422
    assert "outside" in r.text
    # A grid of another village: the township's cross-reference check.
    r = api.client.put(f"/api/v1/cameras/{first}", json={**cfg, "grid": "xinqiao-g01"}, headers=op)
    assert r.status_code == 422 and "grid" in r.json()["message"]
    # An unknown hazard setting: the rule's settings model.
    hazard = next(iter(cfg["hazards"]))
    bad = {hazard: {**cfg["hazards"][hazard], "no_such_setting": 1}}
    r = api.client.patch(f"/api/v1/cameras/{first}", json={"hazards": bad}, headers=op)
    assert r.status_code == 422 and "no_such_setting" in r.json()["message"]
    # Path and body ids must agree.
    r = api.client.put("/api/v1/cameras/other-id", json=cfg, headers=op)
    assert r.status_code == 422 and r.json()["field"] == "id"
    # Nothing changed.
    assert api.services.host is not None
    assert api.services.host.camera(first).config.model_dump(mode="json") == cfg


def test_without_an_engine_cameras_are_read_only(api: Api) -> None:
    listed = cams(api)
    assert len(listed) == 12 and {c["state"] for c in listed.values()} == {"off"}
    r = api.client.post("/api/v1/cameras/cam-reservoir-01/disable", headers=api.h("operator"))
    assert r.status_code == 409 and r.json()["error"] == "engine_not_running"


def test_rtsp_password_is_masked() -> None:
    from gridsight.api.routers.cameras import mask_source

    assert (
        mask_source("rtsp://admin:s3cret@10.0.0.5:554/ch1") == "rtsp://admin:***@10.0.0.5:554/ch1"
    )
    assert mask_source("synthetic://reservoir?seed=1") == "synthetic://reservoir?seed=1"


class _Host:
    """An engine host whose one camera reports a covered view and heavy drops."""

    phase = "running"

    def __init__(self, township, degraded_share: float) -> None:
        from gridsight.core.engine.status import CameraStatus
        from gridsight.live.engine_host import camera_view

        cfg = township.cameras[0]
        status = CameraStatus(cfg.id, state="running", frames=70, drops=30, gated=5, view="covered")
        self.views = [camera_view(cfg, True, status, degraded_share=degraded_share)]

    def cameras(self):
        return self.views

    def readiness(self):
        return True, "engine running"


@pytest.mark.parametrize(("share", "degraded"), [(0.2, True), (0.5, False)])
def test_the_cameras_whole_status_reaches_the_api(
    api: Api, township, share: float, degraded: bool
) -> None:
    api.services.host = _Host(township, share)  # type: ignore[assignment]
    cam = cams(api)[township.cameras[0].id]
    assert cam["state"] == "running" and cam["view"] == "covered"
    assert cam["gated"] == 5 and cam["drops"] == 30 and cam["drop_share"] == 0.3
    assert cam["degraded"] is degraded
    assert (cam["node"], cam["epoch"]) == (None, None), "a single process has no nodes"


def test_the_last_frame_is_shown_as_an_age_on_the_wall_clock(api: Api, township) -> None:
    import time as _time

    from gridsight.api.routers.cameras import camera_out
    from gridsight.core.engine.status import CameraStatus
    from gridsight.live.engine_host import camera_view

    cfg = township.cameras[0]
    seen = CameraStatus(cfg.id, state="running", frames=5, stream_ts=7.0, last_frame_at=1000.0)
    out = camera_out(api.services, camera_view(cfg, True, seen, degraded_share=0.2), now=1012.5)
    assert (out.last_frame_at, out.last_frame_age_s, out.stream_ts) == (1000.0, 12.5, 7.0)
    never = camera_view(cfg, True, CameraStatus(cfg.id), degraded_share=0.2)
    assert camera_out(api.services, never, now=1012.5).last_frame_age_s is None
    # Through the route, on the machine's clock: an hour-old frame is at least an hour old.
    an_hour_ago = _time.time() - 3600.0
    host = _Host(township, 0.2)
    host.views = [
        camera_view(
            cfg,
            True,
            CameraStatus(cfg.id, state="running", frames=5, last_frame_at=an_hour_ago),
            degraded_share=0.2,
        )
    ]
    api.services.host = host  # type: ignore[assignment]
    cam = cams(api)[cfg.id]
    assert cam["last_frame_at"] == an_hour_ago and cam["last_frame_age_s"] >= 3600.0


def test_a_running_camera_reports_when_it_last_processed_a_frame(live: Api) -> None:
    api = live
    wait_for(lambda: api.client.get("/readyz").status_code == 200)
    first = next(iter(cams(api)))
    wait_for(lambda: cams(api)[first]["frames"] > 0)
    cam = cams(api)[first]
    assert cam["last_frame_at"] is not None and cam["last_frame_age_s"] is not None
    assert cam["last_frame_age_s"] >= 0.0
