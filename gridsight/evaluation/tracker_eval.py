"""Measuring the tracker on synthetic ground truth (MOTA, IDF1, ID switches).

Ground truth comes from either the synthetic camera world (``gridsight.simulator``: its
per-frame boxes, roles and track ids) or a denser generator of moving boxes written
here, which stresses association harder than the world's quiet scenes (a dozen or more
objects crossing at 5 fps). Detections are made from the truth the way a detector
errs: jittered boxes, missed objects, false positives, scores spread over the low/high
split that ByteTrack relies on. The tracker's output is scored with ``motmetrics``
(the ``eval`` extra) at IoU >= 0.5.

Run it::

    python -m gridsight.evaluation.tracker_eval            # generator + the four world scenes
    python -m gridsight.evaluation.tracker_eval --no-world --seeds 5 --compare
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.geometry import box_iou
from gridsight.core.detection.roles import Role
from gridsight.core.errors import DataError
from gridsight.core.tracking.bytetrack import ByteTracker, TrackerSettings

# (min w, max w, min h, max h, min speed, max speed) in pixels and pixels per frame at
# 5 fps in a 640x360 view: people walk, e-bikes and cars go faster.
_KINDS: dict[int, tuple[float, float, float, float, float, float]] = {
    int(Role.PERSON): (18, 40, 45, 100, 3, 14),
    int(Role.EBIKE): (40, 70, 35, 65, 8, 24),
    int(Role.CAR): (90, 160, 50, 90, 8, 30),
}


@dataclass(frozen=True, slots=True)
class TruthFrame:
    """Ground truth of one frame: ``boxes (n, 4)`` xyxy, ``classes (n,)``, ``ids (n,)``."""

    boxes: np.ndarray
    classes: np.ndarray
    ids: np.ndarray
    ts: float


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """How synthetic detections deviate from the truth.

    Attributes:
        jitter: std of each box edge as a fraction of the box's width/height.
        miss_rate: chance that a true object is not detected in a frame.
        fp_per_frame: mean number of false positives per frame (Poisson).
        low_score_rate: share of true detections scored below the high threshold.
    """

    jitter: float = 0.05
    miss_rate: float = 0.1
    fp_per_frame: float = 0.5
    low_score_rate: float = 0.2


@dataclass(frozen=True, slots=True)
class TrackingScore:
    """CLEAR-MOT and identity scores of one or more sequences."""

    mota: float
    idf1: float
    id_switches: int
    false_positives: int
    misses: int
    gt_boxes: int
    frames: int
    extra: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------- ground truth
def moving_boxes(
    seed: int,
    n_frames: int = 300,
    *,
    fps: float = 5.0,
    size: tuple[int, int] = (640, 360),
    arrivals_per_frame: float = 0.6,
) -> list[TruthFrame]:
    """Objects entering from the sides, moving at near-constant velocity, leaving.

    Speeds, sizes and classes are drawn per object; velocity turns a little each frame.
    About ``arrivals_per_frame * crossing time`` objects are in view at once (12-20 with
    the defaults).
    """
    rng = np.random.default_rng(seed)
    width, height = size
    kinds = list(_KINDS)
    # Per object: class, w, h, x, y, vx, vy, id
    objs: list[list[float]] = []
    next_id = 1
    frames = []
    for f in range(n_frames):
        for _ in range(rng.poisson(arrivals_per_frame)):
            kind = kinds[int(rng.integers(len(kinds)))]
            w0, w1, h0, h1, s0, s1 = _KINDS[kind]
            w, h = rng.uniform(w0, w1), rng.uniform(h0, h1)
            speed = rng.uniform(s0, s1)
            from_left = rng.random() < 0.5
            x = -w + 1 if from_left else width - 1
            y = rng.uniform(0, height - h)
            angle = rng.normal(0.0, 0.25)
            vx = speed * math.cos(angle) * (1 if from_left else -1)
            vy = speed * math.sin(angle)
            objs.append([kind, w, h, x, y, vx, vy, next_id])
            next_id += 1
        alive = []
        boxes, classes, ids = [], [], []
        for o in objs:
            cls, w, h, x, y, vx, vy, oid = o
            x1, y1 = max(x, 0.0), max(y, 0.0)
            x2, y2 = min(x + w, width), min(y + h, height)
            if x2 - x1 >= 4 and y2 - y1 >= 4:
                boxes.append([x1, y1, x2, y2])
                classes.append(int(cls))
                ids.append(int(oid))
            # Gentle turns: rotate the velocity a few degrees.
            turn = rng.normal(0.0, 0.05)
            c, s = math.cos(turn), math.sin(turn)
            o[5], o[6] = c * vx - s * vy, s * vx + c * vy
            o[3], o[4] = x + o[5], y + o[6]
            if -w - 5 < o[3] < width + 5 and -h - 5 < o[4] < height + 5:
                alive.append(o)
        objs = alive
        frames.append(
            TruthFrame(
                boxes=np.array(boxes, np.float64).reshape(-1, 4),
                classes=np.array(classes, np.int64),
                ids=np.array(ids, np.int64),
                ts=f / fps,
            )
        )
    return frames


def world_truth(uri: str, n_frames: int, *, min_visible: float = 0.5) -> list[TruthFrame]:
    """Per-frame truth of a synthetic camera (``synthetic://scene?seed=N&fps=F``).

    Objects less than ``min_visible`` visible are left out of the truth: no detector
    (and so no tracker) is expected to see a person hidden behind a wall.
    """
    from gridsight.simulator import open_world  # the simulator is optional here

    world = open_world(uri)
    frames = []
    for i in range(n_frames):
        t = world.truth_at(i / world.fps, i)
        keep = np.asarray(t.visible) >= min_visible
        frames.append(
            TruthFrame(
                boxes=np.asarray(t.boxes, np.float64)[keep].reshape(-1, 4),
                classes=np.asarray(t.roles, np.int64)[keep],
                ids=np.asarray(t.track_ids, np.int64)[keep],
                ts=float(t.ts),
            )
        )
    return frames


# ---------------------------------------------------------------------- detections
def detections_from_truth(
    truth: Sequence[TruthFrame],
    noise: NoiseModel,
    seed: int,
    *,
    size: tuple[int, int] = (640, 360),
    high_thresh: float = 0.5,
) -> list[Detections]:
    """A detector's view of ``truth``: jittered, with misses and false positives."""
    rng = np.random.default_rng(seed)
    width, height = size
    out = []
    for frame in truth:
        n = frame.boxes.shape[0]
        found = rng.random(n) >= noise.miss_rate
        boxes = frame.boxes[found].copy()
        wh = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1)
        boxes += rng.normal(0.0, noise.jitter, boxes.shape) * wh
        low = rng.random(boxes.shape[0]) < noise.low_score_rate
        conf = np.where(
            low,
            rng.uniform(0.15, high_thresh - 0.01, boxes.shape[0]),
            rng.uniform(high_thresh + 0.15, 0.97, boxes.shape[0]),
        )
        classes = frame.classes[found]
        n_fp = rng.poisson(noise.fp_per_frame)
        fw = rng.uniform(15, 120, n_fp)
        fh = rng.uniform(15, 100, n_fp)
        fx = rng.uniform(0, width - fw)
        fy = rng.uniform(0, height - fh)
        fp = np.column_stack([fx, fy, fx + fw, fy + fh]) if n_fp else np.zeros((0, 4))
        boxes = np.concatenate([boxes, fp])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1.0)
        conf = np.concatenate([conf, rng.uniform(0.1, 0.75, n_fp)])
        classes = np.concatenate([classes, rng.choice(list(_KINDS), n_fp)])
        out.append(Detections(xyxy=boxes, confidence=conf, class_id=classes))
    return out


