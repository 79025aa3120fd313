"""Scoring hazard events against ground-truth episodes (synthetic cameras, labelled video).

An *event* is the span from a ``start`` to its ``end`` (the same ``id``); an *episode* is
a truth span ``{"hazard", "start", "end"}`` of one camera. They match when camera and
hazard agree and their spans overlap, allowing ``slack_s`` seconds either side (a
detector may see a person step into a zone a frame before the truth says so).

- **Recall**: episodes covered by at least one event / episodes.
- **Precision**: events that are the first alert of some episode / events. A second
  event on an episode already alerted (a fragmented alert) is a duplicate and counts
  against precision; so does an event on no episode (a false alarm) and one on a
  *near miss* only (an episode marked ``near_miss``: someone close to the zone who never
  entered, which must not alert).
- **Onset delay**: event start minus episode start, for each episode whose first event
  started within it (an event carried over from an earlier episode has no onset).

Used by ``gridsight demo``, the tests and the accuracy benchmark.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridsight.core.errors import DataError
from gridsight.core.events import HazardEvent


@dataclass(frozen=True, slots=True)
class Span:
    """An event or episode span of one camera and hazard (seconds of stream time)."""

    camera: str
    hazard: str
    start: float
    end: float
    id: str = ""
    near_miss: bool = False


def event_spans(
    events: Iterable[HazardEvent | Mapping[str, Any]], stream_end: float | None = None
) -> list[Span]:
    """Spans of events (start .. end; an event never ended runs to ``stream_end``).

    Args:
        events: :class:`HazardEvent` objects, or their contract dicts (a JSONL line, a
            database row), which are validated by :meth:`HazardEvent.from_dict`.
        stream_end: where an event without an ``end`` stops; default its last event.

    Raises:
        DataError: a dict that breaks the alert contract, or an ``update``/``end`` whose
            id has no ``start``.
    """
    starts: dict[str, HazardEvent] = {}
    ends: dict[str, float] = {}
    last: dict[str, float] = {}
    for k, item in enumerate(events):
        ev = (
            item
            if isinstance(item, HazardEvent)
            else HazardEvent.from_dict(item, where=f"event {k}")
        )
        if ev.phase == "start":
            starts.setdefault(ev.id, ev)
        elif ev.id not in starts:
            raise DataError(f"event {ev.id!r}: {ev.phase} at t={ev.ts} without a start")
        if ev.phase == "end":
            ends[ev.id] = ev.ts
        last[ev.id] = max(last.get(ev.id, ev.ts), ev.ts)
    spans = []
    for eid, ev in starts.items():
        end = ends.get(eid, stream_end if stream_end is not None else last[eid])
        spans.append(Span(ev.camera, ev.hazard, ev.ts, max(ev.ts, end), eid))
    return sorted(spans, key=lambda s: (s.camera, s.hazard, s.start))


def episode_spans(camera: str, episodes: Iterable[Mapping[str, Any]]) -> list[Span]:
    """Spans of one camera's truth episodes ``{"hazard", "start", "end"[, "near_miss"]}``."""
    out = []
    for ep in episodes:
        near = bool(ep.get("near_miss", False)) or ep.get("kind") == "near_miss"
        out.append(
            Span(
                str(ep.get("camera", camera)),
                str(ep["hazard"]),
                float(ep["start"]),
                float(ep["end"]),
                str(ep.get("id", "")),
                near,
            )
        )
    return out


