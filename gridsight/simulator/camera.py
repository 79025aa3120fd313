"""A level pinhole camera over a flat ground plane, and polygon clipping.

World coordinates are metres: ``X`` to the right, ``Y`` up, ``Z`` forward (depth) from
the camera, which sits at ``(0, height_m, 0)``. Tilting the camera is approximated by
moving the horizon row, which keeps projection a pair of divisions: objects further away
are drawn smaller and higher, and straight ground edges stay straight, so a zone drawn on
the ground is a polygon in the image too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR_Z = 0.5  # metres: geometry closer than this is clipped away before projecting


@dataclass(frozen=True, slots=True)
class Camera:
    """Projection parameters.

    Attributes:
        width: image width in pixels.
        height: image height in pixels.
        focal: focal length in pixels.
        cx: column of the optical axis.
        horizon: row of the horizon (may lie above the image for a steep view).
        height_m: camera height above the ground in metres.
    """

    width: int
    height: int
    focal: float
    cx: float
    horizon: float
    height_m: float

    def project(self, xyz: np.ndarray) -> np.ndarray:
        """Project ``(n, 3)`` world points (X, Y, Z) to ``(n, 2)`` pixel points (u, v)."""
        pts = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        z = np.maximum(pts[:, 2], 1e-6)
        u = self.cx + self.focal * pts[:, 0] / z
        v = self.horizon + self.focal * (self.height_m - pts[:, 1]) / z
        return np.stack([u, v], axis=1)

    def ground(self, xz: np.ndarray) -> np.ndarray:
        """Project ``(n, 2)`` ground points (X, Z) to ``(n, 2)`` pixel points."""
        pts = np.asarray(xz, dtype=np.float64).reshape(-1, 2)
        return self.project(np.column_stack([pts[:, 0], np.zeros(len(pts)), pts[:, 1]]))

    def scale(self, z: float) -> float:
        """Pixels per metre for an object at depth ``z``."""
        return self.focal / max(z, 1e-6)

    def ground_z_at_row(self, v: float) -> float:
        """Depth of the ground seen at image row ``v`` (inf at or above the horizon)."""
        dv = v - self.horizon
        return float("inf") if dv <= 0 else self.focal * self.height_m / dv

    def visible_x_range(self, z: float, margin_px: float = 0.0) -> tuple[float, float]:
        """Lateral extent (metres) of the image at depth ``z``, widened by ``margin_px``."""
        half = (self.width / 2.0 + margin_px) * z / self.focal
        offset = (self.cx - self.width / 2.0) * z / self.focal
        return -half - offset, half - offset


def clip_polygon(poly: np.ndarray, normal: np.ndarray, offset: float) -> np.ndarray:
    """Clip a polygon to the half-plane ``normal . p >= offset`` (Sutherland-Hodgman).

    Args:
        poly: ``(n, d)`` vertices in order.
        normal: ``(d,)`` normal of the half-plane.
        offset: the half-plane's offset.

    Returns:
        The clipped polygon's vertices (possibly empty, shape ``(0, d)``).
    """
    pts = np.asarray(poly, dtype=np.float64)
    if len(pts) == 0:
        return pts
    dist = pts @ normal - offset
    out: list[np.ndarray] = []
    n = len(pts)
    for i in range(n):
        cur, nxt = pts[i], pts[(i + 1) % n]
        dc, dn = dist[i], dist[(i + 1) % n]
        if dc >= 0:
            out.append(cur)
        if (dc >= 0) != (dn >= 0):
            t = dc / (dc - dn)
            out.append(cur + t * (nxt - cur))
    return np.array(out, dtype=np.float64).reshape(-1, pts.shape[1])


def clip_to_rect(poly: np.ndarray, width: float, height: float) -> np.ndarray:
    """Clip a ``(n, 2)`` pixel polygon to the image rectangle ``[0, width] x [0, height]``."""
    out = np.asarray(poly, dtype=np.float64)
    for normal, offset in (
        (np.array([1.0, 0.0]), 0.0),
        (np.array([-1.0, 0.0]), -float(width)),
        (np.array([0.0, 1.0]), 0.0),
        (np.array([0.0, -1.0]), -float(height)),
    ):
        out = clip_polygon(out, normal, offset)
        if len(out) == 0:
            break
    return out


def project_ground_polygon(camera: Camera, xz: np.ndarray, *, clip_image: bool) -> np.ndarray:
    """Project a ground polygon, clipping it in front of the camera (and to the image).

    Args:
        camera: the camera.
        xz: ``(n, 2)`` polygon on the ground (X, Z) in metres.
        clip_image: also clip the result to the image rectangle (for zones).

    Returns:
        ``(m, 2)`` pixel polygon, possibly empty.
    """
    front = clip_polygon(np.asarray(xz, dtype=np.float64), np.array([0.0, 1.0]), NEAR_Z)
    if len(front) < 3:
        return np.zeros((0, 2))
    pix = camera.ground(front)
    if clip_image:
        pix = clip_to_rect(pix, camera.width, camera.height)
    return pix


def project_polygon_3d(camera: Camera, xyz: np.ndarray) -> np.ndarray:
    """Project a planar 3-D polygon (e.g. a wall), clipping it in front of the camera."""
    front = clip_polygon(np.asarray(xyz, dtype=np.float64), np.array([0.0, 0.0, 1.0]), NEAR_Z)
    if len(front) < 3:
        return np.zeros((0, 2))
    return camera.project(front)


def dedupe_polygon(pix: np.ndarray, tol: float = 0.05) -> np.ndarray:
    """Drop consecutive (near-)duplicate vertices that clipping can produce."""
    if len(pix) == 0:
        return pix
    keep = [pix[0]]
    for p in pix[1:]:
        if np.hypot(*(p - keep[-1])) > tol:
            keep.append(p)
    if len(keep) > 1 and np.hypot(*(keep[0] - keep[-1])) <= tol:
        keep.pop()
    return np.array(keep)