# ---------------------------------------------------------------------- scoring
def _distances(gt: np.ndarray, hyp: np.ndarray, min_iou: float) -> np.ndarray:
    # motmetrics' own iou_matrix uses np.asfarray, gone in numpy 2: compute it here.
    iou = box_iou(gt, hyp)
    dist = 1.0 - iou
    dist[iou < min_iou] = np.nan
    return dist


def score(
    truth: Sequence[TruthFrame],
    tracked: Sequence[Detections],
    *,
    min_iou: float = 0.5,
    accumulators: list[object] | None = None,
) -> TrackingScore:
    """MOTA, IDF1 and ID switches of ``tracked`` (one Detections per frame) vs ``truth``.

    Raises:
        DataError: the sequences differ in length or a frame has no tracker ids.
    """
    try:
        import motmetrics as mm
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DataError("tracker scoring needs motmetrics: pip install 'gridsight[eval]'") from exc
    if len(truth) != len(tracked):
        raise DataError(f"truth has {len(truth)} frames but tracking has {len(tracked)}")
    acc = mm.MOTAccumulator(auto_id=True)
    for gt, hyp in zip(truth, tracked, strict=True):
        if hyp.tracker_id is None:
            raise DataError("tracked detections carry no tracker_id; run a tracker first")
        acc.update(
            gt.ids.tolist(),
            hyp.tracker_id.tolist(),
            _distances(gt.boxes, hyp.xyxy, min_iou),
        )
    if accumulators is not None:
        accumulators.append(acc)
    return _summarise([acc], len(truth))


