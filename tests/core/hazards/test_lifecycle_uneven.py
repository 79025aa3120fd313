"""The hazard lifecycle on unevenly spaced frames (motion gating): gaps are stream time."""

from __future__ import annotations

from gridsight.core.hazards.lifecycle import HazardLifecycle, LifecycleSettings
from gridsight.core.hazards.rule import Observation

ON = Observation(True, 0.9, track_ids=(1,))
OFF = Observation.inactive()


def _events(times: list[float], active: bool = True, **settings: float):  # type: ignore[no-untyped-def]
    lc = HazardLifecycle("cam", "near_water", LifecycleSettings(**settings))
    out = []
    for t in times:
        out += [(e.phase, round(e.ts, 3)) for e in lc.step(t, ON if active else OFF)]
    return lc, out


def test_keepalive_within_max_gap_confirms_at_the_same_time_as_every_frame() -> None:
    dense = [0.2 * k for k in range(30)]
    gated = [0.0, 0.2, 0.4] + [0.4 + 0.8 * k for k in range(1, 8)]  # 0.8 s apart
    _, a = _events(dense, confirm_s=3.0, max_gap_s=1.0, update_every_s=0)
    _, b = _events(gated, confirm_s=3.0, max_gap_s=1.0, update_every_s=0)
    assert a == [("start", 3.0)]
    # The first gated frame at or after 3 s of confirmation: 3.6 (0.6 s later at most).
    assert b == [("start", 3.6)]


def test_a_gap_longer_than_max_gap_restarts_the_confirmation() -> None:
    # A 2 s keep-alive with max_gap_s = 1 would never confirm a 3 s hazard.
    _, ev = _events([2.0 * k for k in range(10)], confirm_s=3.0, max_gap_s=1.0)
    assert ev == []
    # With max_gap_s = 20 (fire lane, vending) the same spacing confirms.
    _, ev = _events([2.0 * k for k in range(10)], confirm_s=3.0, max_gap_s=20.0, end_after_s=60)
    assert ev[0] == ("start", 4.0)


def test_open_event_ends_by_stream_time_not_by_frame_count() -> None:
    lc = HazardLifecycle(
        "cam", "fire_lane", LifecycleSettings(confirm_s=0.0, max_gap_s=5, end_after_s=10)
    )
    assert [e.phase for e in lc.step(0.0, ON)] == ["start"]
    # Still scene: a keep-alive frame every 2 s still sees the car; then it drives off
    # (motion: every 0.2 s) and the event ends once 10 s have passed without it.
    for t in (2.0, 4.0, 6.0):
        assert [e.phase for e in lc.step(t, ON) if e.phase == "end"] == []
    ends = []
    t = 6.2
    while not ends and t < 30:
        ends = [e for e in lc.step(round(t, 3), OFF) if e.phase == "end"]
        t += 0.2
    assert ends and ends[0].ts > 16.0 and ends[0].ts <= 16.2 + 1e-9
    assert ends[0].extra["last_seen_ts"] == 6.0
