"""Replications on a Dask cluster give the same results as local runs."""

from __future__ import annotations

import pytest

from gridsight.governance_sim.experiment import results_document, run_replications
from gridsight.governance_sim.stats import dumps

distributed = pytest.importorskip("distributed")


def test_local_dask_cluster_matches_serial(short_cfg) -> None:
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = run_replications(short_cfg, 21, 2, dask_address=cluster.scheduler_address)
    local = run_replications(short_cfg, 21, 2)
    assert dumps(results_document(short_cfg, 21, remote)) == dumps(
        results_document(short_cfg, 21, local)
    )
