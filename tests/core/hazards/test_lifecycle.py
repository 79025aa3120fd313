"""Tests of the hazard event lifecycle (confirmation, gaps, updates, end, cooldown)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gridsight.core.events import HazardEvent
from gridsight.core.hazards.lifecycle import HazardLifecycle, LifecycleSettings, State
from gridsight.core.hazards.rule import Observation

FPS = 5.0


class FakeClock:
    """A wall clock that advances one second per reading."""

    def __init__(self) -> None:
        self.t = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


def obs(active: bool, conf: float = 0.8, tids: Iterable[int] = (1,)) -> Observation:
    if not active:
        return Observation.inactive()
    return Observation(
        active=True,
        confidence=conf,
        boxes=np.array([[10, 20, 30, 40]], np.float32),
        track_ids=tuple(tids),
        detail={"people": np.int64(1)},
    )


def make(**kw: float | None) -> HazardLifecycle:
    return HazardLifecycle(
        "cam-1", "near_water", LifecycleSettings(**kw), village="v", grid="g", clock=FakeClock()
    )


def feed(lc: HazardLifecycle, frames: Iterable[tuple[float, Observation]]) -> list[HazardEvent]:
    out: list[HazardEvent] = []
    for ts, o in frames:
        out.extend(lc.step(ts, o))
    return out


def frames(t0: float, t1: float, active: bool, **kw: object) -> list[tuple[float, Observation]]:
    """Frames at FPS in [t0, t1)."""
    n = round((t1 - t0) * FPS)
    return [(round(t0 + i / FPS, 6), obs(active, **kw)) for i in range(n)]  # type: ignore[arg-type]


def check_well_formed(events: list[HazardEvent]) -> None:
    """start (update)* end, ids shared within an occurrence and unique across them."""
    open_id: str | None = None
    seen: set[str] = set()
    last_ts = -np.inf
    for e in events:
        assert e.ts >= last_ts
        last_ts = e.ts
        if e.phase == "start":
            assert open_id is None
            assert e.id not in seen
            open_id = e.id
            seen.add(e.id)
        else:
            assert open_id == e.id
            if e.phase == "end":
                open_id = None


def test_confirmation_then_start_with_stable_id() -> None:
    lc = make(confirm_s=2.0, max_gap_s=1.0, end_after_s=3.0)
    events = feed(lc, frames(0, 5, True, conf=0.7))
    assert [e.phase for e in events] == ["start"]
    start = events[0]
    assert start.ts == pytest.approx(2.0)
    assert start.id == "cam-1:near_water:2000:1"
    assert (start.camera, start.hazard, start.village, start.grid) == (
        "cam-1",
        "near_water",
        "v",
        "g",
    )
    assert start.confidence == pytest.approx(0.7)
    assert start.boxes == ((10.0, 20.0, 30.0, 40.0),)
    assert start.track_ids == (1,)
    assert start.extra["first_seen_ts"] == 0.0
    assert start.extra["people"] == 1 and type(start.extra["people"]) is int
    assert start.wall_time == "2025-03-01T08:00:01.000+00:00"
    assert lc.event_id == start.id


def test_blip_shorter_than_confirmation_gives_nothing() -> None:
    lc = make(confirm_s=2.0, max_gap_s=0.5, end_after_s=3.0)
    events = feed(lc, frames(0, 1.6, True) + frames(1.6, 10, False) + frames(10, 11, True))
    events += lc.flush()
    assert events == []


def test_gap_within_tolerance_does_not_reset_confirmation() -> None:
    lc = make(confirm_s=2.0, max_gap_s=1.0, end_after_s=3.0)
    stream = frames(0, 1.0, True) + frames(1.0, 1.8, False) + frames(1.8, 4, True)
    events = feed(lc, stream)
    assert [e.phase for e in events] == ["start"]
    assert events[0].ts == pytest.approx(2.0)  # counted from t=0, the gap did not reset it


def test_gap_beyond_tolerance_restarts_confirmation() -> None:
    lc = make(confirm_s=2.0, max_gap_s=1.0, end_after_s=3.0)
    stream = frames(0, 1.0, True) + frames(1.0, 2.4, False) + frames(2.4, 6, True)
    events = feed(lc, stream)
    assert [e.phase for e in events] == ["start"]
    assert events[0].ts == pytest.approx(4.4)
    assert events[0].extra["first_seen_ts"] == pytest.approx(2.4)


def test_end_after_absence_carries_start_id() -> None:
    lc = make(confirm_s=0.0, max_gap_s=1.0, end_after_s=3.0, update_every_s=None)
    events = feed(lc, frames(0, 10, True) + frames(10, 20, False))
    assert [e.phase for e in events] == ["start", "end"]
    start, end = events
    assert start.ts == 0.0
    assert end.id == start.id
    # Last active frame at 9.8; the first frame more than 3 s later is 13.0.
    assert end.ts == pytest.approx(13.0)
    assert end.extra["reason"] == "cleared"
    assert end.extra["last_seen_ts"] == pytest.approx(9.8)
    assert end.extra["duration_s"] == pytest.approx(9.8)
    assert lc.state is State.IDLE and lc.event_id is None


def test_periodic_updates() -> None:
    lc = make(confirm_s=0.0, end_after_s=2.0, update_every_s=10.0)
    events = feed(lc, frames(0, 35, True))
    assert [e.phase for e in events] == ["start", "update", "update", "update"]
    assert [e.ts for e in events] == pytest.approx([0.0, 10.0, 20.0, 30.0])
    assert {e.id for e in events} == {events[0].id}
    assert all(e.extra["reason"] == "periodic" for e in events[1:])


def test_updates_off() -> None:
    lc = make(confirm_s=0.0, end_after_s=2.0, update_every_s=None)
    assert [e.phase for e in feed(lc, frames(0, 100, True))] == ["start"]
    lc = make(confirm_s=0.0, end_after_s=2.0, update_every_s=0)
    assert [e.phase for e in feed(lc, frames(0, 100, True))] == ["start"]


def test_track_id_switches_keep_one_event() -> None:
    lc = make(confirm_s=1.0, end_after_s=3.0, update_every_s=None)
    stream: list[tuple[float, Observation]] = []
    for k in range(10):  # the tracker gives the same object a new id every 3 s
        stream += frames(3 * k, 3 * k + 3, True, tids=(100 + k,))
    events = feed(lc, stream + frames(30, 40, False))
    assert [e.phase for e in events].count("start") == 1
    assert [e.phase for e in events].count("end") == 1
    assert {e.id for e in events} == {events[0].id}
    updates = [e for e in events if e.phase == "update"]
    assert len(updates) == 9 and all(u.extra["reason"] == "new_tracks" for u in updates)
    assert events[-1].track_ids == tuple(range(100, 110))
    check_well_formed(events)


def test_known_tracks_coming_back_are_not_news() -> None:
    lc = make(confirm_s=0.0, end_after_s=3.0, update_every_s=None)
    stream = frames(0, 2, True, tids=(1, 2)) + frames(2, 4, True, tids=(1,))
    stream += frames(4, 6, True, tids=(2, 1)) + frames(6, 8, True, tids=(3,))
    events = feed(lc, stream)
    assert [e.phase for e in events] == ["start", "update"]
    assert events[1].track_ids == (3,)


def test_cooldown_suppresses_a_new_start() -> None:
    lc = make(confirm_s=1.0, max_gap_s=0.5, end_after_s=2.0, cooldown_s=20.0, update_every_s=None)
    # Start at 1.0; last seen 4.8; the first frame more than 2 s later is 7.0: the end.
    stream = frames(0, 5, True) + frames(5, 8, False)
    stream += frames(8, 40, True)  # back at once: held until the cooldown (27.0) expires
    events = feed(lc, stream)
    assert [e.phase for e in events] == ["start", "end", "start"]
    assert events[1].ts == pytest.approx(7.0)
    assert events[2].ts == pytest.approx(27.0)
    assert events[2].id.endswith(":2") and events[2].id != events[0].id
    check_well_formed(events)


def test_confirmation_still_needed_after_cooldown() -> None:
    lc = make(confirm_s=3.0, max_gap_s=0.5, end_after_s=2.0, cooldown_s=5.0, update_every_s=None)
    stream = frames(0, 4, True) + frames(4, 30, False) + frames(30, 40, True)
    events = feed(lc, stream)
    assert [e.phase for e in events] == ["start", "end", "start"]
    assert events[2].ts == pytest.approx(33.0)


def test_flush_ends_open_event_only() -> None:
    lc = make(confirm_s=0.0, end_after_s=3.0)
    feed(lc, frames(0, 5, True))
    (end,) = lc.flush(6.0)
    assert end.phase == "end" and end.ts == 6.0 and end.extra["reason"] == "end_of_stream"
    assert lc.flush() == []
    lc = make(confirm_s=5.0)
    feed(lc, frames(0, 2, True))
    assert lc.flush() == []
    assert lc.state is State.IDLE
    lc = make(confirm_s=0.0)
    feed(lc, frames(0, 1, True))
    assert lc.flush()[0].ts == pytest.approx(0.8)  # defaults to the last frame's time


def test_no_frames_for_longer_than_end_after_ends_the_event() -> None:
    lc = make(confirm_s=0.0, max_gap_s=1.0, end_after_s=3.0, cooldown_s=0.0)
    events = feed(lc, frames(0, 2, True) + frames(20, 22, True))
    assert [e.phase for e in events] == ["start", "end", "start"]
    assert events[1].ts == 20.0 and events[2].ts == 20.0
    assert events[2].extra["first_seen_ts"] == 20.0


def test_confidence_is_the_best_seen() -> None:
    lc = make(confirm_s=1.0, end_after_s=1.0, update_every_s=None)
    stream = [(0.0, obs(True, 0.5)), (0.5, obs(True, 0.9)), (1.0, obs(True, 0.6))]
    stream += [(2.5, obs(False))]
    events = feed(lc, stream)
    assert [e.confidence for e in events] == pytest.approx([0.9, 0.9])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"end_after_s": 1.0, "max_gap_s": 2.0},
        {"confirm_s": -1},
        {"cooldown_s": -0.1},
        {"unknown": 1},
    ],
)
def test_settings_validation(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        LifecycleSettings(**kwargs)


# ---------------------------------------------------------------------------- properties
@settings(max_examples=200, deadline=None)
@given(
    start=st.floats(0, 20),
    length=st.floats(0, 120),
    confirm=st.floats(0, 5),
    max_gap=st.floats(0.2, 3),
    extra_end=st.floats(0, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_one_continuous_hazard_gives_one_start_and_one_end(
    start: float,
    length: float,
    confirm: float,
    max_gap: float,
    extra_end: float,
    seed: int,
) -> None:
    """Whatever frames are dropped (or show no detection), as long as no gap in the
    condition exceeds the tolerance, one hazard is one start and one end."""
    end_after = max_gap + extra_end
    # Long enough that some active frame comes at least confirm_s after the first one.
    hazard_end = start + confirm + length + 2.5 / FPS
    rng = np.random.default_rng(seed)
    times = np.arange(0, hazard_end + end_after + 5, 1 / FPS)
    in_hazard = (times >= start) & (times < hazard_end)
    keep = rng.random(times.size) < rng.uniform(0.1, 1.0)
    # Force a kept active frame at least every max_gap seconds inside the hazard.
    hazard_idx = np.flatnonzero(in_hazard)
    last = -np.inf
    for i in hazard_idx:
        if keep[i]:
            last = times[i]
        elif times[i] - last > max_gap - 1 / FPS or i == hazard_idx[0] or i == hazard_idx[-1]:
            keep[i] = True
            last = times[i]
    lc = HazardLifecycle(
        "c",
        "h",
        LifecycleSettings(
            confirm_s=confirm, max_gap_s=max_gap, end_after_s=end_after, update_every_s=7.0
        ),
        clock=FakeClock(),
    )
    events: list[HazardEvent] = []
    for t, active in zip(times[keep], in_hazard[keep], strict=True):
        events.extend(lc.step(float(t), obs(bool(active))))
    events.extend(lc.flush(float(times[-1])))
    phases = [e.phase for e in events]
    assert phases.count("start") == 1
    assert phases.count("end") == 1
    assert phases[0] == "start" and phases[-1] == "end"
    assert len({e.id for e in events}) == 1
    first_active = times[hazard_idx[0]]
    assert events[0].ts >= first_active + confirm - 1e-5  # the lifecycle allows 1e-6 slack
    check_well_formed(events)


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(0, 400),
    confirm=st.floats(0, 5),
    max_gap=st.floats(0, 3),
    extra_end=st.floats(0, 10),
    cooldown=st.floats(0, 30),
)
def test_no_hazard_no_event(
    n: int, confirm: float, max_gap: float, extra_end: float, cooldown: float
) -> None:
    lc = HazardLifecycle(
        "c",
        "h",
        LifecycleSettings(
            confirm_s=confirm,
            max_gap_s=max_gap,
            end_after_s=max_gap + extra_end,
            cooldown_s=cooldown,
        ),
    )
    events = [e for i in range(n) for e in lc.step(i / FPS, obs(False))]
    assert events == [] and lc.flush() == []


@settings(max_examples=150, deadline=None)
@given(
    pattern=st.lists(st.tuples(st.booleans(), st.floats(0.05, 20)), max_size=30),
    confirm=st.floats(0, 5),
    max_gap=st.floats(0, 3),
    extra_end=st.floats(0, 10),
    cooldown=st.floats(0, 30),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_stream_gives_well_formed_events(
    pattern: list[tuple[bool, float]],
    confirm: float,
    max_gap: float,
    extra_end: float,
    cooldown: float,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    lc = HazardLifecycle(
        "c",
        "h",
        LifecycleSettings(
            confirm_s=confirm,
            max_gap_s=max_gap,
            end_after_s=max_gap + extra_end,
            cooldown_s=cooldown,
            update_every_s=5.0,
        ),
    )
    t = 0.0
    events: list[HazardEvent] = []
    for active, dur in pattern:
        stop = t + dur
        while t < stop:
            if rng.random() < 0.8:  # 20 % of frames dropped
                tids = tuple(rng.integers(1, 5, rng.integers(1, 3)).tolist())
                events.extend(lc.step(t, obs(active, tids=tids)))
            t += 1 / FPS
    events.extend(lc.flush(t))
    check_well_formed(events)
    if events:
        assert events[-1].phase == "end"
    # Starts are at least the cooldown apart from the previous end.
    ends = [e.ts for e in events if e.phase == "end"]
    starts = [e.ts for e in events if e.phase == "start"]
    for prev_end, nxt in zip(ends, starts[1:], strict=False):
        assert nxt >= prev_end + cooldown - 1e-5
