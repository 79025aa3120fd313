"""Painting helpers for static backgrounds: textures, ground polygons, walls and text.

Everything here runs once per world (the background is pre-rendered), so clarity beats
speed; per-frame work lives in :mod:`gridsight.simulator.render`.
"""

from __future__ import annotations

import cv2
import numpy as np

from gridsight.simulator.camera import Camera, project_ground_polygon, project_polygon_3d

Colour = tuple[int, int, int]


def noise_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: a coarse random grid upsampled bicubically."""
    cy = max(2, cells * h // max(w, 1))
    small = rng.standard_normal((cy + 1, cells + 1)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.asarray(np.clip(big / 2.5, -1.0, 1.0), dtype=np.float32)


def texture(
    rng: np.random.Generator,
    h: int,
    w: int,
    colour: Colour,
    *,
    coarse: float = 18.0,
    fine: float = 8.0,
    cells: int = 10,
) -> np.ndarray:
    """A full-frame texture: a base colour with coarse blotches and fine grain."""
    base = np.asarray(colour, np.float32).reshape(1, 1, 3)
    blot = noise_field(rng, h, w, cells)[..., None] * coarse
    grain = rng.standard_normal((h, w, 1)).astype(np.float32) * fine
    tint = rng.uniform(-0.06, 0.06, size=3).astype(np.float32).reshape(1, 1, 3)
    img = base * (1.0 + tint) + blot + grain
    return np.clip(img, 0, 255).astype(np.uint8)


def sky(rng: np.random.Generator, h: int, w: int, top: Colour, bottom: Colour) -> np.ndarray:
    """A vertical gradient sky with faint clouds."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32).reshape(h, 1, 1)
    grad = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    clouds = np.clip(noise_field(rng, h, w, 6), 0, 1)[..., None] * 40.0
    img = np.broadcast_to(grad, (h, w, 3)) + clouds
    return np.clip(img, 0, 255).astype(np.uint8)


def poly_mask(h: int, w: int, pix: np.ndarray) -> np.ndarray:
    """Boolean mask of a pixel polygon (empty polygon: all False)."""
    mask = np.zeros((h, w), np.uint8)
    if len(pix) >= 3:
        pts = np.round(pix * 4).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(mask, [pts], 255, cv2.LINE_8, 2)
    return mask > 0


class Canvas:
    """A background being painted, with the camera that maps the world onto it."""

    def __init__(self, camera: Camera, rng: np.random.Generator) -> None:
        self.camera = camera
        self.rng = rng
        self.h, self.w = camera.height, camera.width
        self.image: np.ndarray = np.zeros((self.h, self.w, 3), np.uint8)

    def fill_mask(self, mask: np.ndarray, source: np.ndarray | Colour) -> None:
        """Paint ``source`` (an image or a colour) where ``mask`` is True."""
        if isinstance(source, np.ndarray):
            self.image[mask] = source[mask]
        else:
            self.image[mask] = np.asarray(source, np.uint8)

    def ground(self, xz: np.ndarray, source: np.ndarray | Colour) -> np.ndarray:
        """Paint a ground polygon (X, Z metres); returns its mask."""
        pix = project_ground_polygon(self.camera, xz, clip_image=False)
        mask = poly_mask(self.h, self.w, pix)
        self.fill_mask(mask, source)
        return mask

    def wall(self, xyz: np.ndarray, source: np.ndarray | Colour) -> np.ndarray:
        """Paint a planar 3-D polygon (a facade, a wall, a door); returns its mask."""
        pix = project_polygon_3d(self.camera, xyz)
        mask = poly_mask(self.h, self.w, pix)
        self.fill_mask(mask, source)
        return mask

    def texture(self, colour: Colour, **kw: float) -> np.ndarray:
        """A full-frame texture in ``colour`` (see :func:`texture`)."""
        return texture(self.rng, self.h, self.w, colour, **kw)  # type: ignore[arg-type]

    def text_on_plane(self, corners: np.ndarray, text: str, colour: Colour) -> None:
        """Paint ``text`` onto a 3-D quad (bottom-left, bottom-right, top-right, top-left).

        Used for road markings ("FIRE LANE") and shop signs: the text is laid out flat and
        warped by the quad's homography, so it recedes with the surface.
        """
        pix = project_polygon_3d(self.camera, corners)
        if len(pix) != 4:
            return  # partly behind the camera: skip the decoration
        font, scale, thick = cv2.FONT_HERSHEY_DUPLEX, 2.0, 4
        (tw, th), base = cv2.getTextSize(text, font, scale, thick)
        flat = np.zeros((th + base + 8, tw + 8), np.uint8)
        cv2.putText(flat, text, (4, th + 4), font, scale, 255, thick, cv2.LINE_AA)
        fh, fw = flat.shape
        src = np.array([[0, fh], [fw, fh], [fw, 0], [0, 0]], np.float32)
        homography = cv2.getPerspectiveTransform(src, pix.astype(np.float32))
        warped = cv2.warpPerspective(flat, homography, (self.w, self.h), flags=cv2.INTER_LINEAR)
        alpha = (warped.astype(np.float32) / 255.0)[..., None]
        blended = self.image * (1 - alpha) + np.asarray(colour, np.float32) * alpha
        self.image = blended.astype(np.uint8)


def jitter_colour(rng: np.random.Generator, colour: Colour, amount: int = 20) -> Colour:
    """A colour moved by up to ``amount`` per channel."""
    d = rng.integers(-amount, amount + 1, size=3)
    return (
        int(np.clip(colour[0] + d[0], 0, 255)),
        int(np.clip(colour[1] + d[1], 0, 255)),
        int(np.clip(colour[2] + d[2], 0, 255)),
    )
