"""governance_sim.centre.Centre schedules exactly what simpy.PriorityResource schedules."""

from __future__ import annotations

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.governance_sim.centre import Centre

jobs_st = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.0, 1.0, 2.5, 4.0]),  # arrival gap (ties on purpose)
        st.integers(0, 2),  # priority
        st.sampled_from([0.0, 1.0, 2.5, 3.0]),  # service time
        st.sampled_from([None, None, 0.0, 1.0, 2.0]),  # patience (None: waits for ever)
    ),
    max_size=25,
)


def trace(make, capacity: int, jobs) -> tuple[list[tuple[float, int, str]], int]:
    """Every job's grant / renege / finish with its time, and the events processed."""
    env = simpy.Environment()
    res = make(env, capacity)
    log: list[tuple[float, int, str]] = []

    def job(k: int, priority: int, service: float, patience: float | None):
        with res.request(priority=priority) as req:
            if patience is None:
                yield req
            else:
                yield req | env.timeout(patience)
                if not req.triggered:
                    log.append((env.now, k, "reneged"))
                    return
            log.append((env.now, k, "granted"))
            yield env.timeout(service)
        log.append((env.now, k, "done"))

    def source():
        for k, (gap, priority, service, patience) in enumerate(jobs):
            if gap:
                yield env.timeout(gap)
            env.process(job(k, priority, service, patience))

    env.process(source())
    events = 0
    while env.peek() < float("inf"):
        env.step()
        events += 1
    return log, events


@settings(max_examples=300, deadline=None)
@given(jobs=jobs_st, capacity=st.integers(1, 3))
def test_the_same_grants_at_the_same_times_in_the_same_order(jobs, capacity) -> None:
    assert trace(Centre, capacity, jobs) == trace(simpy.PriorityResource, capacity, jobs)


def test_a_busy_centre_serves_lower_priority_values_first_then_in_arrival_order() -> None:
    jobs = [(0.0, 1, 5.0, None), (0.0, 1, 1.0, None), (1.0, 0, 1.0, None), (0.0, 1, 1.0, None)]
    log, _ = trace(Centre, 1, jobs)
    assert [k for _, k, what in log if what == "granted"] == [0, 2, 1, 3]
