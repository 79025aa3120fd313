"""Zones and hazard rules: cost per frame for the 12 AI cameras, and point-in-zone side by side.

Run: ``nice .venv/bin/pytest benchmarks/bench_rules.py --benchmark-columns=min,median,ops``

Groups (compare within a group):
    rules-12cams    one frame of all 12 cameras (2 reservoir, 4 stairwell, 3 fire lane,
                    3 street, as in configs/jingqiao.yaml), 50 tracked detections each,
                    through ``CameraHazards.process``: anchors, zones, the four rules and
                    the lifecycles. The median is the µs per frame of the whole town.
    rules-1cam      the same per scene kind (one camera's frame).
    pip-12x50       point-in-zone for the same 12 x 50 boxes, each camera's boxes against
                    its zone, all starting from the ``(50, 4)`` box array: ours
                    (``Detections.anchors`` + ``PolygonZone.contains``), shapely 2
                    (anchors + ``contains_xy`` on a prepared polygon), supervision
                    (``PolygonZone.trigger``, which rasterises the zone into a mask at
                    construction and looks anchors up in it) and matplotlib
                    (``Path.contains_points``).
    pip-1x10k       one zone against 10 000 points (where per-call overhead stops
                    mattering): ours, shapely, matplotlib.

The scenes are random but seeded: 50 objects per camera with a scene-dependent role mix,
a fifth of them standing still, the rest walking or driving; about a third of the boxes
have their anchor in the camera's zone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import shapely
import supervision as sv
from matplotlib.path import Path as MplPath

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import PolygonZone, zones_from_config
from gridsight.core.plugins import build_plugin_manager, hazard_rules

W, H = 640, 360
N_DET = 50
N_FRAMES = 120
FPS = 5.0

# Zones as a camera config would draw them (pixels of a 640x360 image).
SCENES: dict[str, dict] = {
    "reservoir": {
        "zones": [
            {
                "name": "water_edge",
                "kind": "polygon",
                "points": [[0, 230], [180, 215], [400, 220], [640, 200], [640, 300], [0, 330]],
            }
        ],
        "hazards": {"near_water": {}},
        "roles": {Role.PERSON: 0.8, Role.BICYCLE: 0.1, Role.CAR: 0.1},
    },
    "stairwell": {
        "zones": [
            {
                "name": "lobby",
                "kind": "polygon",
                "points": [[200, 60], [440, 60], [460, 300], [180, 300]],
            },
            {
                "name": "lobby_entrance",
                "kind": "line",
                "points": [[180, 300], [460, 300]],
                "inward": "left",
            },
        ],
        "hazards": {"ebike": {}},
        "roles": {Role.PERSON: 0.5, Role.BICYCLE: 0.2, Role.EBIKE: 0.3},
    },
    "fire_lane": {
        "zones": [
            {
                "name": "fire_lane",
                "kind": "polygon",
                "points": [[60, 200], [300, 180], [580, 190], [620, 320], [320, 340], [40, 330]],
            }
        ],
        "hazards": {"fire_lane": {}},
        "roles": {Role.CAR: 0.4, Role.MOTORBIKE: 0.2, Role.PERSON: 0.3, Role.STALL: 0.1},
    },
    "street": {
        "zones": [
            {
                "name": "no_vending",
                "kind": "polygon",
                "points": [[0, 190], [640, 170], [640, 360], [0, 360]],
            }
        ],
        "hazards": {"vending": {"allowed_hours": ["06:00-08:00"]}},
        "roles": {Role.PERSON: 0.6, Role.STALL: 0.15, Role.CAR: 0.15, Role.EBIKE: 0.1},
    },
}
#: Wall time of stream time 0: 10:00 in Jingqiao, outside vending's allowed hours.
START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=8)))
# The 12 AI cameras of configs/jingqiao.yaml by scene kind.
TOWN = ["reservoir"] * 2 + ["stairwell"] * 4 + ["fire_lane"] * 3 + ["street"] * 3

SIZES = {
    Role.PERSON: (30, 80),
    Role.BICYCLE: (50, 40),
    Role.EBIKE: (55, 45),
    Role.MOTORBIKE: (60, 45),
    Role.CAR: (120, 60),
    Role.STALL: (80, 60),
}


def scene_frames(scene: str, seed: int) -> list[Detections]:
    """``N_FRAMES`` frames of ``N_DET`` tracked objects moving about one scene."""
    rng = np.random.default_rng(seed)
    mix = SCENES[scene]["roles"]
    roles = rng.choice(list(mix), size=N_DET, p=list(mix.values()))
    wh = np.array([SIZES[Role(r)] for r in roles], dtype=np.float64)
    pos = np.column_stack([rng.uniform(0, W, N_DET), rng.uniform(120, H, N_DET)])
    vel = rng.normal(0, 15, (N_DET, 2)) * (rng.random(N_DET) > 0.2)[:, None]  # px/s
    frames = []
    for _ in range(N_FRAMES):
        pos = pos + vel / FPS
        pos[:, 0] %= W
        pos[:, 1] = 120 + (pos[:, 1] - 120) % (H - 120)
        jitter = rng.normal(0, 1.0, (N_DET, 4))
        xyxy = np.column_stack(
            [pos[:, 0] - wh[:, 0] / 2, pos[:, 1] - wh[:, 1], pos[:, 0] + wh[:, 0] / 2, pos[:, 1]]
        )
        frames.append(
            Detections(
                xyxy=(xyxy + jitter).astype(np.float32),
                confidence=rng.uniform(0.3, 0.95, N_DET).astype(np.float32),
                class_id=roles.astype(np.int64),
                tracker_id=np.arange(1, N_DET + 1, dtype=np.int64),
            )
        )
    return frames


@dataclass
class Camera:
    scene: str
    hazards: CameraHazards
    frames: list[Detections]


@pytest.fixture(scope="module")
def rule_classes() -> dict:
    return hazard_rules(build_plugin_manager())


def make_camera(scene: str, k: int, rule_classes: dict) -> Camera:
    spec = SCENES[scene]
    hazards = CameraHazards.from_config(
        f"cam-{scene}-{k:02d}",
        "village",
        "grid",
        zones_from_config(spec["zones"]),
        spec["hazards"],
        rule_classes,
    )
    return Camera(scene, hazards, scene_frames(scene, seed=1000 + k))


def ticker(cameras: list[Camera]) -> Callable[[], int]:
    """One call = the next frame of every camera, at ever-increasing stream time."""
    counter = itertools.count()

    def tick() -> int:
        k = next(counter)
        ts = k / FPS
        n_events = 0
        for cam in cameras:
            wall = START + timedelta(seconds=ts)
            n_events += len(cam.hazards.process(ts, cam.frames[k % N_FRAMES], wall))
        return n_events

    return tick


def _warm(tick: Callable[[], int]) -> None:
    # Fill the rules' histories (stationarity windows) before timing.
    for _ in range(int(20 * FPS)):
        tick()


@pytest.mark.benchmark(group="rules-12cams")
def test_rules_12_cameras(benchmark, rule_classes: dict) -> None:
    cameras = [make_camera(scene, k, rule_classes) for k, scene in enumerate(TOWN)]
    tick = ticker(cameras)
    _warm(tick)
    benchmark(tick)


@pytest.mark.benchmark(group="rules-1cam")
@pytest.mark.parametrize("scene", list(SCENES))
def test_rules_one_camera(benchmark, rule_classes: dict, scene: str) -> None:
    tick = ticker([make_camera(scene, 0, rule_classes)])
    _warm(tick)
    benchmark(tick)


# ---------------------------------------------------------------------------- point in zone
@dataclass
class PipCase:
    boxes: list[np.ndarray]  # per camera (50, 4) float32
    dets: list[Detections]  # the same boxes as the rules receive them
    ours: list[PolygonZone]
    shapely: list[shapely.Polygon]
    sv_zones: list[sv.PolygonZone]
    sv_dets: list[sv.Detections]
    mpl: list[MplPath]


@pytest.fixture(scope="module")
def pip() -> PipCase:
    boxes, dets, ours, shp, svz, svd, mpl = [], [], [], [], [], [], []
    for k, scene in enumerate(TOWN):
        poly = np.asarray(SCENES[scene]["zones"][0]["points"], dtype=np.float64)
        det = scene_frames(scene, seed=2000 + k)[0]
        xyxy = det.xyxy
        boxes.append(xyxy)
        dets.append(det)
        ours.append(PolygonZone("z", poly))
        p = shapely.Polygon(poly)
        shapely.prepare(p)
        shp.append(p)
        svz.append(sv.PolygonZone(polygon=poly.astype(np.int64)))
        svd.append(sv.Detections(xyxy=xyxy.astype(np.float32)))
        mpl.append(MplPath(poly))
    case = PipCase(boxes, dets, ours, shp, svz, svd, mpl)
    # The four must agree (supervision's mask is pixel-rasterised: allow edge pixels).
    a, b, c, d = run_ours(case), run_shapely(case), run_sv(case), run_mpl(case)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(a, d, strict=True))
    agree = np.mean(np.concatenate([x == y for x, y in zip(a, c, strict=True)]))
    assert agree > 0.97, agree
    assert 0.15 < np.mean(np.concatenate(a)) < 0.6  # a realistic share of boxes in zone
    return case


def _anchors(xyxy: np.ndarray) -> np.ndarray:
    return np.column_stack([(xyxy[:, 0] + xyxy[:, 2]) * 0.5, xyxy[:, 3]])


def run_ours(case: PipCase) -> list[np.ndarray]:
    return [
        z.contains(d.anchors("bottom_center")) for z, d in zip(case.ours, case.dets, strict=True)
    ]


def run_ours_anchors_given(case: PipCase) -> list[np.ndarray]:
    return [z.contains(_anchors(b)) for z, b in zip(case.ours, case.boxes, strict=True)]


def run_shapely(case: PipCase) -> list[np.ndarray]:
    out = []
    for poly, xyxy in zip(case.shapely, case.boxes, strict=True):
        a = _anchors(xyxy)
        out.append(shapely.contains_xy(poly, a[:, 0], a[:, 1]))
    return out


def run_sv(case: PipCase) -> list[np.ndarray]:
    return [z.trigger(d) for z, d in zip(case.sv_zones, case.sv_dets, strict=True)]


def run_mpl(case: PipCase) -> list[np.ndarray]:
    return [p.contains_points(_anchors(b)) for p, b in zip(case.mpl, case.boxes, strict=True)]


@pytest.mark.benchmark(group="pip-12x50")
@pytest.mark.parametrize(
    "impl",
    [run_ours, run_ours_anchors_given, run_shapely, run_sv, run_mpl],
    ids=["gridsight", "gridsight-anchors-given", "shapely", "supervision", "matplotlib"],
)
def test_point_in_zone_12x50(benchmark, pip: PipCase, impl: Callable) -> None:
    benchmark(impl, pip)


@pytest.fixture(scope="module")
def many_points() -> tuple[np.ndarray, np.ndarray]:
    poly = np.asarray(SCENES["fire_lane"]["zones"][0]["points"], dtype=np.float64)
    pts = np.random.default_rng(7).uniform([0, 0], [W, H], (10_000, 2))
    return poly, pts


@pytest.mark.benchmark(group="pip-1x10k")
@pytest.mark.parametrize("impl", ["gridsight", "shapely", "matplotlib"])
def test_point_in_zone_10k(
    benchmark, many_points: tuple[np.ndarray, np.ndarray], impl: str
) -> None:
    poly, pts = many_points
    if impl == "gridsight":
        zone = PolygonZone("z", poly)
        result = benchmark(zone.contains, pts)
    elif impl == "shapely":
        p = shapely.Polygon(poly)
        shapely.prepare(p)
        result = benchmark(shapely.contains_xy, p, pts[:, 0], pts[:, 1])
    else:
        result = benchmark(MplPath(poly).contains_points, pts)
    np.testing.assert_array_equal(result, PolygonZone("z", poly).contains(pts))
