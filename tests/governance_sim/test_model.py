"""The township model: reproducibility, conservation laws, Little's law, common random numbers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.governance_sim.experiment import results_document, run_replications
from gridsight.governance_sim.patrol import run_patrol
from gridsight.governance_sim.replication import build_occurrences, compute_kpis
from gridsight.governance_sim.stats import dumps
from gridsight.governance_sim.streams import named_generators, replication_seeds

from .conftest import make_cfg, run_model

_model = run_model


def test_same_seed_gives_byte_identical_json_and_another_seed_differs(short_cfg) -> None:
    a = dumps(results_document(short_cfg, 5, run_replications(short_cfg, 5, 3)))
    b = dumps(results_document(short_cfg, 5, run_replications(short_cfg, 5, 3)))
    c = dumps(results_document(short_cfg, 6, run_replications(short_cfg, 6, 3)))
    assert a == b
    assert a != c


def test_parallel_processes_give_the_same_json_as_serial(short_cfg) -> None:
    serial = run_replications(short_cfg, 9, 3)
    parallel = run_replications(short_cfg, 9, 3, workers=2)
    assert dumps(results_document(short_cfg, 9, serial)) == dumps(
        results_document(short_cfg, 9, parallel)
    )


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.5, 1.0, 4.0]))
def test_every_alarm_is_dismissed_or_closed_and_times_are_ordered(baseline, seed, scale) -> None:
    cfg = make_cfg(baseline, {"alerts.rate_scale": scale}, days=3.0)
    model, occ, alarms, _ = _model(cfg, seed)
    real = alarms.occurrence >= 0
    closed = ~np.isnan(model.a_closed)
    cancelled = ~np.isnan(model.a_cancelled)
    auto = np.array([model.auto_verify[h] for h in alarms.hazard.tolist()], dtype=bool)
    # Conservation: after the drain, every alarm has left the system exactly once:
    # closed, cancelled on clear (real, never dispatched) or dismissed (false, verified
    # by an operator). Auto-verified false alarms are dispatched and closed.
    assert not np.isnan(model.a_done).any()
    assert not (closed & cancelled).any()
    assert (closed | cancelled)[real].all()
    assert np.isnan(model.a_dispatch[cancelled]).all()
    dismissed = ~real & ~auto
    assert not (closed | cancelled)[dismissed].any()
    assert closed[~real & auto].all()
    assert (model.a_verified[closed] >= alarms.time[closed]).all()
    assert (model.a_verified[auto & closed] == alarms.time[auto & closed]).all()
    manual = ~np.isnan(model.a_verify_start)
    assert (model.a_verify_start[manual] >= alarms.time[manual]).all()
    done = real & closed
    t0 = alarms.time[done]
    assert (model.a_dispatch[done] >= model.a_verified[done]).all()
    assert (model.a_ack[done] >= model.a_dispatch[done]).all()
    assert (model.a_arrive[done] >= model.a_ack[done]).all()
    assert (model.a_closed[done] > model.a_arrive[done]).all()
    # A cancelled order's hazard had cleared: cancellation is at the occurrence's end.
    occ_i = alarms.occurrence[cancelled]
    assert (model.a_cancelled[cancelled] == occ.end[occ_i]).all()
    onset = occ.onset[alarms.occurrence[done]]
    delay = np.array([p.detect_delay_s for _, p in cfg.hazards])[alarms.hazard[done]]
    assert np.allclose(t0 - onset, delay)
    assert not np.isnan(model.r_closed).any()
    assert model.in_system.level == 0 and model.open_orders.level == 0


def test_littles_law_holds_on_the_full_model(short_cfg) -> None:
    res = run_replications(short_cfg, 3, 2)
    for r in res:
        assert abs(r.kpis["littles_L"] - r.kpis["littles_lambda_W"]) <= 0.05 * r.kpis["littles_L"]


def test_kpis_are_in_range(short_cfg) -> None:
    (r,) = run_replications(short_cfg, 11, 1)
    k = r.kpis
    for name in (
        "dispatch_within_target",
        "closure_within_target",
        "coverage_ai_all",
        "coverage_patrol_all",
        "utilisation_grid_worker",
        "utilisation_verifier",
    ):
        assert 0.0 <= k[name] <= 1.0, name
    assert k["dispatch_mean_s"] <= k["closure_mean_s"]
    assert k["dispatch_p90_s"] <= k["dispatch_p95_s"]
    assert k["real_alerts"] + k["false_alarms"] == k["alerts"] > 0
    assert k["response_reduction"] < 1.0


def test_ai_and_patrol_see_the_same_occurrences_whatever_the_staffing(baseline) -> None:
    # Common random numbers: staffing changes must not change the hazard occurrences.
    a = make_cfg(baseline, {"centre.verifiers": 1})
    b = make_cfg(baseline, {"centre.verifiers": 5, "staffing.workers_per_grid": 2})
    oa = build_occurrences(a, named_generators(replication_seeds(4, 1)[0]))
    ob = build_occurrences(b, named_generators(replication_seeds(4, 1)[0]))
    assert np.array_equal(oa.onset, ob.onset) and np.array_equal(oa.end, ob.end)


def test_more_verifiers_never_slow_dispatch_on_common_random_numbers(baseline) -> None:
    slow = make_cfg(
        baseline, {"centre.verifiers": 1, "centre.verify_s": {"dist": "exp", "mean": 120}}
    )
    fast = make_cfg(
        baseline, {"centre.verifiers": 4, "centre.verify_s": {"dist": "exp", "mean": 120}}
    )
    ks = run_replications(slow, 2, 1)[0].kpis
    kf = run_replications(fast, 2, 1)[0].kpis
    assert kf["verify_wait_mean_s"] < ks["verify_wait_mean_s"]
    assert kf["dispatch_within_target"] >= ks["dispatch_within_target"]


def test_patrol_with_no_rounds_and_no_reports_finds_nothing(baseline) -> None:
    hz = {
        h: {**s.model_dump(), "resident_report_prob": 0.0} for h, s in baseline[0].hazards.items()
    }
    cfg = make_cfg(baseline, {"patrol.rounds_per_day": 0, "hazards": hz})
    model, occ, alarms, gens = _model(cfg, 1)
    out = run_patrol(cfg, occ, gens["patrol"])
    assert len(occ) > 0 and not out.found.any()
    k, _ = compute_kpis(cfg, model, occ, alarms, out.found, out.response)
    assert k["coverage_patrol_all"] == 0.0 and np.isnan(k["response_reduction"])


def test_patrol_finds_every_hazard_that_lasts_longer_than_a_day(baseline) -> None:
    hz = {
        h: {**s.model_dump(), "duration_min": {"dist": "const", "mean": 2000.0}}
        for h, s in baseline[0].hazards.items()
    }
    cfg = make_cfg(baseline, {"patrol.rounds_per_day": 1, "hazards": hz})
    _, occ, _, gens = _model(cfg, 1)
    out = run_patrol(cfg, occ, gens["patrol"])
    assert out.by_patrol.all()
    assert (out.response <= 2000.0 * 60.0).all()
