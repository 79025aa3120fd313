"""Painting helpers for static backgrounds: textures, ground polygons, walls and text.

Everything here runs once per world (the background is pre-rendered), so clarity beats
speed; per-frame work lives in :mod:`gridsight.simulator.render`.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Tex:
    """A texture to fill a region with (generated only over the region's bounding box).

    Attributes:
        colour: base colour (BGR).
        coarse: amplitude of the smooth blotches.
        fine: amplitude of the per-pixel grain.
        cells: blotch frequency, in cells across the full frame width.
    """

    colour: Colour
    coarse: float = 18.0
    fine: float = 8.0
    cells: int = 10


Source = np.ndarray | Colour | Tex


class Canvas:
    """A background being painted, with the camera that maps the world onto it."""

    def __init__(self, camera: Camera, rng: np.random.Generator) -> None:
        self.camera = camera
        self.rng = rng
        self.h, self.w = camera.height, camera.width
        self.image: np.ndarray = np.zeros((self.h, self.w, 3), np.uint8)

    def fill_polygon(self, pix: np.ndarray, source: Source) -> np.ndarray:
        """Paint a pixel polygon with ``source``; returns its full-frame boolean mask.

        Work is confined to the polygon's bounding box: a facade's texture is drawn for
        the facade, not for the whole frame.
        """
        mask = np.zeros((self.h, self.w), bool)
        if len(pix) < 3:
            return mask
        x0 = max(0, int(np.floor(pix[:, 0].min())))
        y0 = max(0, int(np.floor(pix[:, 1].min())))
        x1 = min(self.w, int(np.ceil(pix[:, 0].max())) + 1)
        y1 = min(self.h, int(np.ceil(pix[:, 1].max())) + 1)
        if x1 <= x0 or y1 <= y0:
            return mask
        sub = np.zeros((y1 - y0, x1 - x0), np.uint8)
        pts = np.round((pix - [x0, y0]) * 4).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(sub, [pts], 255, cv2.LINE_8, 2)
        inside = sub > 0
        mask[y0:y1, x0:x1] = inside
        region = self.image[y0:y1, x0:x1]
        if isinstance(source, Tex):
            cells = max(2, round(source.cells * (x1 - x0) / self.w))
            tex = texture(
                self.rng,
                y1 - y0,
                x1 - x0,
                source.colour,
                coarse=source.coarse,
                fine=source.fine,
                cells=cells,
            )
            region[inside] = tex[inside]
        elif isinstance(source, np.ndarray):
            region[inside] = source[y0:y1, x0:x1][inside]
        else:
            region[inside] = np.asarray(source, np.uint8)
        return mask

    def ground(self, xz: np.ndarray, source: Source) -> np.ndarray:
        """Paint a ground polygon (X, Z metres); returns its mask."""
        return self.fill_polygon(project_ground_polygon(self.camera, xz, clip_image=False), source)

    def wall(self, xyz: np.ndarray, source: Source) -> np.ndarray:
        """Paint a planar 3-D polygon (a facade, a wall, a door); returns its mask."""
        return self.fill_polygon(project_polygon_3d(self.camera, xyz), source)

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
        x0 = max(0, int(np.floor(pix[:, 0].min())))
        y0 = max(0, int(np.floor(pix[:, 1].min())))
        x1 = min(self.w, int(np.ceil(pix[:, 0].max())) + 1)
        y1 = min(self.h, int(np.ceil(pix[:, 1].max())) + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        font, scale, thick = cv2.FONT_HERSHEY_DUPLEX, 2.0, 4
        (tw, th), base = cv2.getTextSize(text, font, scale, thick)
        flat = np.zeros((th + base + 8, tw + 8), np.uint8)
        cv2.putText(flat, text, (4, th + 4), font, scale, 255, thick, cv2.LINE_AA)
        fh, fw = flat.shape
        src = np.array([[0, fh], [fw, fh], [fw, 0], [0, 0]], np.float32)
        dst = (pix - [x0, y0]).astype(np.float32)
        homography = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(flat, homography, (x1 - x0, y1 - y0), flags=cv2.INTER_AREA)
        alpha = (warped.astype(np.float32) / 255.0)[..., None]
        region = self.image[y0:y1, x0:x1]
        blended = region * (1 - alpha) + np.asarray(colour, np.float32) * alpha
        region[:] = blended.astype(np.uint8)


def jitter_colour(rng: np.random.Generator, colour: Colour, amount: int = 20) -> Colour:
    """A colour moved by up to ``amount`` per channel."""
    d = rng.integers(-amount, amount + 1, size=3)
    return (
        int(np.clip(colour[0] + d[0], 0, 255)),
        int(np.clip(colour[1] + d[1], 0, 255)),
        int(np.clip(colour[2] + d[2], 0, 255)),
    )
