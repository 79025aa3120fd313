"""Scoring events against truth episodes: recall, precision, duplicates, near misses, onset."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridsight.core.errors import DataError
from gridsight.core.events import HazardEvent
from gridsight.evaluation.scoring import (
    Span,
    episode_spans,
    event_spans,
    format_scores,
    scorable_episodes,
    score_events,
)


def _ev(eid: str, phase: str, ts: float, camera: str = "c1", hazard: str = "ebike") -> HazardEvent:
    return HazardEvent(
        eid,
        camera,
        hazard,
        phase,
        ts,
        "2026-01-01T06:00:00+08:00",
        "v",
        "g",
        0.9,  # type: ignore[arg-type]
    )


def test_event_spans_pair_start_and_end() -> None:
    evs = [
        _ev("a", "start", 10),
        _ev("b", "start", 12, hazard="vending"),
        _ev("a", "update", 15),
        _ev("a", "end", 20),
    ]
    spans = event_spans(evs, stream_end=60)
    assert spans == [
        Span("c1", "ebike", 10, 20, "a"),
        Span("c1", "vending", 12, 60, "b"),  # never ended: runs to the end of the stream
    ]
    assert event_spans([e.to_dict() for e in evs], stream_end=60) == spans  # contract dicts
    with pytest.raises(DataError, match="without a start"):
        event_spans([_ev("z", "end", 3)])
    with pytest.raises(DataError, match="event 0: grid: field required"):
        event_spans([{"id": "a", "phase": "start", "ts": 1, "camera": "c", "hazard": "h"} | {
            "wall_time": "2026-01-01T00:00:00", "village": "v", "confidence": 1,
            "boxes": [], "track_ids": [], "snapshot": None}])  # fmt: skip


def test_scorable_episodes_leave_out_late_and_short_ones_but_keep_near_misses() -> None:
    spans = [
        Span("c1", "fire_lane", 40, 360),  # 40 + 300 + 2 < 360: alertable
        Span("c1", "fire_lane", 70, 360),  # 70 + 300 + 2 > 360: too late
        Span("c1", "fire_lane", 300, 330, "parked_beside_lane", near_miss=True),
        Span("c1", "ebike", 350, 360),  # no dwell known: only the slack
        Span("c1", "vending", 41.5, 139.5),  # outside the allowed hours for 98 s only
        Span("c1", "vending", 200, 330),  # 130 s: outlasts the 120 s dwell
    ]
    need = {"fire_lane": 300.0, "vending": 120.0}
    scored, late = scorable_episodes(spans, need, 360.0, 2.0)
    assert scored == [spans[0], spans[2], spans[3], spans[5]]
    assert late == [spans[1], spans[4]]


def test_alert_of_an_unscored_late_episode_is_neither_true_nor_false() -> None:
    # A person reaches the water 3 s before the run ends while another stands on the
    # path: the rule's alert at the last frame belongs to the late episode, which is
    # not scored, so it must not count as a near-miss alert either.
    near = Span("c1", "near_water", 320, 360, "stand_on_path", near_miss=True)
    late = Span("c1", "near_water", 356.7, 360)
    early = Span("c1", "near_water", 30, 56)
    evs = [Span("c1", "near_water", 36, 65, "a"), Span("c1", "near_water", 359.5, 359.5, "b")]
    s = score_events(evs, [early, near], slack_s=2.0, unscored=[late])["near_water"]
    assert (s.events, s.true_events, s.near_miss_alerts, s.unscored_events) == (1, 1, 0, 1)
    assert s.precision == 1.0
    # Without the late episode the same alert is one on the near miss only.
    s = score_events(evs, [early, near], slack_s=2.0)["near_water"]
    assert (s.events, s.near_miss_alerts, s.precision) == (2, 1, 0.5)


def test_perfect_detection_with_onset_delay() -> None:
    eps = episode_spans("c1", [{"hazard": "ebike", "start": 10, "end": 30}])
    evs = [Span("c1", "ebike", 13, 33, "a")]
    s = score_events(evs, eps)["ebike"]
    assert (s.recall, s.precision) == (1.0, 1.0)
    assert s.onset_delays == [3.0]


def test_miss_false_alarm_duplicate_and_near_miss() -> None:
    eps = episode_spans(
        "c1",
        [
            {"hazard": "ebike", "start": 10, "end": 30},
            {"hazard": "ebike", "start": 100, "end": 120},  # missed
            {"hazard": "ebike", "start": 200, "end": 210, "near_miss": True},
        ],
    )
    evs = [
        Span("c1", "ebike", 12, 18, "a"),
        Span("c1", "ebike", 22, 31, "b"),  # the same episode again: duplicate
        Span("c1", "ebike", 50, 55, "c"),  # nothing there: false alarm
        Span("c1", "ebike", 203, 206, "d"),  # alerted on a near miss
        Span("c2", "ebike", 12, 18, "e"),  # other camera: false alarm
    ]
    s = score_events(evs, eps, hazards=["vending"])
    e = s["ebike"]
    assert (e.episodes, e.detected, e.events, e.true_events) == (2, 1, 5, 1)
    assert (e.duplicates, e.false_alarms, e.near_miss_alerts, e.near_misses) == (1, 2, 1, 1)
    assert e.recall == 0.5 and e.precision == 0.2
    assert s["vending"].recall == 1.0 and math.isnan(s["vending"].delay_mean)
    table = format_scores(s)
    assert "ebike" in table and "vending" in table and "1/1" in table


def test_one_event_covering_two_episodes_detects_both_once() -> None:
    eps = episode_spans(
        "c1",
        [
            {"hazard": "near_water", "start": 0, "end": 10},
            {"hazard": "near_water", "start": 12, "end": 20},
        ],
    )
    s = score_events([Span("c1", "near_water", 2, 22, "a")], eps)["near_water"]
    assert (s.detected, s.true_events, s.precision) == (2, 1, 1.0)
    assert s.onset_delays == [2.0]  # the second episode began under an open event: no onset


spans = st.lists(
    st.tuples(st.floats(0, 500), st.floats(0, 60)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=12,
)


@given(spans, spans)
def test_counts_are_conserved(evs: list, eps: list) -> None:
    ev = [Span("c", "fire_lane", a, b, str(i)) for i, (a, b) in enumerate(evs)]
    ep = [Span("c", "fire_lane", a, b) for a, b in eps]
    s = score_events(ev, ep).get("fire_lane")
    if s is None:
        assert not ev and not ep
        return
    assert s.true_events + s.duplicates + s.false_alarms + s.near_miss_alerts == s.events
    assert 0 <= s.detected <= s.episodes and s.true_events <= s.detected
    assert 0.0 <= s.recall <= 1.0 and 0.0 <= s.precision <= 1.0
    assert all(d >= -1.0 for d in s.onset_delays)


def test_world_truth_matches_synthetic_truth_of_the_camera() -> None:
    from gridsight.core.config.camera import CameraConfig
    from gridsight.evaluation.synthetic import synthetic_truth, world_truth

    uri = "synthetic://street?seed=900003&fps=1&w=640&h=360"
    cam = CameraConfig.model_validate(
        {
            "id": "s1",
            "name": "street",
            "village": "v",
            "grid": "g",
            "source": uri,
            "resolution": [640, 360],
            "hazards": {"vending": {}},
        }
    )
    assert world_truth("s1", uri, 360.0) == synthetic_truth(cam, 360.0)
