"""Golden results: the simulator's numbers for fixed seeds, pinned bit for bit.

The digests below were computed from the model *before* its speed-up (issue 11) and
must never change: batching random draws, caching worker states or trimming the
replication runner is only allowed when every seed gives exactly the same results.
A failure here means a change altered what a seed produces (a different sequence of
random values reached some decision, or an event happened in another order) — find
another way to make it fast instead of updating the digests.

Each case hashes the full-precision per-alarm and per-request records of one
replication (``float.hex`` of every value, NaN included), its time averages, busy time
per role and event count; the run case hashes the rounded results JSON (without the
software versions) of several replications, as ``gridsight sim run --json`` writes it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from gridsight.core.dispatch import resolve_policy
from gridsight.governance_sim.arrivals import false_alarms, merge_alarms, residents_requests
from gridsight.governance_sim.experiment import results_document, run_replications
from gridsight.governance_sim.model import TownModel
from gridsight.governance_sim.params import SimConfig
from gridsight.governance_sim.replication import build_occurrences, run_replication
from gridsight.governance_sim.stats import dumps
from gridsight.governance_sim.streams import named_generators, replication_seeds

from .conftest import make_cfg

# name -> (scenario changes, days, seed)
MODEL_CASES: dict[str, tuple[dict[str, Any], float, int]] = {
    "baseline": ({}, 4.0, 1),
    "nearest_available": ({"dispatch.policy": "nearest_available"}, 4.0, 2),
    "least_loaded": ({"dispatch.policy": "least_loaded"}, 4.0, 3),
    # Overload: queues at the centre, nobody free, no-acks and escalation to volunteers.
    "overloaded": (
        {
            "alerts.rate_scale": 4.0,
            "centre.verifiers": 1,
            "staffing.workers_per_grid": 1,
            "dispatch.p_no_ack": 0.3,
        },
        3.0,
        4,
    ),
    "constant_times": (
        {
            "centre.verify_s": {"dist": "const", "mean": 30.0},
            "dispatch.ack_s": {"dist": "gamma", "mean": 30.0, "cv": 0.5},
            "field.report_min": {"dist": "uniform", "mean": 3.0, "cv": 0.3},
            "dispatch.decision_s": 0.0,
        },
        4.0,
        5,
    ),
}

# name -> (sha256 of the records, SimPy events), computed before the speed-up.
PINNED: dict[str, tuple[str, int]] = {
    "baseline": ("f6382c9ae197db172d458becb90218c71c8fe20592d5ba9ea379586d471d1310", 2186),
    "constant_times": ("d67a74a0000ff8975d93a7f8e2d6d789cc28b6ae5642f01470dbf9c217f0f278", 2015),
    "least_loaded": ("534f935103d444c09cb8dff7c955a858ae07784be6b618093ad4a9626a222379", 1863),
    "nearest_available": (
        "c8d415943fa6922d54430031b08a6f190845e34c4c307b163ff76ae909c8dbfc",
        2185,
    ),
    "overloaded": ("41419d8c020d322b0cd9143e45659d0c70644cd1b20acfe74c55947b1c3917c5", 3305),
}
RUN_DIGEST = "ed1e848c6b05cf23f4fe5573ccd28f5b2f5b46b7c3653dac20201265d5b0b988"
YEAR30_DIGEST = "bc433ff3d8fe6440dacb01cee15ec8e30418de4928b51cb79b1b429bc492e81d"


def _hex(a: np.ndarray) -> str:
    return ",".join(float(v).hex() for v in np.asarray(a, dtype=np.float64).ravel())


def model_digest(cfg: SimConfig, seed: int) -> tuple[str, int]:
    """sha256 of one replication's full-precision records, and its SimPy event count."""
    gens = named_generators(replication_seeds(seed, 1)[0])
    occ = build_occurrences(cfg, gens)
    alarms = merge_alarms(occ, false_alarms(cfg, gens), cfg.horizon.end_s)
    req = residents_requests(cfg, gens)
    policy = resolve_policy(cfg.dispatch.policy)()
    m = TownModel(cfg, gens, policy, occ, alarms, req)
    events = m.run()
    parts = [
        _hex(getattr(m, name))
        for name in (
            "a_dispatch",
            "a_ack",
            "a_arrive",
            "a_closed",
            "a_done",
            "a_verify_start",
            "a_present",
            "a_escalations",
            "r_dispatch",
            "r_closed",
            "occ_end",
        )
    ]
    parts += [
        float(m.open_orders.mean()).hex(),
        float(m.in_system.mean()).hex(),
        float(m.centre_busy.mean()).hex(),
        repr(sorted((k, float(v).hex()) for k, v in m.role_busy.items())),
        str(events),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest(), events


def run_digest(cfg: SimConfig, seed: int, replications: int) -> str:
    """sha256 of the results JSON of a run, less the software versions."""
    doc = results_document(cfg, seed, run_replications(cfg, seed, replications))
    del doc["meta"]["versions"]
    return hashlib.sha256(dumps(doc).encode()).hexdigest()


def replication_digest(cfg: SimConfig, seed: int) -> str:
    """sha256 of one replication's KPIs at full precision, its samples and event count."""
    r = run_replication(cfg, resolve_policy(cfg.dispatch.policy), replication_seeds(seed, 1)[0], 0)
    text = repr(sorted((k, float(v).hex()) for k, v in r.kpis.items()))
    text += "|" + "|".join(f"{k}:{_hex(v)}" for k, v in sorted(r.samples.items()))
    return hashlib.sha256(f"{text}|{r.events}".encode()).hexdigest()


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_model_records_are_bit_identical_to_the_pinned_ones(baseline, name: str) -> None:
    changes, days, seed = MODEL_CASES[name]
    assert model_digest(make_cfg(baseline, changes, days=days), seed) == PINNED[name]


def test_results_json_of_a_run_is_byte_identical_to_the_pinned_one(short_cfg) -> None:
    assert run_digest(short_cfg, 5, 3) == RUN_DIGEST


def test_a_30_day_replication_is_bit_identical_to_the_pinned_one(baseline) -> None:
    assert replication_digest(make_cfg(baseline, {}, days=30.0), 1) == YEAR30_DIGEST


def test_jobs_of_several_replications_on_two_processes_give_the_serial_json(baseline) -> None:
    # 40 replications on 2 processes go out as jobs of 2 (experiment._chunks): results
    # must come back complete, in replication order and equal to a serial run.
    cfg = make_cfg(baseline, {}, days=1.5)
    serial = run_replications(cfg, 8, 40)
    parallel = run_replications(cfg, 8, 40, workers=2)
    assert [r.index for r in parallel] == list(range(40))
    assert dumps(results_document(cfg, 8, serial)) == dumps(results_document(cfg, 8, parallel))
