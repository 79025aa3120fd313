"""Waiting work orders are served first come, first served within priority, in time
linear in events, and the field queue agrees with Ciw's M/G/c."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gridsight.governance_sim import field_check as fc

from .conftest import run_model


def _overloaded(baseline, rho: float, days: float):
    sc, town = baseline
    case = fc.FieldQueue(servers=3, rho=rho, service_mean_s=1200.0, service_cv=0.8)
    return fc.field_queue_config(sc, town, case, days=days, warmup_days=0.0)


def test_orders_of_one_village_and_priority_are_dispatched_in_arrival_order(baseline) -> None:
    cfg = _overloaded(baseline, rho=0.95, days=6.0)
    model, _, alarms, _ = run_model(cfg, seed=3)
    t = alarms.time
    d = model.a_dispatch
    waited = d - t > 1e-9
    assert waited.sum() > 200, "the case must make many orders wait"
    done = ~np.isnan(d)
    order = np.argsort(t[done], kind="stable")
    dispatched = d[done][order]
    # FIFO: a later alarm is never dispatched before an earlier one (one village, one
    # priority, no escalation here).
    overtaken = int((np.diff(dispatched) < -1e-9).sum())
    assert overtaken == 0


def test_overload_costs_events_linear_in_the_run_not_in_the_backlog(baseline) -> None:
    # At rho = 1.2 the backlog grows without bound; doubling the run must about double
    # the events (the old model woke every waiting order at every release: quadratic).
    ev = []
    for days in (2.0, 4.0):
        cfg = _overloaded(baseline, rho=1.2, days=days)
        cfg = replace(cfg, horizon=replace(cfg.horizon, drain_days=0.0))
        model, _, alarms, _ = run_model(cfg, seed=4)
        ev.append(model.events / len(alarms))
    assert ev[1] < 1.3 * ev[0], ev


def test_the_field_queue_agrees_with_ciw(baseline) -> None:
    pytest.importorskip("ciw")
    sc, town = baseline
    case = fc.FieldQueue()
    cfg = fc.field_queue_config(sc, town, case, days=12.0, warmup_days=1.0)
    ours = fc.model_waits(cfg, replications=12, seed=21)
    theirs = fc.ciw_waits(case, days=12.0, warmup_days=1.0, replications=12, seed=21)
    for a, b in ((ours.mean, theirs.mean), (ours.p_wait, theirs.p_wait), (ours.p95, theirs.p95)):
        diff, _, se = fc.difference(a, b)
        assert abs(diff) <= 3.0 * se, (diff, se)
