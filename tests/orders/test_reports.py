"""Periodic reports: the figures from a store, the Markdown and the PNG charts."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.orders.reports.periodic import build_report, period_bounds, wilson
from gridsight.orders.reports.render import write_report
from gridsight.orders.store import OrderStore

from .helpers import MORNING, ZONE, Clock, event, service


def test_wilson_interval_known_values() -> None:
    lo, hi = wilson(8, 10)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    lo, hi = wilson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.7225, abs=1e-4)  # not a zero-width interval
    assert wilson(0, 0) == (None, None)


def test_period_bounds() -> None:
    s, e, label = period_bounds("weekly", date(2026, 7, 1), ZONE)  # a Wednesday
    assert label == "2026-W27" and e - s == 7 * 86400
    s, e, label = period_bounds("monthly", date(2026, 2, 14), ZONE)
    assert label == "2026-02" and e - s == 28 * 86400
    with pytest.raises(ValueError, match="periods: daily, weekly, monthly"):
        period_bounds("yearly", date(2026, 1, 1), ZONE)


def _day(path) -> None:
    """A morning: 3 cases closed in time, 1 closed late, 1 reopened, 1 left waiting."""
    clock = Clock()
    svc = service(OrderStore.open(path), clock)

    def loop(ev, minutes: float) -> str:
        o = svc.ingest_event(ev)
        assert o is not None
        w = f"worker:{o.assignee}"
        for to in ("acknowledged", "on_site", "resolved"):
            clock.advance(minutes * 60 / 3)
            svc.transition(o.id, to, actor=w, role="worker")
        svc.ingest_event(event("end", camera=ev.camera, hazard=ev.hazard, eid=ev.id))
        return o.id

    for m in (20, 30, 40):
        loop(event(), m)
        clock.advance(3600)  # outside the reopen window
    loop(event(camera="cam-reservoir-02"), 70)  # late: closure breached
    clock.advance(3600)
    first = loop(event(), 15)
    clock.advance(300)
    again = loop(event(), 10)  # came back within 30 min: the same order, reopened
    assert again == first
    svc.ingest_event(event(camera="cam-fire-lane-01", hazard="fire_lane"))
    clock.advance(120)
    svc.tick()  # the fire-lane order waits for an operator: dispatch SLA breached


def test_report_figures_and_files(tmp_path) -> None:
    db = tmp_path / "o.sqlite"
    _day(db)
    rep = build_report(OrderStore.open(db), "daily", date(2026, 7, 1), ZONE, township="Jingqiao")
    assert rep.orders == 6
    assert rep.by_kind == {"near_water": 5, "fire_lane": 1}
    assert rep.by_village == {"ruijia": 5, "tai": 1}
    assert (rep.dispatch.met, rep.dispatch.breached) == (5, 1)
    assert (rep.close.met, rep.close.breached) == (4, 1)  # the reopened one counts once
    assert sorted(round(m) for m in rep.closure_min) == [20, 30, 30, 40, 70]
    assert ("cam-reservoir-01", "near_water", 4, 1) in rep.repeats
    assert rep.workers["gw-ruijia-g01"].notified == 5 and rep.workers["gw-ruijia-g01"].resolved == 4
    assert rep.breaches == 2
    md = write_report(rep, tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    assert "Dispatch within 60 s: **83% (95% CI 44%–97%), 5/6**" in text
    assert "Closure within 55 min" in text and "median 30.0 min" in text
    for suffix in ("closure", "sla", "workers"):
        png = tmp_path / "out" / f"daily-2026-07-01-{suffix}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png.name})" in text
    # Another day has none of it.
    empty = build_report(OrderStore.open(db), "daily", date(2026, 7, 2), ZONE)
    assert empty.orders == 0 and empty.dispatch.share is None


def test_report_command(tmp_path) -> None:
    db = tmp_path / "o.sqlite"
    _day(db)
    r = CliRunner().invoke(
        cli,
        ["report", "weekly", "--db", str(db), "--out", str(tmp_path / "w"), "--date", "2026-07-01"],
    )
    assert r.exit_code == 0, r.output
    assert "6 orders, 2026-W27" in r.output
    assert (tmp_path / "w" / "weekly-2026-W27.md").exists()
    assert MORNING > 0
