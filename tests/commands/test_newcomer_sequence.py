"""What a newcomer runs after ``make demo``, as the demo and the README print it.

``gridsight demo`` (short: 40 s of stream time), then on its store ``gridsight orders
list --db …`` exactly as the demo prints it, ``gridsight report daily --db … --out …``,
and ``gridsight serve --no-engine --db …`` (a real process) with its API and its
dashboard in a browser. The demo's orders carry the synthetic world's date, months away
from the machine's: every step must read them on the run's clock (ages of seconds,
closure countdowns under 55 minutes, "today" the run's day) and say so.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.orders.store import OrderStore
from gridsight.orders.store_clock import read_clock

from ..api.test_browser import ARGS, CHROMIUM, _free_port, _login, _need_browser

pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Shanghai")  # configs/jingqiao.yaml
TOKEN = "newcomer-admin-token-0123456789abcdef"
CLOSE_S = 55 * 60


@dataclass
class Demo:
    db: Path
    printed: str  # the "See: gridsight orders list --db …" command the demo printed
    orders: int
    open: int
    stream_time: float


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("newcomer") / "runs" / "demo"
    r = CliRunner(env={"COLUMNS": "250"}).invoke(
        cli, ["demo", "--duration", "40", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    see = re.search(r"See: (gridsight orders list --db \S+)", r.output)
    assert see is not None, r.output
    db = out / "orders.sqlite"
    with OrderStore.open(db) as store:
        rec = read_clock(store)
        with store.read() as conn:
            rows = conn.exec_driver_sql("SELECT state FROM work_orders").all()
    assert rec is not None and rec.is_stream and rec.stream_time is not None
    assert rows, "the demo raised no work order"
    open_n = sum(s not in ("closed", "cancelled", "rejected", "duplicate") for (s,) in rows)
    return Demo(db, see.group(1), len(rows), open_n, rec.stream_time)


def test_orders_list_as_the_demo_prints_it(demo: Demo) -> None:
    args = shlex.split(demo.printed)
    assert args[:3] == ["gridsight", "orders", "list"]
    r = CliRunner(env={"COLUMNS": "200"}).invoke(cli, args[1:])
    assert r.exit_code == 0, r.output
    rows = [line for line in r.output.splitlines() if re.match(r"\s*wo-", line)]
    assert len(rows) == demo.orders, r.output
    for row in rows:
        # order kind state grid assignee age | dispatch SLA | closure SLA
        cells = row.split()
        # Seconds old, as the run saw them (on the machine's clock: thousands of hours).
        assert re.fullmatch(r"\d+s|\d+m\d\ds", cells[5]), row
        # The closure clock runs (under 55 minutes left) or was met; never overdue.
        if cells[-1] == "left":
            assert re.fullmatch(r"\d+s|[1-5]?\dm\d\ds", cells[-2]), row
        else:
            assert cells[-2] == "met", row
    assert "Stream time" in r.output


def test_report_daily_is_the_runs_day(demo: Demo, tmp_path: Path) -> None:
    day = datetime.fromtimestamp(demo.stream_time, ZONE).date().isoformat()
    r = CliRunner().invoke(
        cli, ["report", "daily", "--db", str(demo.db), "--out", str(tmp_path / "reports")]
    )
    assert r.exit_code == 0, r.output
    assert f"{demo.orders} orders, {day}" in r.output
    text = (tmp_path / "reports" / f"daily-{day}.md").read_text(encoding="utf-8")
    assert f"- Orders: **{demo.orders}**" in text and "Stream time" in text


@pytest.fixture(scope="module")
def served(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``gridsight serve --no-engine --db <the demo's store>``, a process of its own."""
    r = CliRunner().invoke(
        cli,
        ["users", "add", "duty", "--role", "operator", "--password-stdin", "--db", str(demo.db)],
        input="duty-password\n",
    )
    assert r.exit_code == 0, r.output
    port = _free_port()
    # As the README prints it: the demo's snapshots folder is the one the service serves.
    snapshots = demo.db.parent / "snapshots"
    env = {**os.environ, "GRIDSIGHT_ADMIN_TOKEN": TOKEN, "GRIDSIGHT_SNAPSHOTS_DIR": str(snapshots)}
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridsight", "serve", "--no-engine", "--db", str(demo.db),
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"serve exited: {Path(log.name).read_text()}"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready in 90 s"
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_serve_no_engine_reads_the_demos_store_on_its_clock(demo: Demo, served: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    stats = httpx.get(f"{served}/api/v1/work-orders/stats", headers=auth).json()
    assert stats["stream_time"] is True and stats["now"] == pytest.approx(demo.stream_time)
    assert stats["timezone"] == "Asia/Shanghai"
    assert stats["orders"] == demo.orders and stats["open"] == demo.open  # "today": the run's
    page = httpx.get(f"{served}/api/v1/work-orders?open=true&limit=200", headers=auth).json()
    assert page["stream_time"] is True and len(page["items"]) == demo.open
    for o in page["items"]:
        assert 0 <= demo.stream_time - o["created_at"] < 600  # seconds old, not months
        if o["sla"]["close"] == "ongoing":
            assert 0 < o["sla"]["close_left_s"] <= CLOSE_S
    events = httpx.get(f"{served}/api/v1/events?limit=5", headers=auth).json()["items"]
    assert events and all(e["snapshot_url"] for e in events)
    snap = httpx.get(served + events[0]["snapshot_url"], headers=auth)
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"


def test_the_dashboard_shows_the_demos_orders_as_the_run_saw_them(demo: Demo, served: str) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            _login(page, served, "duty", "duty-password")
            page.wait_for_url(f"{served}/dashboard")
            expect(page.locator("#fig-orders")).to_have_text(str(demo.orders), timeout=15_000)
            note = page.locator("#stream-time")
            expect(note).to_be_visible()
            expect(note).to_contain_text(str(datetime.fromtimestamp(demo.stream_time).year))
            rows = page.locator("#orders tbody tr")
            expect(rows).to_have_count(demo.open, timeout=15_000)
            expect(page.locator("#orders td.sla.overdue")).to_have_count(0)
            # In the township's zone, not the browser's.
            at = datetime.fromtimestamp(demo.stream_time, ZONE).strftime("%H:%M")
            expect(note).to_contain_text(at)
            # The evidence snapshots load (none broken).
            thumbs = page.locator("#events img.thumb")
            expect(thumbs.first).to_be_visible(timeout=15_000)
            loaded = thumbs.evaluate_all(
                "(imgs) => imgs.map((i) => i.complete && i.naturalWidth > 0)"
            )
            assert loaded and all(loaded), loaded
            # Countdowns under 55 minutes (h:mm:ss only from an hour up).
            for text in rows.locator("td.sla").all_inner_texts():
                assert re.search(r"\b[0-5]?\d:\d\d$", text), text
                assert not re.search(r"\d+:\d\d:\d\d", text), text
        finally:
            browser.close()
