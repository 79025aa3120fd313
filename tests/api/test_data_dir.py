"""Every file of the service lies under one data folder; paths survive a restart from
another working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridsight.api import Settings
from gridsight.orders.config import OrdersTownship

from .conftest import Api, make_api
from .test_events import JPEG, event, ingest


def test_settings_put_uploads_and_snapshots_under_one_absolute_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings(data_dir=Path("var/gridsight"))
    assert s.data_dir == tmp_path / "var" / "gridsight"
    assert s.uploads_dir == s.data_dir / "uploads"
    assert s.snapshots_dir == s.data_dir / "snapshots"
    elsewhere = Settings(data_dir=tmp_path / "d", snapshots_dir=Path("/srv/snaps"))
    assert elsewhere.snapshots_dir == Path("/srv/snaps")
    with pytest.raises(ValueError, match="max_body_bytes"):
        Settings(max_body_bytes=2048, max_upload_bytes=4096)
    with pytest.raises(ValueError, match="not an IP address"):
        Settings(trusted_proxies=["proxy.local"])


def test_a_snapshot_stored_relative_to_the_data_dir_is_served_from_any_directory(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snaps = api.settings.snapshots_dir
    snaps.mkdir(parents=True, exist_ok=True)
    (snaps / "rel.jpg").write_bytes(JPEG)
    ingest(api, event(1, snapshot="snapshots/rel.jpg"))
    other = tmp_path / "some" / "other" / "cwd"
    other.mkdir(parents=True)
    monkeypatch.chdir(other)
    h = api.h("viewer")
    item = api.client.get("/api/v1/events", headers=h).json()["items"][0]
    got = api.client.get(item["snapshot_url"], headers=h)
    assert got.status_code == 200 and got.content == JPEG


def test_a_clip_stored_relative_to_the_data_dir_is_served_from_any_directory(
    tmp_path: Path, township: OrdersTownship, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_events import MP4

    for api in make_api(tmp_path, township, clips_dir="clips"):
        clip = api.settings.clips_dir / "cam-reservoir-01" / "rel.mp4"
        clip.parent.mkdir(parents=True)
        clip.write_bytes(MP4)
        ingest(api, event(1, clip="clips/cam-reservoir-01/rel.mp4"))  # as serve stores it
        other = tmp_path / "some" / "other" / "cwd"
        other.mkdir(parents=True)
        monkeypatch.chdir(other)
        h = api.h("viewer")
        item = api.client.get("/api/v1/events", headers=h).json()["items"][0]
        got = api.client.get(item["clip_url"], headers=h)
        assert got.status_code == 200 and got.content == MP4
