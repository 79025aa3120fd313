"""A scene's layout: camera, pre-rendered background, ground frame and zones.

Outdoor scenes are laid out in a *strip frame* on the ground: ``a`` runs along the bank,
lane or kerb, ``s`` runs across it, away from the camera. A footpath is a band of ``s``,
a parked car sits at some ``(a, s)``. The strip is rotated against the camera (yaw), so
bands recede diagonally. Zones are ground polygons projected into the image, so "the
feet are in the zone" means the same thing in the world and in the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridsight.core.hazards.zones import LineZone
from gridsight.simulator.camera import Camera, dedupe_polygon, project_ground_polygon

A_FAR = 200.0  # metres along the strip: long enough to leave any view


@dataclass(frozen=True, slots=True)
class Strip:
    """An oriented frame on the ground: ``P(a, s) = origin + a * along + s * across``."""

    origin: tuple[float, float]
    along: tuple[float, float]
    across: tuple[float, float]

    @classmethod
    def rotated(cls, origin: tuple[float, float], yaw: float) -> Strip:
        """A strip whose ``a`` axis is the camera's X axis turned by ``yaw`` radians."""
        c, s = float(np.cos(yaw)), float(np.sin(yaw))
        return cls(origin, (c, s), (-s, c))

    def at(self, a: np.ndarray | float, s: np.ndarray | float) -> np.ndarray:
        """Ground points ``(n, 2)`` (X, Z) of strip coordinates."""
        a_arr = np.atleast_1d(np.asarray(a, np.float64))
        s_arr = np.atleast_1d(np.asarray(s, np.float64))
        x = self.origin[0] + a_arr * self.along[0] + s_arr * self.across[0]
        z = self.origin[1] + a_arr * self.along[1] + s_arr * self.across[1]
        return np.column_stack([x, z])

    def band(self, s0: float, s1: float, a0: float = -A_FAR, a1: float = A_FAR) -> np.ndarray:
        """The ground quad ``a0..a1 x s0..s1``."""
        return self.at(np.array([a0, a1, a1, a0]), np.array([s0, s0, s1, s1]))

    def wall(self, a0: float, a1: float, s: float, y0: float, y1: float) -> np.ndarray:
        """A vertical quad standing on the line ``s`` between ``a0`` and ``a1``.

        Corners: bottom-left, bottom-right, top-right, top-left (as seen facing +s).
        """
        base = self.at(np.array([a0, a1, a1, a0]), np.array([s, s, s, s]))
        ys = np.array([y0, y0, y1, y1])
        return np.column_stack([base[:, 0], ys, base[:, 1]])


@dataclass(frozen=True, slots=True)
class Occluder:
    """A wall that hides actors standing beyond it, except through its openings.

    Attributes:
        beyond_z: actors deeper than this (metres) are drawn before the wall is restored.
        mask: ``(h, w)`` bool, the wall's pixels (openings such as a door excluded).
    """

    beyond_z: float
    mask: np.ndarray


@dataclass(slots=True)
class SceneLayout:
    """What a scene is: built once per world, read by the schedule and the renderer.

    Attributes:
        scene: scene kind.
        camera: the camera.
        background: ``(h, w, 3)`` BGR uint8, before lighting.
        strip: the ground frame actors move in.
        ground_zones: polygon zones as ground polygons (X, Z), by name.
        zones: the zones in the camera-config form (pixels), in a stable order.
        lanes: scene-specific numbers (band offsets ``s`` etc.) the schedule uses.
        occluder: a wall hiding actors behind it, or None.
        outdoor: whether the scene has sky (night lighting differs indoors).
    """

    scene: str
    camera: Camera
    background: np.ndarray
    strip: Strip
    ground_zones: dict[str, np.ndarray]
    zones: list[dict[str, Any]]
    lanes: dict[str, float] = field(default_factory=dict)
    occluder: Occluder | None = None
    outdoor: bool = True

    def a_range(self, s: float, margin_m: float = 2.5) -> tuple[float, float]:
        """The ``a`` interval of line ``s`` that is in view, widened by ``margin_m``.

        Actors start and end their walks just outside it, so they enter and leave the
        picture instead of appearing from nowhere.
        """
        a = np.linspace(-A_FAR, A_FAR, 4001)
        pts = self.strip.at(a, np.full_like(a, s))
        z = pts[:, 1]
        front = z > 1.0
        pix = self.camera.ground(pts)
        inside = front & (pix[:, 0] >= 0) & (pix[:, 0] <= self.camera.width)
        inside &= pix[:, 1] <= self.camera.height
        if not inside.any():
            return 0.0, 0.0
        lo, hi = float(a[inside].min()), float(a[inside].max())
        return lo - margin_m, hi + margin_m


def polygon_zone_entry(name: str, camera: Camera, ground: np.ndarray) -> dict[str, Any]:
    """A polygon zone in config form: the ground polygon projected and clipped to the image."""
    pix = dedupe_polygon(project_ground_polygon(camera, ground, clip_image=True))
    if len(pix) < 3:
        raise ValueError(f"zone {name!r} is out of view")  # a layout bug, not user input
    # "+ 0.0" turns the -0.0 that clipping can leave into 0.0, for tidy YAML.
    points = [[round(float(x), 1) + 0.0, round(float(y), 1) + 0.0] for x, y in pix]
    return {"name": name, "kind": "polygon", "points": points}


def line_zone_entry(
    name: str,
    camera: Camera,
    start_xz: tuple[float, float],
    end_xz: tuple[float, float],
    inside_xz: tuple[float, float],
) -> dict[str, Any]:
    """A line zone in config form whose ``inward`` side is the one holding ``inside_xz``."""
    pix = camera.ground(np.array([start_xz, end_xz, inside_xz]))
    start = [round(float(pix[0, 0]), 1) + 0.0, round(float(pix[0, 1]), 1) + 0.0]
    end = [round(float(pix[1, 0]), 1) + 0.0, round(float(pix[1, 1]), 1) + 0.0]
    probe = LineZone(name, tuple(start), tuple(end), inward="left")
    inward = "left" if bool(probe.on_inward_side(pix[2:3])[0]) else "right"
    return {"name": name, "kind": "line", "points": [start, end], "inward": inward}


def points_in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Vectorised even-odd test of ``(n, 2)`` points against a ``(k, 2)`` polygon."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    px, py = pts[:, 0:1], pts[:, 1:2]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    straddle = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    hits = straddle & (px < x_at)
    return np.asarray(np.count_nonzero(hits, axis=1) % 2 == 1)
