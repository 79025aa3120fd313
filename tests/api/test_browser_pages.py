"""The pages in Chromium at the sizes they are used at, in Chinese; the login redirect.

- The dashboard at 1280 and 1920 px: the queue's columns all visible (nothing cut off),
  the verification alarm showing while an e-bike order waits.
- The worker page at 360 and 430 px: nothing wider than the screen; the card shows the
  snapshot.
- Both in Chinese: no English outside the allow list of tests/api/test_zh_pages.py, and
  the Chinese is drawn with a CJK font (fonts-noto-cjk, installed by ``make test``).
- ``/login?next=/\\host/phish`` lands on the dashboard of this origin.

Set ``GRIDSIGHT_SCREENSHOTS=docs/img`` to write the screenshots there.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ..services import under_ci
from .test_browser import ARGS, CHROMIUM, LiveServer, _event, _login, _need_browser, _snapshot
from .test_browser import live as live
from .test_zh_pages import english_words


def _need_cjk_font() -> None:
    try:
        fonts = subprocess.run(["fc-list"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        fonts = ""
    if "Noto Sans CJK" not in fonts:
        why = "no CJK font (apt-get install fonts-noto-cjk, or make test)"
        if under_ci():
            pytest.fail(f"CI=true: {why}")
        pytest.skip(why)


def test_login_next_cannot_leave_the_origin(live: LiveServer) -> None:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{live.url}/login?next=/%5C127.0.0.1:9/phish")
            page.fill("#login-name", "duty")
            page.fill("#login-password", "duty-password")
            page.click("#login-submit")
            page.wait_for_url(f"{live.url}/dashboard", timeout=10_000)
        finally:
            browser.close()


def test_pages_in_chinese_at_the_sizes_they_are_used(live: LiveServer, tmp_path: Path) -> None:
    _need_browser()
    _need_cjk_font()
    from playwright.sync_api import expect, sync_playwright

    services = live.services
    shots = Path(os.environ.get("GRIDSIGHT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    snaps = services.settings.snapshots_dir
    water = _event(
        "cam-reservoir-01", "near_water", "ruijia", "ruijia-g01",
        _snapshot(snaps, "water", (120, 90, 40)),
    )  # fmt: skip
    bike = _event(
        "cam-stairwell-01", "ebike", "ruijia", "ruijia-g02", _snapshot(snaps, "bike", (60, 60, 60))
    )
    services.orders.ingest_event(water)
    services.orders.ingest_event(bike)
    order = next(v for v in services.orders.list().items if v.kind == "near_water")
    assert order.assignee
    services.accounts.add_user(
        "worker-1", "worker", password="worker-password", worker_id=order.assignee
    )
    names = {"duty", "worker-1"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for width in (1280, 1920):
                ctx = browser.new_context(viewport={"width": width, "height": 1000}, locale="zh-CN")
                page = ctx.new_page()
                _login(page, live.url, "duty", "duty-password")
                page.wait_for_url(f"{live.url}/dashboard")
                expect(page.locator("#orders tbody tr")).to_have_count(2, timeout=10_000)
                expect(page.locator("#alarm")).to_be_visible(timeout=10_000)
                expect(page.locator("#alarm-count")).to_have_text("1")
                queue = page.locator("section.queue")
                overflow = queue.evaluate("q => q.scrollWidth - q.clientWidth")
                assert overflow <= 1, f"the queue is cut off at {width} px by {overflow} px"
                left = english_words(page.locator("body").inner_text(), names)
                assert not left, f"English on the dashboard in Chinese: {sorted(left)}"
                page.screenshot(path=str(shots / f"dashboard-{width}.png"), full_page=True)
                ctx.close()
            for width in (360, 430):
                ctx = browser.new_context(
                    viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True,
                    locale="zh-CN",
                )  # fmt: skip
                page = ctx.new_page()
                _login(page, live.url, "worker-1", "worker-password")
                page.wait_for_url(f"{live.url}/worker")
                card = page.locator(f'.card[data-order="{order.id}"]')
                expect(card).to_be_visible(timeout=10_000)
                expect(card.locator("img.snap")).to_be_visible()
                wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert wide <= 0, f"the worker page is {wide} px wider than a {width} px phone"
                left = english_words(page.locator("body").inner_text(), names)
                assert not left, f"English on the worker page in Chinese: {sorted(left)}"
                page.screenshot(path=str(shots / f"worker-{width}.png"), full_page=True)
                ctx.close()
        finally:
            browser.close()
    for name in ("dashboard-1280", "dashboard-1920", "worker-360", "worker-430"):
        assert (shots / f"{name}.png").stat().st_size > 5_000