def _summarise(accs: list[object], frames: int) -> TrackingScore:
    import motmetrics as mm

    mh = mm.metrics.create()
    names = [str(i) for i in range(len(accs))]
    metrics = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses"]
    metrics += ["num_objects", "motp", "mostly_tracked", "num_unique_objects"]
    df = mh.compute_many(accs, metrics=metrics, names=names, generate_overall=True)
    row = df.loc["OVERALL"]
    return TrackingScore(
        mota=float(row["mota"]),
        idf1=float(row["idf1"]),
        id_switches=int(row["num_switches"]),
        false_positives=int(row["num_false_positives"]),
        misses=int(row["num_misses"]),
        gt_boxes=int(row["num_objects"]),
        frames=frames,
        extra={
            "motp_1_minus_iou": float(row["motp"]),
            "mostly_tracked": float(row["mostly_tracked"]),
            "gt_tracks": float(row["num_unique_objects"]),
        },
    )


Track = Callable[[Detections, float], Detections]


def run_tracker(
    update: Track, dets: Iterable[Detections], truth: Sequence[TruthFrame]
) -> list[Detections]:
    """Feed frames to a tracker's ``update(detections, ts)`` and collect its outputs."""
    return [update(d, t.ts) for d, t in zip(dets, truth, strict=True)]


def evaluate(
    sequences: Sequence[Sequence[TruthFrame]],
    noise: NoiseModel,
    make_tracker: Callable[[], Track] | None = None,
    *,
    seed: int = 0,
) -> TrackingScore:
    """Score a tracker over several sequences (one fresh tracker each), pooled."""
    if make_tracker is None:

        def make_tracker() -> Track:
            return ByteTracker(TrackerSettings()).update

    accs: list[object] = []
    frames = 0
    for k, truth in enumerate(sequences):
        dets = detections_from_truth(truth, noise, seed + 1000 * k)
        score(truth, run_tracker(make_tracker(), dets, truth), accumulators=accs)
        frames += len(truth)
    return _summarise(accs, frames)


def supervision_bytetrack() -> Track:
    """Roboflow's ByteTrack (``trackers`` package, successor of ``supervision.ByteTrack``)
    with matching thresholds, for a side-by-side comparison.

    Raises:
        ImportError: ``trackers`` / ``supervision`` are not installed.
    """
    import supervision as sv
    from trackers import ByteTrackTracker

    # frame_rate=30 keeps its lost buffer at 30 frames, like ours.
    tracker = ByteTrackTracker(
        lost_track_buffer=30,
        frame_rate=30.0,
        track_activation_threshold=0.6,
        minimum_consecutive_frames=2,
        high_conf_det_threshold=0.5,
    )

    def update(d: Detections, ts: float) -> Detections:
        out = tracker.update(
            sv.Detections(xyxy=d.xyxy, confidence=d.confidence, class_id=d.class_id)
        )
        tid = np.asarray(out.tracker_id if out.tracker_id is not None else [], np.int64)
        return Detections(
            xyxy=np.asarray(out.xyxy, np.float32).reshape(-1, 4),
            confidence=np.asarray(out.confidence, np.float32).reshape(-1),
            class_id=np.asarray(out.class_id, np.int64).reshape(-1),
            tracker_id=tid.reshape(-1),
        )

    return update


# ---------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> None:
    """Print tracker scores on the generator and (if available) the synthetic world."""
    p = argparse.ArgumentParser(prog="python -m gridsight.evaluation.tracker_eval")
    p.add_argument("--seeds", type=int, default=3, help="generator sequences")
    p.add_argument("--frames", type=int, default=300, help="frames per sequence (5 fps)")
    p.add_argument("--no-world", action="store_true", help="skip the synthetic world scenes")
    p.add_argument("--world-seconds", type=float, default=60.0)
    p.add_argument("--compare", action="store_true", help="also score Roboflow's ByteTrack")
    args = p.parse_args(argv)
    noise = NoiseModel()
    suites: dict[str, list[list[TruthFrame]]] = {
        "generator": [moving_boxes(s, args.frames) for s in range(args.seeds)]
    }
    if not args.no_world:
        n = int(args.world_seconds * 5)
        suites["world"] = [
            world_truth(f"synthetic://{scene}?seed={101 + k}&fps=5&w=640&h=360", n)
            for k, scene in enumerate(("reservoir", "stairwell", "fire_lane", "street"))
        ]
    trackers: dict[str, Callable[[], Track] | None] = {"gridsight ByteTracker": None}
    if args.compare:
        trackers["trackers.ByteTrackTracker"] = supervision_bytetrack
    print(f"noise: {noise}")
    print(
        f"{'suite':10} {'tracker':26} {'frames':>6} {'gt':>6} {'MOTA':>7} {'IDF1':>7} "
        f"{'IDsw':>5} {'FP':>5} {'miss':>5}"
    )
    for suite, seqs in suites.items():
        for name, make in trackers.items():
            s = evaluate(seqs, noise, make)
            print(
                f"{suite:10} {name:26} {s.frames:6d} {s.gt_boxes:6d} {s.mota:7.3f} "
                f"{s.idf1:7.3f} {s.id_switches:5d} {s.false_positives:5d} {s.misses:5d}"
            )


if __name__ == "__main__":
    main()