@dataclass
class HazardScore:
    """Accuracy of one hazard's events against its episodes."""

    hazard: str
    episodes: int = 0
    detected: int = 0
    events: int = 0
    true_events: int = 0
    duplicates: int = 0
    false_alarms: int = 0
    near_misses: int = 0
    near_miss_alerts: int = 0
    unscored_events: int = 0
    onset_delays: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Episodes alerted / episodes (1.0 when there were none)."""
        return self.detected / self.episodes if self.episodes else 1.0

    @property
    def precision(self) -> float:
        """First alerts of an episode / events (1.0 when nothing alerted)."""
        return self.true_events / self.events if self.events else 1.0

    @property
    def delay_mean(self) -> float:
        return float(np.mean(self.onset_delays)) if self.onset_delays else float("nan")

    @property
    def delay_max(self) -> float:
        return float(np.max(self.onset_delays)) if self.onset_delays else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "hazard": self.hazard,
            "episodes": self.episodes,
            "detected": self.detected,
            "events": self.events,
            "true_events": self.true_events,
            "duplicates": self.duplicates,
            "false_alarms": self.false_alarms,
            "near_misses": self.near_misses,
            "near_miss_alerts": self.near_miss_alerts,
            "unscored_events": self.unscored_events,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "onset_delay_mean_s": None if not self.onset_delays else round(self.delay_mean, 3),
            "onset_delay_max_s": None if not self.onset_delays else round(self.delay_max, 3),
        }


def _overlaps(a: Span, b: Span, slack_s: float) -> bool:
    return a.start <= b.end + slack_s and b.start <= a.end + slack_s


def score_events(
    events: Iterable[Span],
    episodes: Iterable[Span],
    *,
    slack_s: float = 1.0,
    hazards: Iterable[str] = (),
    unscored: Iterable[Span] = (),
) -> dict[str, HazardScore]:
    """Match event spans to episode spans per camera and hazard; score per hazard.

    Args:
        events: event spans (:func:`event_spans`).
        episodes: truth spans (:func:`episode_spans`), near misses included.
        slack_s: tolerance on either side of an episode when testing overlap.
        hazards: hazards to report even when they have neither events nor episodes.
        unscored: real episodes left out of the score (e.g. begun too late in a run for
            the rule's dwell to elapse, :func:`scorable_episodes`). An event on one of
            them and on no scored episode is its alert, neither true nor false: it is
            counted in ``unscored_events`` only, not in ``events``.

    Returns:
        ``{hazard: HazardScore}``, sorted by hazard id.
    """
    by_key_ev: dict[tuple[str, str], list[Span]] = defaultdict(list)
    by_key_ep: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for ev in events:
        by_key_ev[(ev.camera, ev.hazard)].append(ev)
    by_key_skip: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for ep in episodes:
        by_key_ep[(ep.camera, ep.hazard)].append(ep)
    for ep in unscored:
        by_key_skip[(ep.camera, ep.hazard)].append(ep)
    scores: dict[str, HazardScore] = {h: HazardScore(h) for h in hazards}
    for key in set(by_key_ev) | set(by_key_ep):
        hazard = key[1]
        score = scores.setdefault(hazard, HazardScore(hazard))
        evs = sorted(by_key_ev.get(key, []), key=lambda s: s.start)
        eps = sorted(by_key_ep.get(key, []), key=lambda s: s.start)
        real = [ep for ep in eps if not ep.near_miss]
        near = [ep for ep in eps if ep.near_miss]
        score.episodes += len(real)
        score.near_misses += len(near)
        skip = by_key_skip.get(key, [])
        claimed: set[int] = set()
        for ev in evs:
            hits = [i for i, ep in enumerate(real) if _overlaps(ev, ep, slack_s)]
            fresh = [i for i in hits if i not in claimed]
            if not hits and any(_overlaps(ev, ep, slack_s) for ep in skip):
                score.unscored_events += 1
                continue
            score.events += 1
            if fresh:
                score.true_events += 1
                for i in fresh:
                    claimed.add(i)
                    ep = real[i]
                    # Onset only where this event began inside the episode's own span.
                    if ev.start >= ep.start - slack_s:
                        score.onset_delays.append(ev.start - ep.start)
            elif hits:
                score.duplicates += 1
            elif any(_overlaps(ev, ep, slack_s) for ep in near):
                score.near_miss_alerts += 1
            else:
                score.false_alarms += 1
        score.detected += len(claimed)
    return dict(sorted(scores.items()))


def scorable_episodes(
    spans: Iterable[Span], required_s: Mapping[str, float], duration: float, slack_s: float
) -> tuple[list[Span], list[Span]]:
    """Split truth spans into those to score and real episodes no rule could alert.

    A rule alerts once its hazard has held for ``required_s`` (confirmation + dwell), so
    no engine can alert an episode that began less than that (plus ``slack_s``) before
    the end of a ``duration``-second run, nor one that lasted less than that (a stall
    set up at 05:58 is vending outside the allowed hours for two minutes only, when the
    hours begin at 06:00 and the dwell is 120 s). Near misses are always scored: they
    must not alert however short they are.

    Returns:
        ``(scored, unalertable)``.
    """
    scored: list[Span] = []
    late: list[Span] = []
    for span in spans:
        need = float(required_s.get(span.hazard, 0.0))
        too_late = span.start + need + slack_s >= duration
        # An episode cut off by the end of the run is "too late", not "too short".
        too_short = span.end < duration and span.end - span.start + slack_s < need
        if span.near_miss or not (too_late or too_short):
            scored.append(span)
        else:
            late.append(span)
    return scored, late


def format_scores(
    scores: Mapping[str, HazardScore], required_s: Mapping[str, float] | None = None
) -> str:
    """A plain-text table of per-hazard scores (what ``gridsight demo`` prints).

    Args:
        scores: per hazard.
        required_s: per hazard, the time its rule needs before it may alert (confirmation
            plus dwell); shown next to the onset delays when given.
    """
    req = required_s or {}
    head = (
        f"{'hazard':<11} {'episodes':>8} {'found':>5} {'events':>6} {'dup':>4} {'false':>5} "
        f"{'near-miss':>9} {'recall':>6} {'precision':>9} {'delay mean':>10} {'delay max':>9}"
        + (f" {'dwell':>7}" if req else "")
    )
    lines = [head, "-" * len(head)]
    for s in scores.values():
        dm = f"{s.delay_mean:.2f}s" if s.onset_delays else "-"
        dx = f"{s.delay_max:.2f}s" if s.onset_delays else "-"
        dwell = f" {f'{req[s.hazard]:g}s' if s.hazard in req else '-':>7}" if req else ""
        lines.append(
            f"{s.hazard:<11} {s.episodes:>8} {s.detected:>5} {s.events:>6} {s.duplicates:>4} "
            f"{s.false_alarms:>5} {f'{s.near_miss_alerts}/{s.near_misses}':>9} "
            f"{s.recall:>6.2f} {s.precision:>9.2f} {dm:>10} {dx:>9}{dwell}"
        )
    return "\n".join(lines)
