"""Calibration from the live store, tested on a store produced from a known scenario:
the fitted rates and times come back within their 95% intervals."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from gridsight.cli import cli
from gridsight.core.dispatch import resolve_policy
from gridsight.governance_sim.replication import run_replication
from gridsight.governance_sim.streams import replication_seeds
from gridsight.orders.ledger import order_row_defaults
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import events, transitions, work_orders

from .conftest import BASELINE, make_cfg

T0 = datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
DAYS = 12.0


def _known(baseline):
    sc, _ = baseline
    flat = {
        h: {**sc.hazards[h].model_dump(), "season": [1.0] * 12, "detect_delay_s": 5.0}
        for h in sc.hazards
    }
    changes = {
        "hazards": flat,
        "centre.verifiers": 30,  # no queue: created -> verified is the verification time
        "horizon.warmup_days": 0.0,
    }
    return make_cfg(baseline, changes, days=DAYS), flat


def _store_from(cfg, path: Path) -> None:
    """Write what the live service would have recorded for one simulated replication."""
    r = run_replication(cfg, resolve_policy(cfg.dispatch.policy), replication_seeds(4, 1)[0], 0,
                        trace=True)  # fmt: skip
    store = OrderStore.open(path)
    with store.begin() as conn:
        for i, row in enumerate(r.trace or ()):
            _, cam, hz, kind, alarm, verified, disp, on_site, closed, _worker, village = row
            t = lambda v: None if v == "" else T0 + float(v)  # noqa: E731
            oid = f"wo-{i}"
            camera = kind in ("alarm", "false_alarm")
            state = "rejected" if kind == "false_alarm" and disp == "" else "closed"
            if camera and disp == "" and kind == "alarm":
                state = "cancelled"
            created = t(alarm)
            conn.execute(
                sa.insert(work_orders).values(
                    {
                        **order_row_defaults(),
                        "id": oid, "source": "camera" if camera else "qr",
                        "kind": hz if camera else kind, "state": state, "camera": cam or None,
                        "village": village, "grid": "g", "created_at": created,
                        "dispatched_at": t(disp), "acknowledged_at": t(disp),
                        "on_site_at": t(on_site),
                        "resolved_at": None if t(closed) is None else t(closed) - 60.0,
                        "closed_at": t(closed), "dispatch_due_at": created + 60,
                        "close_due_at": created + 3300, "version": 1, "updated_at": created,
                    }
                )
            )  # fmt: skip
            if camera:
                conn.execute(
                    sa.insert(events).values(
                        id=f"ev-{i}", camera=cam, hazard=hz, village=village, grid="g",
                        started_ts=0.0, started_at=created, last_phase="start",
                        last_at=created, confidence=0.9, order_id=oid,
                    )
                )  # fmt: skip
            if verified:
                auto = verified == alarm
                conn.execute(
                    sa.insert(transitions).values(
                        order_id=oid, seq=1, from_state="new", to_state="verified",
                        actor="system" if auto else "operator:desk",
                        actor_role="system" if auto else "operator", at=t(verified),
                    )
                )  # fmt: skip
    store.close()


def test_rates_and_times_come_back_within_their_intervals(baseline, tmp_path: Path) -> None:
    cfg, flat = _known(baseline)
    db = tmp_path / "orders.sqlite"
    _store_from(cfg, db)
    scen = tmp_path / "known.yaml"
    sc, _ = baseline
    data = sc.model_dump(mode="json")
    data.update(township=str(Path(BASELINE).parent / sc.township), hazards=flat)
    scen.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "cal.yaml"
    rep = tmp_path / "cal.json"
    r = CliRunner().invoke(
        cli,
        ["sim", "calibrate", str(scen), "--db", str(db), "--since", str(T0),
         "--until", str(T0 + DAYS * 86400), "--out", str(out), "--report", str(rep)],
        catch_exceptions=False,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    report = json.loads(rep.read_text())
    for h, hp in cfg.hazards:
        got = report["hazards"][h]["real_alarms_per_camera_day"]
        truth = hp.rate_per_camera_day * hp.detect_prob  # flat season, delay << durations
        lo, hi = got["ci95"]
        assert lo <= truth <= hi, (h, truth, got)
    fa = report["false_alarm_fraction"]
    assert (
        fa["ci95"][0] <= cfg.false_alarm_fraction <= fa["ci95"][1]
        or abs(fa["mean"] - cfg.false_alarm_fraction) < 0.03
    )
    v = report["times"]["verify_s"]["sample_mean"]
    assert v["ci95"][0] <= cfg.centre.verify.mean <= v["ci95"][1], v
    cal = yaml.safe_load(out.read_text())
    for h, hp in cfg.hazards:
        assert abs(cal["hazards"][h]["rate_per_camera_day"] / hp.rate_per_camera_day - 1) < 0.5
    # The calibrated scenario runs, and validate puts the two side by side.
    vj = tmp_path / "v.json"
    r = CliRunner().invoke(
        cli,
        ["sim", "validate", str(out), "--db", str(db), "--since", str(T0),
         "--until", str(T0 + DAYS * 86400), "-n", "3", "--days", "4", "-q", "--json", str(vj)],
        catch_exceptions=False,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(vj.read_text())
    assert set(doc["observed"]) == set(doc["simulated"])
    assert doc["observed"]["dispatch_within_target"]["n"] > 50
