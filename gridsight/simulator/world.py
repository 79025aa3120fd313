"""A synthetic camera: a scene, its schedule of actors, and frames with ground truth.

Example:
    >>> world = open_world("synthetic://reservoir?seed=1")
    >>> image, truth = world.render(0)
    >>> image.shape, truth.ts
    ((360, 640, 3), 0.0)

Ground-truth boxes are the extent of the pixels each actor (or its rider) covers in the
frame, clipped to the image and moved with the camera shake. Actors are drawn far to near,
so nearer ones hide farther ones; ``visible`` is the fraction of an actor's pixels that
survive. Actors less than ``MIN_VISIBLE`` visible (hidden behind others, a wall, or mostly
outside the picture) are dropped from the truth, because no detector could be asked to
find them; partly hidden ones stay, with their full box.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import numpy as np

from gridsight.core.detection.roles import Role
from gridsight.simulator.layout import SceneLayout
from gridsight.simulator.lighting import Lighting, SensorEffects, SensorPipeline
from gridsight.simulator.scenes import BUILDERS
from gridsight.simulator.schedule import HAZARD_OF_SCENE, Schedule
from gridsight.simulator.sprites import Patch, draw_actor
from gridsight.simulator.uri import SCENES, WorldSpec, parse_world_uri

MIN_VISIBLE = 0.2
_MIN_BOX_PX = 3  # a box narrower or shorter than this (after clipping) is dropped


@dataclass(frozen=True, slots=True)
class FrameTruth:
    """Ground truth of one frame.

    Attributes:
        index: frame index.
        ts: stream time in seconds.
        boxes: ``(n, 4) float32`` xyxy pixel boxes (x2, y2 exclusive pixel edges).
        roles: ``(n,) int64`` role ids (:class:`gridsight.core.detection.roles.Role`).
        track_ids: ``(n,) int64`` stable ids per actor part across frames.
        visible: ``(n,) float32`` fraction of the object's pixels not hidden.
    """

    index: int
    ts: float
    boxes: np.ndarray
    roles: np.ndarray
    track_ids: np.ndarray
    visible: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``gridsight world truth``."""
        return {
            "index": self.index,
            "ts": round(self.ts, 3),
            "boxes": [[round(float(v), 1) for v in b] for b in self.boxes],
            "roles": [int(r) for r in self.roles],
            "track_ids": [int(i) for i in self.track_ids],
            "visible": [round(float(v), 3) for v in self.visible],
        }


#: The synthetic township's calendar day and time zone: every world's stream time 0 is
#: ``clock_s`` after midnight of this day in this zone (China Standard Time, Jingqiao's),
#: so its frames carry the same wall time whatever machine renders them, and whenever.
WORLD_DATE = date(2026, 3, 2)
WORLD_TZ = timezone(timedelta(hours=8), "CST")


def _draw_conditions(spec: WorldSpec, rng: np.random.Generator) -> tuple[str, float]:
    """Lighting and clock at stream time 0, consistent with each other."""
    windows = {
        "day": [(7.0, 16.5)],
        "dusk": [(17.2, 18.6), (5.3, 6.2)],
        "night": [(20.0, 24.0), (0.0, 5.0)],
    }
    lighting = spec.lighting
    if lighting is None and spec.clock_s is not None:
        hour = spec.clock_s / 3600.0
        lighting = "day" if 6.2 <= hour < 17.2 else "dusk" if 5.3 <= hour < 18.6 else "night"
    if lighting is None:
        lighting = str(rng.choice(["day", "dusk", "night"], p=[0.6, 0.15, 0.25]))
    if spec.clock_s is not None:
        return lighting, spec.clock_s
    if lighting == "day" and spec.scene == "street" and rng.random() < 0.3:
        # Morning-market streams: stalls within the allowed hours are near misses.
        return lighting, float(rng.uniform(6.0, 7.9) * 3600.0)
    spans = windows[lighting]
    lo, hi = spans[int(rng.integers(len(spans)))]
    return lighting, float(rng.uniform(lo, hi) * 3600.0)


def _layout(spec: WorldSpec, seq: np.random.SeedSequence, lighting: str) -> SceneLayout:
    geom_seq, paint_seq = seq.spawn(2)
    return BUILDERS[spec.scene](
        np.random.default_rng(geom_seq),
        np.random.default_rng(paint_seq),
        spec.width,
        spec.height,
        lighting,
    )


def _root(spec: WorldSpec) -> list[np.random.SeedSequence]:
    # The scene is part of the entropy, so seed 1 of two scenes are unrelated worlds.
    scene_code = zlib.crc32(spec.scene.encode())
    return np.random.SeedSequence([spec.seed, scene_code]).spawn(4)


