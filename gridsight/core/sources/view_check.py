"""Is the camera still looking at what its zones were drawn on? Moved, covered, blinded.

A camera knocked aside, taped over or dazzled keeps streaming, so nothing else in the
engine notices: its zones are wrong and its hazards go unseen, in silence. Every
``interval_s`` of stream time one frame is compared with a *reference view* (the first
usable frame, or one given with :meth:`ViewChecker.set_reference`):

- **covered**: the picture lost its detail (edge density below ``lost_edges`` of the
  reference's) and is not bright: a hand, a bag, spray paint, a lens cap, a dead sensor;
- **blinded**: it lost its detail and is washed out (mean above ``blinded_mean`` or more
  than ``blinded_saturated`` of the pixels clipped): glare, a torch, a laser, sunrise
  straight into the lens;
- **moved**: the detail is there but the background no longer lines up with the
  reference's: ORB features matched to the reference with a RANSAC homography, and the
  image corners move by more than ``moved_shift`` of the diagonal, or too few features
  match at all (the camera looks somewhere else).

A new verdict must repeat ``confirm`` checks in a row before the camera's view changes
(a bus parked in front for a few seconds is not a moved camera). Each change is a
maintenance event: a :class:`~gridsight.core.events.HazardEvent` with hazard
``camera_fault`` (start when the view leaves ``ok``, ``update`` when it changes from one
fault to another, ``end`` when it is back to ``ok``), ``extra["view"]`` the state and
``extra["reason"]`` why, so the JSONL/SQLite sinks and the work-order service carry it
like any other alert.

Limits: a scene with almost no texture (a blank wall) cannot be judged for *moved* (too
few features in the reference: the check is skipped, covered/blinded still work); the
reference is fixed, so a camera whose view changes for good (a new building) keeps being
reported until it is given a new reference.

Example:
    >>> checker = ViewChecker("cam-1")                    # doctest: +SKIP
    >>> events = checker.observe(ts, image, wall_time)   # doctest: +SKIP
    >>> checker.state                                    # doctest: +SKIP
    <ViewState.OK: 'ok'>
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np

from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent, Phase

#: The hazard id of the maintenance events (a camera to be seen to, not a street hazard).
CAMERA_FAULT = "camera_fault"


class ViewState(StrEnum):
    """What a camera's view looks like against its reference (the status ``view`` field)."""

    OK = "ok"
    MOVED = "moved"
    COVERED = "covered"
    BLINDED = "blinded"


