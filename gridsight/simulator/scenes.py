"""The four scene kinds, laid out and painted from a seed.

Each builder draws a camera (height, focal length, horizon row i.e. tilt, yaw against the
scene), a layout (band widths, building heights, door position...) and colours from
``rng``, whose draws never depend on the image size (so a seed gives the same layout at
every resolution); paints the static background once, textures from ``paint``; and
returns the zones the rules need in camera-config form:

- ``reservoir``: grass, a footpath along the bank, the bank, the water, a far shore.
  Zone ``water_edge``: the last metres of bank and the shallows.
- ``stairwell``: a residential lobby seen from above the stairs: tiled floor, walls,
  mailboxes, the entrance door at the back with the outside visible through it.
  Zones ``lobby`` (the floor) and ``lobby_entrance`` (the door threshold, inward = in).
- ``fire_lane``: a marked lane ("FIRE LANE") between a parking area and buildings.
  Zone ``fire_lane``: the lane.
- ``street``: a two-lane road, kerb, pavement and shop fronts with signs.
  Zone ``no_vending``: the pavement and the road edge.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from gridsight.simulator.camera import Camera
from gridsight.simulator.layout import (
    Occluder,
    SceneLayout,
    Strip,
    line_zone_entry,
    polygon_zone_entry,
)
from gridsight.simulator.paint import Canvas, Colour, Tex, jitter_colour, noise_field, sky

_SKY_DAY = ((235, 200, 150), (245, 230, 215))
_SKY_DUSK = ((150, 110, 110), (120, 170, 240))
_SKY_NIGHT = ((40, 25, 20), (70, 55, 50))


def _camera(
    rng: np.random.Generator,
    w: int,
    h: int,
    height: tuple[float, float],
    horizon: tuple[float, float],
    focal: tuple[float, float],
) -> Camera:
    return Camera(
        width=w,
        height=h,
        focal=float(w * rng.uniform(*focal)),
        cx=w / 2.0,
        horizon=float(h * rng.uniform(*horizon)),
        height_m=float(rng.uniform(*height)),
    )


def _sky(canvas: Canvas, lighting: str) -> None:
    top, bottom = {"day": _SKY_DAY, "dusk": _SKY_DUSK}.get(lighting, _SKY_NIGHT)
    canvas.image[:] = sky(canvas.rng, canvas.h, canvas.w, top, bottom)


def _ground_line(
    canvas: Canvas,
    strip: Strip,
    s: float,
    width: float,
    colour: Colour,
    dash: tuple[float, float] | None = None,
) -> None:
    """A painted line along the strip at offset ``s`` (solid, or dashed ``(on, off)``)."""
    if dash is None:
        canvas.ground(strip.band(s - width / 2, s + width / 2), colour)
        return
    on, off = dash
    for a in np.arange(-120.0, 120.0, on + off):
        canvas.ground(strip.band(s - width / 2, s + width / 2, a, a + on), colour)


def _visible_min_z(camera: Camera) -> float:
    return camera.ground_z_at_row(camera.height)


def _strip_facing(
    rng: np.random.Generator,
    camera: Camera,
    max_yaw: float,
    beyond: tuple[float, float],
    extra: float = 0.0,
) -> Strip:
    """The scene's strip, yawed by up to ``max_yaw`` rad against the camera.

    Its ``s = 0`` line lies ``extra`` plus U(``beyond``) metres past the nearest ground
    the camera sees, and its origin up to 3 m to either side of the optical axis.
    """
    yaw = float(rng.uniform(-max_yaw, max_yaw))
    depth = _visible_min_z(camera) * np.cos(yaw) + extra + float(rng.uniform(*beyond))
    return Strip.rotated((float(rng.uniform(-3.0, 3.0)), float(depth)), yaw)


def _facade(
    canvas: Canvas,
    strip: Strip,
    a0: float,
    a1: float,
    s: float,
    height: float,
    colour: Colour,
    lighting: str,
    *,
    shop: bool,
    sign: str | None,
) -> None:
    """A building: wall, window grid (lit at night) and a door or shop front."""
    rng = canvas.rng
    canvas.wall(strip.wall(a0, a1, s, 0.0, height), Tex(colour, coarse=10, fine=5))
    glass_day = jitter_colour(rng, (110, 95, 80), 15)
    floor_h = 3.0
    first = 1 if shop else 0
    for row in range(first, int(height // floor_h)):
        y0 = row * floor_h + 1.0
        a = a0 + 0.8
        while a + 1.3 < a1 - 0.5:
            lit = lighting != "day" and rng.random() < 0.45
            c = jitter_colour(rng, (120, 210, 245), 20) if lit else glass_day
            canvas.wall(strip.wall(a, a + 1.2, s - 0.01, y0, y0 + 1.4), c)
            a += 2.4
    if shop:
        front = jitter_colour(rng, (70, 70, 75), 25)
        canvas.wall(strip.wall(a0 + 0.3, a1 - 0.3, s - 0.01, 0.0, 2.5), front)
        if rng.random() < 0.5:  # roller shutter
            for y in np.arange(0.15, 2.45, 0.18):
                canvas.wall(strip.wall(a0 + 0.3, a1 - 0.3, s - 0.02, y, y + 0.04), (150, 150, 155))
        else:  # glass door and window
            mid = (a0 + a1) / 2
            lit_colour = (140, 200, 230) if lighting != "day" else (95, 85, 75)
            canvas.wall(strip.wall(mid - 0.8, mid + 0.8, s - 0.02, 0.0, 2.3), lit_colour)
        sign_colour = jitter_colour(
            rng,
            ((40, 40, 200), (200, 80, 20), (30, 150, 30), (20, 180, 230), (150, 40, 150))[
                int(rng.integers(5))
            ],
        )
        canvas.wall(strip.wall(a0 + 0.2, a1 - 0.2, s - 0.03, 2.6, 3.4), sign_colour)
        if sign:
            corners = strip.wall(a0 + 0.5, a1 - 0.5, s - 0.04, 2.7, 3.3)
            canvas.text_on_plane(corners, sign, (245, 245, 245))
    else:
        door = a0 + rng.uniform(0.5, max(0.6, a1 - a0 - 2.0))
        canvas.wall(
            strip.wall(door, door + 1.2, s - 0.01, 0.0, 2.2), jitter_colour(rng, (60, 70, 90), 20)
        )


def _buildings(canvas: Canvas, strip: Strip, s: float, lighting: str, *, shops: bool) -> None:
    rng = canvas.rng
    palette: tuple[Colour, ...] = (
        (190, 200, 210),
        (170, 180, 185),
        (120, 140, 170),
        (215, 215, 210),
        (150, 160, 150),
        (90, 110, 150),
    )
    signs = (
        "MARKET",
        "NOODLES",
        "PHARMACY",
        "BAKERY",
        "TEA",
        "HARDWARE",
        "MOBILE",
        "HOTPOT",
        "FRUIT",
        "BANK",
        "SALON",
        "DUMPLING",
    )
    a = -90.0
    while a < 90.0:
        width = float(rng.uniform(4.0, 7.0) if shops else rng.uniform(9.0, 22.0))
        height = float(rng.uniform(6.0, 16.0) if shops else rng.uniform(9.0, 24.0))
        colour = jitter_colour(rng, palette[int(rng.integers(len(palette)))], 15)
        sign = signs[int(rng.integers(len(signs)))] if shops else None
        _facade(canvas, strip, a, a + width, s, height, colour, lighting, shop=shops, sign=sign)
        a += width + (float(rng.uniform(0.0, 3.0)) if not shops and rng.random() < 0.4 else 0.0)


# --------------------------------------------------------------------------- reservoir


def build_reservoir(
    rng: np.random.Generator, paint: np.random.Generator, w: int, h: int, lighting: str
) -> SceneLayout:
    camera = _camera(rng, w, h, (4.0, 7.5), (0.12, 0.3), (0.75, 1.05))
    strip = _strip_facing(rng, camera, 0.35, (2.0, 5.0))
    path_w = float(rng.uniform(1.8, 2.8))
    bank_w = float(rng.uniform(2.5, 4.5))
    water_s = path_w + bank_w
    far_s = float(rng.uniform(60.0, 140.0))
    canvas = Canvas(camera, paint)
    _sky(canvas, lighting)
    # Far shore: a tree line with a ragged top, standing on the water's far edge.
    a = np.linspace(-200.0, 200.0, 121)
    tops = rng.uniform(6.0, 16.0) + noise_field(rng, 1, 121, 12)[0] * 5.0
    base = strip.at(a, np.full_like(a, far_s))
    top = np.column_stack([base[:, 0], tops, base[:, 1]])
    bottom = np.column_stack([base[:, 0], np.zeros_like(a), base[:, 1]])
    shore = np.vstack([bottom, top[::-1]])
    canvas.wall(shore, Tex(jitter_colour(rng, (50, 90, 55), 15), coarse=25, fine=8))
    water = jitter_colour(rng, (120, 110, 70), 20)
    tex = canvas.texture(water, coarse=14, fine=3, cells=4).astype(np.int16)
    # Ripples: thin horizontal streaks (noise stretched sideways), brighter where they
    # catch the sky, and the water lighter towards the far shore.
    streaks = cv2.resize(
        paint.standard_normal((max(h // 3, 2), 6)).astype(np.float32),
        (w, h),
        interpolation=cv2.INTER_CUBIC,
    )
    tex += (np.clip(streaks - 0.9, 0, None) * 45).astype(np.int16)[..., None]
    rows = np.linspace(25, -10, h, dtype=np.float32).astype(np.int16).reshape(h, 1, 1)
    tex += rows
    canvas.ground(strip.band(water_s, far_s), np.clip(tex, 0, 255).astype(np.uint8))
    grass = jitter_colour(rng, (60, 130, 90), 20)
    canvas.ground(strip.band(-40.0, water_s), Tex(grass, coarse=25, fine=12))
    mud = jitter_colour(rng, (80, 110, 125), 15)
    canvas.ground(strip.band(water_s - 0.6, water_s), Tex(mud, coarse=15, fine=10))
    gravel = jitter_colour(rng, (150, 165, 175), 20)
    canvas.ground(strip.band(0.0, path_w), Tex(gravel, coarse=10, fine=14))
    _ground_line(canvas, strip, 0.0, 0.12, (120, 125, 130))
    _ground_line(canvas, strip, path_w, 0.12, (120, 125, 130))
    # A warning sign on the bank ("deep water").
    sign_a = float(rng.uniform(-6.0, 6.0))
    post = strip.wall(sign_a, sign_a + 0.08, path_w + 0.4, 0.0, 1.6)
    canvas.wall(post, (80, 80, 80))
    board = strip.wall(sign_a - 0.4, sign_a + 0.5, path_w + 0.39, 1.2, 1.7)
    canvas.wall(board, (30, 200, 240))
    canvas.text_on_plane(
        strip.wall(sign_a - 0.35, sign_a + 0.45, path_w + 0.38, 1.3, 1.6),
        "DEEP WATER",
        (20, 20, 20),
    )
    zone = strip.band(water_s - 1.5, water_s + 2.0, -120.0, 120.0)
    return SceneLayout(
        scene="reservoir",
        camera=camera,
        background=canvas.image,
        strip=strip,
        ground_zones={"water_edge": zone},
        zones=[polygon_zone_entry("water_edge", camera, zone)],
        lanes={
            "path_s0": 0.0,
            "path_s1": path_w,
            "water_s": water_s,
            "zone_s0": water_s - 1.5,
            "grass_s": -1.5,
        },
    )


# --------------------------------------------------------------------------- fire lane


def build_fire_lane(
    rng: np.random.Generator, paint: np.random.Generator, w: int, h: int, lighting: str
) -> SceneLayout:
    camera = _camera(rng, w, h, (4.5, 9.0), (0.04, 0.24), (0.7, 1.0))
    strip = _strip_facing(rng, camera, 0.45, (5.5, 8.0))
    lane_w = float(rng.uniform(3.6, 5.0))
    walk_w = float(rng.uniform(1.2, 2.2))
    facade_s = lane_w + walk_w
    canvas = Canvas(camera, paint)
    _sky(canvas, lighting)
    _buildings(canvas, strip, facade_s, lighting, shops=False)
    concrete = jitter_colour(rng, (165, 170, 170), 15)
    canvas.ground(strip.band(-40.0, 0.0), Tex(concrete, coarse=12, fine=9))
    for a in np.arange(-80.0, 80.0, 2.6):  # parking bays along the lane
        canvas.ground(strip.band(-5.5, -0.6, a, a + 0.12), (235, 235, 235))
    asphalt = jitter_colour(rng, (85, 85, 90), 12)
    canvas.ground(strip.band(0.0, lane_w), Tex(asphalt, coarse=10, fine=10))
    paving = jitter_colour(rng, (150, 160, 175), 15)
    canvas.ground(strip.band(lane_w, facade_s), Tex(paving, coarse=8, fine=8))
    lane_colour: Colour = (0, 200, 240) if rng.random() < 0.6 else (40, 40, 220)
    _ground_line(canvas, strip, 0.15, 0.18, lane_colour)
    _ground_line(canvas, strip, lane_w - 0.15, 0.18, lane_colour)
    offset = float(rng.uniform(0.0, 12.0))
    for a in np.arange(-60.0 + offset, 60.0, 14.0):
        corners = strip.at(
            np.array([a, a + 5.5, a + 5.5, a]),
            np.array([lane_w * 0.3, lane_w * 0.3, lane_w * 0.7, lane_w * 0.7]),
        )
        quad = np.column_stack([corners[:, 0], np.zeros(4), corners[:, 1]])
        canvas.text_on_plane(quad, "FIRE LANE", lane_colour)
    zone = strip.band(0.0, lane_w, -120.0, 120.0)
    return SceneLayout(
        scene="fire_lane",
        camera=camera,
        background=canvas.image,
        strip=strip,
        ground_zones={"fire_lane": zone},
        zones=[polygon_zone_entry("fire_lane", camera, zone)],
        lanes={
            "lane_s0": 0.0,
            "lane_s1": lane_w,
            "walk_s": lane_w + walk_w / 2,
            "park_s": -3.0,
            "facade_s": facade_s,
        },
    )


# --------------------------------------------------------------------------- street


def build_street(
    rng: np.random.Generator, paint: np.random.Generator, w: int, h: int, lighting: str
) -> SceneLayout:
    camera = _camera(rng, w, h, (4.0, 8.0), (0.04, 0.24), (0.7, 1.0))
    road_w = 7.5
    # The strip's s = 0 is the far kerb: the road lies before it.
    strip = _strip_facing(rng, camera, 0.4, (-1.0, 1.5), road_w)
    pave_w = float(rng.uniform(3.5, 5.5))
    canvas = Canvas(camera, paint)
    _sky(canvas, lighting)
    _buildings(canvas, strip, pave_w, lighting, shops=True)
    asphalt = jitter_colour(rng, (80, 80, 85), 12)
    canvas.ground(strip.band(-40.0, 0.0), Tex(asphalt, coarse=12, fine=10))
    _ground_line(canvas, strip, -road_w / 2, 0.15, (230, 230, 230), dash=(3.0, 4.0))
    _ground_line(canvas, strip, -road_w + 0.2, 0.15, (230, 230, 230))
    tiles = jitter_colour(rng, (160, 175, 190), 20)
    canvas.ground(strip.band(0.0, pave_w), Tex(tiles, coarse=8, fine=8))
    for a in np.arange(-80.0, 80.0, 1.2):
        canvas.ground(strip.band(0.0, pave_w, a, a + 0.05), jitter_colour(rng, tiles, 3))
    _ground_line(canvas, strip, 0.1, 0.2, (205, 205, 205))  # kerb
    zone = strip.band(-1.0, pave_w, -120.0, 120.0)
    return SceneLayout(
        scene="street",
        camera=camera,
        background=canvas.image,
        strip=strip,
        ground_zones={"no_vending": zone},
        zones=[polygon_zone_entry("no_vending", camera, zone)],
        lanes={
            "near_lane_s": -road_w * 0.72,
            "far_lane_s": -road_w * 0.25,
            "kerb_s": 0.0,
            "pave_s1": pave_w,
            "zone_s0": -1.0,
        },
    )


# --------------------------------------------------------------------------- stairwell


def build_stairwell(
    rng: np.random.Generator, paint: np.random.Generator, w: int, h: int, lighting: str
) -> SceneLayout:
    camera = _camera(rng, w, h, (2.4, 2.9), (0.12, 0.3), (0.45, 0.6))
    back = float(rng.uniform(7.5, 10.5))
    left = -float(rng.uniform(2.8, 4.2))
    right = float(rng.uniform(2.8, 4.2))
    ceiling = 3.0
    door_w = float(rng.uniform(1.5, 2.0))
    door_x0 = float(rng.uniform(left + 0.7, right - 0.7 - door_w))
    door_x1 = door_x0 + door_w
    door_h = 2.2
    near = max(_visible_min_z(camera), 0.8)
    canvas = Canvas(camera, paint)
    # The outside seen through the door: sky, ground and shrubs, painted full-frame first.
    _sky(canvas, lighting)
    outside = Tex(jitter_colour(rng, (120, 150, 140), 20), coarse=20, fine=10)
    canvas.ground(
        np.array([[-60.0, back], [60.0, back], [60.0, back + 60], [-60.0, back + 60]]), outside
    )
    hedge = np.array(
        [
            [-30.0, 0.0, back + 8],
            [30.0, 0.0, back + 8],
            [30.0, 1.6, back + 8],
            [-30.0, 1.6, back + 8],
        ]
    )
    canvas.wall(hedge, Tex(jitter_colour(rng, (50, 110, 60), 15), coarse=30))
    door_opening = np.zeros((h, w), bool)
    wall_colour = jitter_colour(rng, (200, 210, 215), 20)
    wall_tex = Tex(wall_colour, coarse=8, fine=4)
    # Back wall with the door cut out: paint the wall, then the opening shows the outside.
    outdoor_image = canvas.image.copy()
    canvas.wall(
        np.array(
            [[left, 0, back], [right, 0, back], [right, ceiling, back], [left, ceiling, back]]
        ),
        wall_tex,
    )
    door_opening = canvas.wall(
        np.array(
            [
                [door_x0, 0, back],
                [door_x1, 0, back],
                [door_x1, door_h, back],
                [door_x0, door_h, back],
            ]
        ),
        outdoor_image,
    )
    frame_c = jitter_colour(rng, (60, 60, 70), 20)
    for x in (door_x0 - 0.08, door_x1):
        canvas.wall(
            np.array(
                [[x, 0, back], [x + 0.08, 0, back], [x + 0.08, door_h, back], [x, door_h, back]]
            ),
            frame_c,
        )
    canvas.wall(
        np.array(
            [
                [door_x0 - 0.08, door_h, back],
                [door_x1 + 0.08, door_h, back],
                [door_x1 + 0.08, door_h + 0.1, back],
                [door_x0 - 0.08, door_h + 0.1, back],
            ]
        ),
        frame_c,
    )
    side = Tex(jitter_colour(rng, wall_colour, 12), coarse=8, fine=4)
    for x in (left, right):
        canvas.wall(
            np.array([[x, 0, 0.3], [x, 0, back], [x, ceiling, back], [x, ceiling, 0.3]]), side
        )
    canvas.wall(
        np.array(
            [
                [left, ceiling, 0.3],
                [right, ceiling, 0.3],
                [right, ceiling, back],
                [left, ceiling, back],
            ]
        ),
        jitter_colour(rng, (225, 230, 230), 10),
    )
    lamp_z = back * 0.5
    canvas.wall(
        np.array(
            [
                [-0.3, ceiling - 0.01, lamp_z - 0.3],
                [0.3, ceiling - 0.01, lamp_z - 0.3],
                [0.3, ceiling - 0.01, lamp_z + 0.3],
                [-0.3, ceiling - 0.01, lamp_z + 0.3],
            ]
        ),
        (250, 250, 250),
    )
    floor_c = jitter_colour(rng, (150, 165, 180), 25)
    canvas.ground(
        np.array([[left, 0.3], [right, 0.3], [right, back], [left, back]]),
        Tex(floor_c, coarse=10, fine=6),
    )
    tile = float(rng.uniform(0.6, 1.0))
    grout = jitter_colour(rng, (110, 120, 130), 10)
    for x in np.arange(left, right, tile):
        canvas.ground(np.array([[x, 0.3], [x + 0.03, 0.3], [x + 0.03, back], [x, back]]), grout)
    for z in np.arange(0.3, back, tile):
        canvas.ground(np.array([[left, z], [right, z], [right, z + 0.03], [left, z + 0.03]]), grout)
    # Mailboxes on one side wall, a notice board on the other.
    box_x = left + 0.01 if rng.random() < 0.5 else right - 0.01
    mz = float(rng.uniform(back * 0.45, back * 0.75))
    canvas.wall(
        np.array(
            [[box_x, 1.0, mz], [box_x, 1.0, mz + 1.5], [box_x, 1.9, mz + 1.5], [box_x, 1.9, mz]]
        ),
        jitter_colour(rng, (90, 130, 60), 30),
    )
    for k in range(5):
        zz = mz + 0.1 + k * 0.28
        canvas.wall(
            np.array(
                [[box_x, 1.1, zz], [box_x, 1.1, zz + 0.2], [box_x, 1.8, zz + 0.2], [box_x, 1.8, zz]]
            ),
            (60, 80, 40),
        )
    board_x = right - 0.01 if box_x < 0 else left + 0.01
    bz = float(rng.uniform(back * 0.3, back * 0.6))
    canvas.wall(
        np.array(
            [
                [board_x, 1.2, bz],
                [board_x, 1.2, bz + 1.2],
                [board_x, 2.0, bz + 1.2],
                [board_x, 2.0, bz],
            ]
        ),
        (230, 225, 215),
    )
    canvas.image = cv2.GaussianBlur(canvas.image, (3, 3), 0.6)
    lobby = np.array(
        [
            [left + 0.2, 0.3],
            [right - 0.2, 0.3],
            [right - 0.2, back - 0.02],
            [left + 0.2, back - 0.02],
        ]
    )
    mid = (door_x0 + door_x1) / 2
    zones = [
        polygon_zone_entry("lobby", camera, lobby),
        line_zone_entry(
            "lobby_entrance", camera, (door_x0, back), (door_x1, back), (mid, back - 1.0)
        ),
    ]
    # Anyone outside is seen only through the doorway, wherever they stand.
    occluder = Occluder(beyond_z=back, mask=~door_opening)
    return SceneLayout(
        scene="stairwell",
        camera=camera,
        background=canvas.image,
        strip=Strip((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)),
        ground_zones={"lobby": lobby},
        zones=zones,
        lanes={
            "back_z": back,
            "left_x": left,
            "right_x": right,
            "door_x0": door_x0,
            "door_x1": door_x1,
            "near_z": near,
            "outside_z": back + float(rng.uniform(2, 4)),
            "ebike_side": -1.0 if rng.random() < 0.5 else 1.0,
        },
        occluder=occluder,
        outdoor=False,
    )


BUILDERS: dict[
    str, Callable[[np.random.Generator, np.random.Generator, int, int, str], SceneLayout]
] = {
    "reservoir": build_reservoir,
    "stairwell": build_stairwell,
    "fire_lane": build_fire_lane,
    "street": build_street,
}