class World:
    """One synthetic camera, fully determined by its :class:`WorldSpec`.

    Args:
        spec: the world spec (see :func:`gridsight.simulator.uri.parse_world_uri`).
    """

    def __init__(self, spec: WorldSpec) -> None:
        self.spec = spec
        cond_seq, layout_seq, schedule_seq, sensor_seq = _root(spec)
        cond_rng = np.random.default_rng(cond_seq)
        self.lighting_kind, self.clock_s = _draw_conditions(spec, cond_rng)
        self.layout = _layout(spec, layout_seq, self.lighting_kind)
        h, w = spec.height, spec.width
        sensor_rng = np.random.default_rng(sensor_seq)
        self.lighting = Lighting(self.lighting_kind, h, w, sensor_rng)
        self.background = self.lighting.apply(self.layout.background)
        drawn = SensorEffects.draw(sensor_rng, self.lighting_kind, w)
        self.effects = drawn if spec.effects else SensorEffects.none()
        self.sensor = SensorPipeline(self.effects, h, w, sensor_rng)
        self.schedule = Schedule(self.layout, schedule_seq, self.clock_s, spec.density)

    @property
    def fps(self) -> float:
        return self.spec.fps

    @property
    def clock_start(self) -> datetime:
        """The world's wall-clock time at stream time 0 (:data:`WORLD_DATE`, :data:`WORLD_TZ`)."""
        midnight = datetime.combine(WORLD_DATE, time(0), tzinfo=WORLD_TZ)
        return midnight + timedelta(seconds=self.clock_s)

    def wall_time(self, ts: float) -> datetime:
        """The world's wall-clock time at stream time ``ts`` (what its frames carry)."""
        return self.clock_start + timedelta(seconds=ts)

    @property
    def zones(self) -> list[dict[str, Any]]:
        """The scene's zones in camera-config form."""
        return self.layout.zones

    def compose(
        self, t: float, *, pixels: bool = True
    ) -> tuple[np.ndarray, list[tuple[Role, int, np.ndarray, float]]]:
        """Draw the scene at time ``t``, before sensor effects (noise, blur, shake...).

        Args:
            t: stream time in seconds.
            pixels: paint colours; False only tracks which actor covers which pixel
                (enough for the truth, and faster).

        Returns:
            The frame, and per drawn part ``(role, track id, xyxy box, visible fraction)``
            with boxes in unshaken frame pixels (x2, y2 exclusive), unclipped.
        """
        h, w = self.spec.height, self.spec.width
        cam = self.layout.camera
        # Without pixels nothing paints the frame (restoring the wall copies background onto
        # itself), so the background is not copied.
        frame = self.background.copy() if pixels else self.background
        owner = np.full((h, w), -1, np.int32)
        placed: list[tuple[Patch, int, float]] = []
        plans = self.schedule.active(t)
        states = [(p, p.state(t)) for p in plans]
        states.sort(key=lambda ps: -ps[1].z)  # far first: nearer actors hide farther ones
        occluder = self.layout.occluder
        # Actors beyond the occluding wall are drawn first; the wall is then restored over
        # the area they touched, so they show only through its openings (the doorway).
        behind: list[Patch] = []
        restored = occluder is None
        for plan, st in states:
            if occluder is not None and not restored and st.z <= occluder.beyond_z:
                self._restore(frame, owner, behind)
                restored = True
            if st.z < 0.6:
                continue
            u0, v0 = cam.ground(np.array([[st.x, st.z]]))[0]
            patches = draw_actor(
                plan.look, float(u0), float(v0), cam.scale(st.z), st.facing, st.phase, st.moving
            )
            for k, patch in enumerate(patches):
                n_pixels = int(np.count_nonzero(patch.mask))
                if n_pixels == 0:
                    continue
                idx = len(placed)
                placed.append((patch, plan.track_ids[k], float(n_pixels)))
                self._paste(frame, owner, patch, idx, pixels)
                if not restored:
                    behind.append(patch)
        if not restored:
            self._restore(frame, owner, behind)
        counts = np.bincount(owner[owner >= 0].ravel(), minlength=len(placed))
        parts: list[tuple[Role, int, np.ndarray, float]] = []
        for idx, (patch, track_id, total) in enumerate(placed):
            ys, xs = np.nonzero(patch.mask)
            box = np.array(
                [
                    xs.min() + patch.x0,
                    ys.min() + patch.y0,
                    xs.max() + 1 + patch.x0,
                    ys.max() + 1 + patch.y0,
                ],
                np.float32,
            )
            parts.append((patch.role, track_id, box, float(counts[idx]) / total))
        return frame, parts

    def _restore(self, frame: np.ndarray, owner: np.ndarray, behind: list[Patch]) -> None:
        occluder = self.layout.occluder
        if occluder is None or not behind:
            return
        h, w = frame.shape[:2]
        x0 = max(0, min(p.x0 for p in behind))
        y0 = max(0, min(p.y0 for p in behind))
        x1 = min(w, max(p.x0 + p.mask.shape[1] for p in behind))
        y1 = min(h, max(p.y0 + p.mask.shape[0] for p in behind))
        if x1 <= x0 or y1 <= y0:
            return
        wall = occluder.mask[y0:y1, x0:x1]
        np.copyto(frame[y0:y1, x0:x1], self.background[y0:y1, x0:x1], where=wall[..., None])
        owner[y0:y1, x0:x1][wall] = -1

    def _paste(
        self, frame: np.ndarray, owner: np.ndarray, patch: Patch, idx: int, pixels: bool
    ) -> None:
        h, w = frame.shape[:2]
        ph, pw = patch.mask.shape
        x0, y0 = max(patch.x0, 0), max(patch.y0, 0)
        x1, y1 = min(patch.x0 + pw, w), min(patch.y0 + ph, h)
        if x1 <= x0 or y1 <= y0:
            return
        sub_mask = patch.mask[y0 - patch.y0 : y1 - patch.y0, x0 - patch.x0 : x1 - patch.x0] > 0
        owner[y0:y1, x0:x1][sub_mask] = idx
        if pixels:
            sub_img = patch.image[y0 - patch.y0 : y1 - patch.y0, x0 - patch.x0 : x1 - patch.x0]
            lit = self.lighting.apply(sub_img, x0, y0)
            frame[y0:y1, x0:x1][sub_mask] = lit[sub_mask]

    def _truth(
        self, parts: list[tuple[Role, int, np.ndarray, float]], t: float, index: int
    ) -> FrameTruth:
        dx, dy = self.effects.shake(t)
        h, w = self.spec.height, self.spec.width
        boxes, roles, ids, vis = [], [], [], []
        for role, track_id, box, visible in parts:
            if visible < MIN_VISIBLE:
                continue
            b = box + np.array([dx, dy, dx, dy], np.float32)
            b = np.clip(b, [0, 0, 0, 0], [w, h, w, h]).astype(np.float32)
            if b[2] - b[0] < _MIN_BOX_PX or b[3] - b[1] < _MIN_BOX_PX:
                continue
            boxes.append(b)
            roles.append(int(role))
            ids.append(track_id)
            vis.append(visible)
        return FrameTruth(
            index=index,
            ts=t,
            boxes=np.array(boxes, np.float32).reshape(-1, 4),
            roles=np.array(roles, np.int64),
            track_ids=np.array(ids, np.int64),
            visible=np.array(vis, np.float32),
        )

    def render_at(self, t: float, index: int = 0) -> tuple[np.ndarray, FrameTruth]:
        """The frame at stream time ``t`` and its truth."""
        frame, parts = self.compose(t)
        image, _, _ = self.sensor(frame, t, index)
        return image, self._truth(parts, t, index)

    def truth_at(self, t: float, index: int = 0) -> FrameTruth:
        """The truth of the frame at ``t`` without rendering its pixels (same boxes)."""
        _, parts = self.compose(t, pixels=False)
        return self._truth(parts, t, index)

    def render(self, index: int) -> tuple[np.ndarray, FrameTruth]:
        """Frame number ``index`` of the stream (at ``index / fps`` seconds)."""
        return self.render_at(index / self.spec.fps, index)

    def frames(self, duration: float) -> Iterator[tuple[np.ndarray, FrameTruth]]:
        """All frames of the first ``duration`` seconds."""
        for index in range(round(duration * self.spec.fps)):
            yield self.render(index)

    def labels(self, duration: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Episodes and near misses beginning in the first ``duration`` seconds."""
        return self.schedule.labels(duration)

    def describe(self) -> dict[str, Any]:
        """The world's conditions, for truth files and docs."""
        clock = int(self.clock_s)
        return {
            "uri": self.spec.uri(),
            "scene": self.spec.scene,
            "hazard": HAZARD_OF_SCENE[self.spec.scene],
            "lighting": self.lighting_kind,
            "clock_start": f"{clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}",
            "fps": self.spec.fps,
            "resolution": [self.spec.width, self.spec.height],
        }

    def truth(self, duration: float, *, frames: bool = True) -> dict[str, Any]:
        """The ground truth of the first ``duration`` seconds, as ``gridsight world truth``."""
        episodes, near = self.labels(duration)
        out: dict[str, Any] = {
            **self.describe(),
            "duration": duration,
            "episodes": episodes,
            "near_misses": near,
            "zones": self.zones,
        }
        if frames:
            out["frames"] = [
                self.truth_at(i / self.fps, i).to_dict() for i in range(round(duration * self.fps))
            ]
        return out


def open_world(uri: str | WorldSpec) -> World:
    """Open a synthetic world from a ``synthetic://`` URI (or a spec).

    Raises:
        SourceError: the URI is malformed (the message names the bad parameter).
    """
    spec = uri if isinstance(uri, WorldSpec) else parse_world_uri(uri)
    return World(spec)


def scene_zones(uri: str | WorldSpec) -> list[dict[str, Any]]:
    """The zones of a synthetic camera in camera-config form (pixels of its resolution).

    Only the layout is built (no schedule, no lighting), so this is cheap.
    """
    spec = uri if isinstance(uri, WorldSpec) else parse_world_uri(uri)
    cond_seq, layout_seq, _, _ = _root(spec)
    lighting, _ = _draw_conditions(spec, np.random.default_rng(cond_seq))
    return _layout(spec, layout_seq, lighting).zones


__all__ = ["MIN_VISIBLE", "SCENES", "FrameTruth", "World", "open_world", "scene_zones"]