@dataclass(frozen=True, slots=True)
class ViewCheckSettings:
    """Thresholds of the view check (defaults suit 5-25 fps street cameras).

    Attributes:
        interval_s: stream seconds between two checked frames.
        confirm: consecutive checks a new verdict needs before the view changes.
        width: frames are compared in grey, scaled to this width.
        lost_edges: covered/blinded when the edge density falls below this share of
            the reference's.
        blinded_mean: mean grey level above which a detail-less picture is blinded.
        blinded_saturated: share of clipped pixels (>= 250) that makes it blinded.
        moved_shift: moved when the homography moves the image corners by more than
            this share of the image diagonal (on average).
        min_features: the reference needs this many stable ORB features for the moved
            check (fewer: the scene has too little fixed texture to judge movement).
        min_matches: fewer good matches than this to the reference means moved...
        min_match_share: ... and so does matching fewer than this share of its features.
        learn: frames (one per check) the reference is learnt from: only features found
            in the same place in all of them are kept, so water, foliage, screens and
            passers-by do not count as background.
    """

    interval_s: float = 10.0
    confirm: int = 3
    width: int = 320
    lost_edges: float = 0.25
    blinded_mean: float = 190.0
    blinded_saturated: float = 0.4
    moved_shift: float = 0.04
    min_features: int = 60
    min_matches: int = 12
    min_match_share: float = 0.1
    learn: int = 3

    def __post_init__(self) -> None:
        if self.interval_s < 0 or self.confirm < 1 or self.width < 32 or self.learn < 1:
            raise ConfigError(
                "view check needs interval_s >= 0, confirm >= 1, learn >= 1 and width >= 32, "
                f"got interval_s={self.interval_s}, confirm={self.confirm}, "
                f"learn={self.learn}, width={self.width}"
            )
        for name in ("lost_edges", "blinded_saturated", "moved_shift", "min_match_share"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ConfigError(f"view check {name} must be in (0, 1), got {value}")


@dataclass(frozen=True, slots=True)
class ViewStats:
    """Image statistics of one grey frame."""

    mean: float
    std: float
    edges: float  # share of Canny edge pixels
    saturated: float  # share of pixels >= 250

    @classmethod
    def of(cls, grey: np.ndarray) -> ViewStats:
        import cv2

        edges = cv2.Canny(grey, 50, 150)
        return cls(
            mean=float(grey.mean()),
            std=float(grey.std()),
            edges=float(np.count_nonzero(edges)) / edges.size,
            saturated=float(np.count_nonzero(grey >= 250)) / grey.size,
        )


@dataclass(frozen=True, slots=True)
class ViewVerdict:
    """One check of one frame against the reference."""

    state: ViewState
    reason: str
    stats: ViewStats
    shift: float | None = None  # mean corner displacement / diagonal
    matches: int | None = None
    inliers: int | None = None

    def details(self) -> dict[str, Any]:
        """JSON-able details for the event's ``extra``."""
        out: dict[str, Any] = {
            "view": str(self.state),
            "reason": self.reason,
            "mean": round(self.stats.mean, 1),
            "std": round(self.stats.std, 1),
            "edges": round(self.stats.edges, 4),
            "saturated": round(self.stats.saturated, 4),
        }
        if self.shift is not None:
            out["shift"] = round(self.shift, 4)
        if self.matches is not None:
            out["matches"] = self.matches
        if self.inliers is not None:
            out["inliers"] = self.inliers
        return out


def to_grey(image: np.ndarray, width: int) -> np.ndarray:
    """The BGR (or grey) ``image`` as ``uint8`` grey, scaled to ``width`` (aspect kept)."""
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape[:2]
    if w != width:
        height = max(1, round(h * width / w))
        grey = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(grey, dtype=np.uint8)


@dataclass
class ViewReference:
    """The view a camera's zones were drawn on: grey image, statistics, ORB features."""

    grey: np.ndarray
    stats: ViewStats
    keypoints: np.ndarray  # (n, 2) float32 point coordinates
    descriptors: np.ndarray | None

    @classmethod
    def of(cls, grey: np.ndarray) -> ViewReference:
        points, desc = _orb(grey)
        return cls(grey=grey, stats=ViewStats.of(grey), keypoints=points, descriptors=desc)

    @property
    def usable(self) -> bool:
        """Whether this frame can serve as a reference (not itself blank or washed out)."""
        return self.stats.std >= 8.0 and self.stats.edges >= 0.002

    def keep_static(self, grey: np.ndarray) -> None:
        """Keep only the features found again, within 2 px, in ``grey`` (learning)."""
        import cv2

        if self.descriptors is None or len(self.keypoints) == 0:
            return
        points, desc = _orb(grey)
        keep = np.zeros(len(self.keypoints), bool)
        if desc is not None and len(points) >= 2:
            pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(self.descriptors, desc, k=2)
            for p in pairs:
                if len(p) == 2 and p[0].distance < 0.75 * p[1].distance:
                    d = self.keypoints[p[0].queryIdx] - points[p[0].trainIdx]
                    keep[p[0].queryIdx] = float(np.hypot(d[0], d[1])) <= 2.0
        self.keypoints = self.keypoints[keep]
        self.descriptors = self.descriptors[keep]


def _orb(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    import cv2

    orb = cv2.ORB.create(nfeatures=500)
    keypoints, desc = orb.detectAndCompute(grey, None)
    points = np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)
    return points, desc


def classify(
    reference: ViewReference, grey: np.ndarray, settings: ViewCheckSettings
) -> ViewVerdict:
    """Compare one grey frame (same size as the reference's) with the reference."""
    verdict = _classify(reference, grey, settings)
    stats = verdict.stats
    washed = stats.mean > settings.blinded_mean or stats.saturated > settings.blinded_saturated
    if verdict.state is ViewState.MOVED and washed:
        # Glare keeps the edges of the clipped areas but wipes out the background.
        return ViewVerdict(
            ViewState.BLINDED,
            f"washed out: mean {stats.mean:.0f}, {stats.saturated:.0%} clipped; " + verdict.reason,
            stats,
            matches=verdict.matches,
            inliers=verdict.inliers,
        )
    return verdict


def _classify(
    reference: ViewReference, grey: np.ndarray, settings: ViewCheckSettings
) -> ViewVerdict:
    import cv2

    s = settings
    stats = ViewStats.of(grey)
    ref = reference.stats
    lost = stats.edges < s.lost_edges * ref.edges
    washed = stats.mean > s.blinded_mean or stats.saturated > s.blinded_saturated
    if lost and washed:
        return ViewVerdict(
            ViewState.BLINDED,
            f"washed out: mean {stats.mean:.0f}, {stats.saturated:.0%} clipped, edges "
            f"{stats.edges / max(ref.edges, 1e-9):.0%} of the reference's",
            stats,
        )
    if lost:
        return ViewVerdict(
            ViewState.COVERED,
            f"no detail: edges {stats.edges / max(ref.edges, 1e-9):.0%} of the reference's, "
            f"contrast {stats.std:.0f} (reference {ref.std:.0f})",
            stats,
        )
    if reference.descriptors is None or len(reference.keypoints) < s.min_features:
        return ViewVerdict(ViewState.OK, "too little texture to check for movement", stats)
    points, desc = _orb(grey)
    if desc is None or len(points) < 2:
        return ViewVerdict(ViewState.MOVED, "no features left to match", stats, matches=0)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(reference.descriptors, desc, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    needed = max(s.min_matches, round(s.min_match_share * len(reference.keypoints)))
    if len(good) < needed:
        return ViewVerdict(
            ViewState.MOVED,
            f"the background matches the reference in {len(good)} of "
            f"{len(reference.keypoints)} places (fewer than {needed}): the camera looks "
            "elsewhere",
            stats,
            matches=len(good),
        )
    src = reference.keypoints[[m.queryIdx for m in good]].reshape(-1, 1, 2)
    dst = points[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    inliers = int(mask.sum()) if mask is not None else 0
    if homography is None or inliers < needed:
        return ViewVerdict(
            ViewState.MOVED,
            f"no consistent mapping to the reference ({inliers} of {len(good)} matches agree)",
            stats,
            matches=len(good),
            inliers=inliers,
        )
    h, w = grey.shape[:2]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32).reshape(-1, 1, 2)
    moved = cv2.perspectiveTransform(corners, homography)
    shift = float(np.linalg.norm((moved - corners).reshape(-1, 2), axis=1).mean())
    shift /= float(np.hypot(w, h))
    state = ViewState.MOVED if shift > s.moved_shift else ViewState.OK
    reason = (
        f"the view shifted by {shift:.1%} of the image diagonal"
        if state is ViewState.MOVED
        else "matches the reference"
    )
    return ViewVerdict(state, reason, stats, shift=shift, matches=len(good), inliers=inliers)


@dataclass
class ViewChecker:
    """The view check of one camera, fed every processed frame (cheap between checks).

    Args:
        camera: the camera id (events carry it).
        village: the camera's village id.
        grid: the camera's grid id.
        settings: thresholds and timing.
    """

    camera: str
    village: str = ""
    grid: str = ""
    settings: ViewCheckSettings = field(default_factory=ViewCheckSettings)
    #: The confirmed view (the status ``view`` field).
    state: ViewState = field(default=ViewState.OK, init=False)
    #: The verdict of the latest check, or None before the first one.
    last: ViewVerdict | None = field(default=None, init=False, repr=False)
    reference: ViewReference | None = field(default=None, init=False, repr=False)
    _next_ts: float = field(default=-np.inf, init=False, repr=False)
    _pending: ViewState | None = field(default=None, init=False, repr=False)
    _streak: int = field(default=0, init=False, repr=False)
    _event_id: str | None = field(default=None, init=False, repr=False)
    _events: int = field(default=0, init=False, repr=False)
    _learnt: int = field(default=0, init=False, repr=False)

    def set_reference(self, image: np.ndarray) -> None:
        """Use ``image`` (BGR or grey) as the view the zones were drawn on.

        The next ``learn - 1`` checked frames still refine its features (only those that
        stay put are kept); they are not judged.
        """
        self.reference = ViewReference.of(to_grey(image, self.settings.width))
        self._learnt = 1

    @property
    def learning(self) -> bool:
        """True until the reference has been learnt from ``learn`` frames."""
        return self._learnt < self.settings.learn

    def observe(
        self, ts: float, image: np.ndarray, wall_time: datetime | None = None
    ) -> list[HazardEvent]:
        """Check ``image`` if ``interval_s`` has passed; the events of a confirmed change."""
        if ts < self._next_ts:
            return []
        self._next_ts = ts + self.settings.interval_s
        grey = to_grey(image, self.settings.width)
        if self.reference is None or self.reference.grey.shape != grey.shape:
            candidate = ViewReference.of(grey)
            if candidate.usable:
                self.reference, self._learnt = candidate, 1
            return []
        if self.learning:
            self.reference.keep_static(grey)
            self._learnt += 1
            return []
        verdict = classify(self.reference, grey, self.settings)
        self.last = verdict
        if verdict.state == self.state:
            self._pending, self._streak = None, 0
            return []
        if verdict.state == self._pending:
            self._streak += 1
        else:
            self._pending, self._streak = verdict.state, 1
        if self._streak < self.settings.confirm:
            return []
        previous, self.state = self.state, verdict.state
        self._pending, self._streak = None, 0
        return [self._event(previous, verdict, ts, wall_time)]

    def _event(
        self, previous: ViewState, verdict: ViewVerdict, ts: float, wall_time: datetime | None
    ) -> HazardEvent:
        phase: Phase
        if previous is ViewState.OK:
            phase = "start"
            self._events += 1
            self._event_id = f"{self.camera}:{CAMERA_FAULT}:{round(ts * 1000)}:{self._events}"
        elif verdict.state is ViewState.OK:
            phase = "end"
        else:
            phase = "update"
        event_id = self._event_id or f"{self.camera}:{CAMERA_FAULT}:{round(ts * 1000)}:0"
        if phase == "end":
            self._event_id = None
        wall = (wall_time or datetime.now(UTC)).isoformat(timespec="milliseconds")
        return HazardEvent(
            id=event_id,
            camera=self.camera,
            hazard=CAMERA_FAULT,
            phase=phase,
            ts=float(ts),
            wall_time=wall,
            village=self.village,
            grid=self.grid,
            confidence=1.0,
            extra={**verdict.details(), "previous": str(previous)},
        )
