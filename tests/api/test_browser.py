"""The pages in a real browser: Playwright driving Debian's Chromium, headless.

An operator signs in and watches the dashboard; an alert arrives live (the engine's
listener is called as the engine would call it); the grid worker it was dispatched to
signs in on a phone-sized page, acknowledges, reports on site and resolves with a photo
and a note; the operator closes the order and the day's figures move.

Chromium comes from ``apt-get install chromium`` (``make test`` installs it where it is
missing). Without it this test skips, except under ``CI=true``, where it fails.
Set ``GRIDSIGHT_SCREENSHOTS=docs/img`` to write the screenshots of both pages there.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridsight.api import Settings, create_app
from gridsight.api.services import Services, build_services
from gridsight.core.events import HazardEvent
from gridsight.orders.config import load_orders_township

from ..orders.helpers import all_day_config
from ..services import under_ci

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _need_browser() -> None:
    why = None
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing (apt-get install -y chromium, or make test)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "playwright is not installed (pip install -e '.[dev]')"
    if why is not None:
        if under_ci():
            pytest.fail(f"CI=true: {why}")
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving the app on a loopback port, on a thread."""

    def __init__(self, services: Services) -> None:
        import uvicorn

        self.port = _free_port()
        self.services = services
        app = create_app(services.settings, services=services)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _snapshot(folder: Path, name: str, bgr: tuple[int, int, int]) -> str:
    import cv2
    import numpy as np

    img = np.zeros((180, 320, 3), np.uint8)
    img[:] = bgr
    cv2.rectangle(img, (120, 60), (200, 150), (0, 0, 255), 3)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jpg"
    cv2.imwrite(str(path), img)
    return str(path)


def _event(camera: str, hazard: str, village: str, grid: str, snap: str | None) -> HazardEvent:
    return HazardEvent(
        id=f"{camera}:{hazard}:1000:1@browser",
        camera=camera,
        hazard=hazard,
        phase="start",
        ts=1.0,
        wall_time=datetime.now(UTC).isoformat(),
        village=village,
        grid=grid,
        confidence=0.91,
        boxes=((120.0, 60.0, 200.0, 150.0),),
        track_ids=(1,),
        snapshot=snap,
    )


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'browser.sqlite'}",
        uploads_dir=tmp_path / "uploads",
        snapshots_dir=tmp_path / "snapshots",
        session_secret="browser-test-session-secret-01",  # type: ignore[arg-type]
    )
    # The page and the server run on the real clock: grid workers on shift round the
    # clock, so that dispatch does not depend on the hour the test runs at.
    town = load_orders_township(all_day_config(tmp_path))
    services = build_services(settings, township=town)
    services.accounts.add_user("duty", "operator", password="duty-password")
    with LiveServer(services) as server:
        yield server


