"""Hypothesis strategies shared by the dispatch tests (core and simulator)."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from gridsight.core.dispatch import WorkerState


def worker_states(max_size: int) -> SearchStrategy[list[WorkerState]]:
    """Lists of up to ``max_size`` workers with distinct ids, of every role, in two
    villages, on or off duty, busy or not."""
    return st.lists(
        st.builds(
            WorkerState,
            id=st.text("abcdefgh", min_size=1, max_size=3),
            role=st.sampled_from(
                ["grid_worker", "micro_grid_worker", "cadre", "volunteer", "police"]
            ),
            village=st.sampled_from(["v1", "v2"]),
            grid=st.sampled_from(["v1-g1", "v1-g2", ""]),
            x_km=st.floats(0, 10),
            y_km=st.floats(0, 10),
            mode=st.sampled_from(["walk", "ebike", "car"]),
            on_duty=st.booleans(),
            busy=st.booleans(),
            load=st.integers(0, 5),
        ),
        max_size=max_size,
        unique_by=lambda s: s.id,
    )
