"""The invariants of a cluster run, checked over the order store afterwards.

* no event accepted from a stale epoch: per camera, the accepted deliveries in commit
  order carry epochs that never go down, and none carries an epoch older than one
  granted (a claim in the owners bucket) before the delivery was committed;
* no duplicate effects: one delivery row per message id, one stored event per event id,
  every stored start attached to exactly one order;
* no camera unowned longer than the stated bound (measured by the test while it polls);
* against the synthetic worlds' ground truth (:func:`check_truth`): every episode inside
  a camera's run gave exactly one order; those crossing a move are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from gridsight.core.config.camera import CameraConfig
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import deliveries, events, transitions


@dataclass
class RunCheck:
    accepted: int = 0
    stale: int = 0
    stale_accepted: list[str] = field(default_factory=list)
    unattached: int = 0

    def assert_clean(self) -> None:
        assert not self.stale_accepted, f"events accepted from stale epochs: {self.stale_accepted}"
        assert self.unattached == 0, f"{self.unattached} stored starts belong to no order"


def check_store(
    store: OrderStore, grants: dict[str, list[tuple[int, float]]] | None = None
) -> RunCheck:
    """Check the store of a run. ``grants``: per camera, (epoch, server time granted)."""
    out = RunCheck()
    with store.read() as conn:
        rows = conn.execute(
            sa.select(deliveries).order_by(deliveries.c.camera, deliveries.c.at)
        ).all()
        out.unattached = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.order_id.is_(None))
            ).scalar()
            or 0
        )
    newest: dict[str, int] = {}
    for r in rows:
        if r.outcome == "stale":
            out.stale += 1
            continue
        out.accepted += 1
        if r.epoch < newest.get(r.camera, 0):
            out.stale_accepted.append(f"{r.id} epoch {r.epoch} < {newest[r.camera]}")
        newest[r.camera] = max(newest.get(r.camera, 0), r.epoch)
        for epoch, granted_at in (grants or {}).get(r.camera, []):
            if r.epoch < epoch and r.at > granted_at + 0.5:
                out.stale_accepted.append(
                    f"{r.id} epoch {r.epoch} accepted {r.at - granted_at:.1f} s after epoch "
                    f"{epoch} was granted"
                )
    return out


# -- the world's ground truth --------------------------------------------------------------

#: Tolerance either side of an episode when matching an alert to it (as the demo scores).
SLACK_S = 2.0
#: Uncertainty of a run's stream length as the test measures it (status polls, ticks).
RUN_MARGIN_S = 5.0
#: How long after an episode's truth start its alert may come beyond the rule's own
#: confirmation: the detector sees a person reach the water's edge later than the world
#: says the episode began (11.7 s for seed 101's first episode).
ONSET_S = 15.0


@dataclass(frozen=True)
class CameraRun:
    """One camera on one node under one epoch: its world ran from stream time 0 for
    about ``seconds`` (a synthetic source starts from 0 on every node that opens it)."""

    camera: str
    epoch: int
    node: str
    seconds: float
    moved: bool  # a later run of the camera followed it (its node died, or a move)


@dataclass
class TruthCheck:
    expected: list[str] = field(default_factory=list)  # "camera@epoch hazard start-end"
    missed: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)  # an episode with several orders
    overlapping: list[str] = field(default_factory=list)  # crossing a move: reported only
    false_alarms: list[str] = field(default_factory=list)  # reported only

    def assert_clean(self) -> None:
        assert self.expected, "no episode could be checked: the run was too short"
        assert not self.missed, f"episodes without an order: {self.missed}"
        assert not self.doubled, f"episodes with more than one order: {self.doubled}"

    def report(self) -> str:
        return (
            f"{len(self.expected)} episodes checked ({len(self.missed)} missed, "
            f"{len(self.doubled)} with several orders); {len(self.overlapping)} crossing a "
            f"move or the end of a run: {self.overlapping}; false alarms: {self.false_alarms}"
        )


def _need_s(camera: CameraConfig, rules: dict[str, type]) -> dict[str, float]:
    need = {}
    for hazard, raw in camera.hazards.items():
        settings = rules[hazard].Settings.model_validate(dict(raw or {}))  # type: ignore[attr-defined]
        need[hazard] = float(settings.confirm_s) + float(getattr(settings, "dwell_s", 0.0))
    return need


def check_truth(
    store: OrderStore, cameras: dict[str, CameraConfig], runs: list[CameraRun], rules: dict
) -> TruthCheck:
    """Every ground-truth episode inside a run gave exactly one order.

    For each run, the world's episodes (``gridsight world truth``: the same
    :func:`~gridsight.evaluation.synthetic.synthetic_truth`) that a rule could alert
    before the run ended (:func:`~gridsight.evaluation.scoring.scorable_episodes`, less
    :data:`RUN_MARGIN_S` and :data:`ONSET_S`) must have start events delivered under
    the run's epoch, all attached to one order. Episodes that cross the end of a run,
    and the episodes of a run after a move that begin within what an earlier run of the
    camera saw, are counted and reported, not checked: the new node replays the world
    from stream time 0, so its episodes repeat ones already seen (under event ids of its
    own engine run; their starts attach to the order still open or open another).
    """
    from gridsight.evaluation.scoring import scorable_episodes
    from gridsight.evaluation.synthetic import synthetic_truth

    with store.read() as conn:
        starts = conn.execute(
            sa.select(
                events.c.id, events.c.camera, events.c.started_ts, events.c.order_id,
                deliveries.c.epoch,
            )
            .select_from(events.join(
                deliveries, deliveries.c.id.like(events.c.id + "/start/%")
            ))
            .where(deliveries.c.outcome == "accepted")
        ).all()  # fmt: skip
    out = TruthCheck()
    for run in runs:
        cam = cameras[run.camera]
        spans, _ = synthetic_truth(cam, run.seconds + RUN_MARGIN_S)
        real = [s for s in spans if not s.near_miss]
        scored, _ = scorable_episodes(
            real, _need_s(cam, rules), run.seconds - RUN_MARGIN_S - ONSET_S, SLACK_S
        )
        mine = [s for s in starts if s.camera == run.camera and s.epoch == run.epoch]
        # The world replays from 0: what an earlier run of the camera saw comes again.
        seen_s = max((r.seconds for r in runs if r.camera == run.camera and r.epoch < run.epoch),
                     default=None)  # fmt: skip
        for span in real:
            label = f"{run.camera}@{run.epoch} {span.hazard} {span.start:.0f}-{span.end:.0f} s"
            inside = [s for s in mine if span.start - SLACK_S <= s.started_ts <= span.end + SLACK_S]
            orders = {s.order_id for s in inside}
            replay = seen_s is not None and span.start <= seen_s + RUN_MARGIN_S
            if replay or span not in scored:
                out.overlapping.append(f"{label}: {len(orders)} order(s)")
                continue
            out.expected.append(label)
            if not inside or None in orders:
                out.missed.append(label)
            elif len(orders) > 1:
                found = [f"{s.id} -> {s.order_id}" for s in inside]
                out.doubled.append(f"{label}: {found}")
        for s in mine:
            if not any(x.start - SLACK_S <= s.started_ts <= x.end + SLACK_S for x in real):
                out.false_alarms.append(f"{s.id} ({run.camera}@{run.epoch})")
    return out


def event_trail(store: OrderStore, camera: str) -> str:
    """A camera's stored events and their orders' transitions, for a failure message."""
    with store.read() as conn:
        evs = conn.execute(
            sa.select(events.c.id, events.c.started_ts, events.c.ended_at, events.c.order_id)
            .where(events.c.camera == camera)
            .order_by(events.c.started_at)
        ).all()
        orders = {e.order_id for e in evs if e.order_id}
        trail = conn.execute(sa.select(transitions).where(transitions.c.order_id.in_(orders))).all()
    lines = [f"event {e.id} ts {e.started_ts:.1f} ended {e.ended_at} -> {e.order_id}" for e in evs]
    lines += [str(dict(t._mapping)) for t in trail]
    return "\n".join(lines)