def _login(page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")


def test_alert_to_closure_in_the_browser(live: LiveServer, tmp_path: Path) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    services = live.services
    listener = services.live.ingest  # what the pipeline's orders thread does
    shots = Path(os.environ.get("GRIDSIGHT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    snaps = services.settings.snapshots_dir
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            desk = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
            dash = desk.new_page()
            _login(dash, live.url, "duty", "duty-password")
            dash.wait_for_url(f"{live.url}/dashboard")
            expect(dash.locator("#live")).to_have_class("live on", timeout=10_000)
            expect(dash.locator("#fig-orders")).to_have_text("0")

            # An alert arrives while the operator watches.
            water = _event(
                "cam-reservoir-01", "near_water", "ruijia", "ruijia-g01",
                _snapshot(snaps, "water", (120, 90, 40)),
            )  # fmt: skip
            listener(water)
            row = dash.locator("#events li").first
            expect(row).to_contain_text("人员临水", timeout=10_000)
            expect(row.locator("img.thumb")).to_be_visible()
            order_id = services.orders.list().items[0].id
            queue_row = dash.locator(f'#orders tr[data-order="{order_id}"]')
            expect(queue_row.locator(".state")).to_have_text("已派单", timeout=10_000)
            expect(dash.locator("#fig-orders")).to_have_text("1", timeout=10_000)

            # A second, non-life-critical alert waits for the operator to verify it.
            bike = _event(
                "cam-stairwell-01", "ebike", "ruijia", "ruijia-g02",
                _snapshot(snaps, "bike", (60, 60, 60)),
            )  # fmt: skip
            listener(bike)
            bike_id = next(v.id for v in services.orders.list().items if v.kind == "ebike")
            bike_row = dash.locator(f'#orders tr[data-order="{bike_id}"]')
            expect(bike_row.locator(".state")).to_have_text("新告警", timeout=10_000)
            bike_row.locator('button[data-to="verified"]').click()
            expect(bike_row.locator(".state")).to_have_text("已派单", timeout=10_000)
            expect(dash.locator("#fig-dispatch")).to_have_text("100%", timeout=10_000)

            # The worker it went to, on their phone.
            assignee = services.orders.get(order_id).assignee
            assert assignee
            services.accounts.add_user(
                "worker-1", "worker", password="worker-password", worker_id=assignee
            )
            phone_ctx = browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                locale="zh-CN",
            )  # fmt: skip
            phone = phone_ctx.new_page()
            _login(phone, live.url, "worker-1", "worker-password")
            phone.wait_for_url(f"{live.url}/worker")
            card = phone.locator(f'.card[data-order="{order_id}"]')
            expect(card).to_contain_text("人员临水", timeout=10_000)
            card.locator('button[data-to="acknowledged"]').click()
            expect(card.locator(".state")).to_have_text("已接单", timeout=10_000)
            expect(queue_row.locator(".state")).to_have_text("已接单", timeout=10_000)
            card.locator('button[data-to="on_site"]').click()
            expect(card.locator(".state")).to_have_text("已到场", timeout=10_000)
            card.locator("textarea").fill("已劝离，设置警示牌")
            card.locator("input[type=file]").set_input_files(str(snaps / "water.jpg"))
            phone.screenshot(path=str(shots / "worker.png"), full_page=True)
            card.locator('button[data-to="resolved"]').click()
            expect(card.locator(".state")).to_have_text("已处置", timeout=10_000)

            # Back at the centre: the order shows resolved; closing it moves the figures.
            expect(queue_row.locator(".state")).to_have_text("已处置", timeout=10_000)
            trail = services.orders.get(order_id).transitions
            resolved = [t for t in trail if t.to_state == "resolved"][-1]
            assert resolved.note == "已劝离，设置警示牌" and resolved.photo
            assert (services.settings.uploads_dir / resolved.photo).is_file()
            expect(dash.locator("#fig-close")).to_have_text("–")
            queue_row.locator('button[data-to="closed"]').click()
            expect(dash.locator("#fig-close")).to_have_text("100%", timeout=10_000)
            expect(queue_row).to_have_count(0, timeout=10_000)  # no longer open
            expect(dash.locator("#fig-open")).to_have_text("1")
            expect(dash.locator("#map circle.order")).to_have_count(1)
            expect(dash.locator("#cameras tbody tr")).to_have_count(12)
            # A hazard on another camera is a new order (the same one back soon after
            # closing would reopen the closed order instead).
            lane = _event(
                "cam-fire-lane-01", "fire_lane", "ruijia", "ruijia-g04",
                _snapshot(snaps, "lane", (40, 110, 60)),
            )  # fmt: skip
            listener(lane)
            expect(dash.locator("#fig-orders")).to_have_text("3", timeout=10_000)
            expect(dash.locator("#events li")).to_have_count(3, timeout=10_000)
            dash.screenshot(path=str(shots / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert (shots / "dashboard.png").stat().st_size > 10_000
    assert (shots / "worker.png").stat().st_size > 5_000
