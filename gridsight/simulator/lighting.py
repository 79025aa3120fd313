"""Time of day and sensor effects: lighting, noise, blur, compression, camera shake.

Lighting is applied to the pre-rendered background once and to each actor's small patch
when it is composited, never to the whole frame per frame. Night is rendered the way a
security camera with an infra-red illuminator sees it: greyscale, bright in the middle,
dark in the corners, noisy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


class Lighting:
    """Maps drawn colours to what the camera records at this time of day.

    Args:
        kind: ``day`` | ``dusk`` | ``night``.
        h: frame height.
        w: frame width.
        rng: draws the exposure of this world.
    """

    def __init__(self, kind: str, h: int, w: int, rng: np.random.Generator) -> None:
        self.kind = kind
        if kind == "day":
            self.gain = np.full(3, rng.uniform(0.88, 1.12), np.float32)
            self.offset = float(rng.uniform(-8.0, 8.0))
        elif kind == "dusk":
            tint = np.array([0.85, 0.95, 1.1], np.float32)
            self.gain = tint * np.float32(rng.uniform(0.45, 0.65))
            self.offset = float(rng.uniform(4.0, 12.0))
        else:
            self.gain = np.full(3, rng.uniform(0.85, 1.15), np.float32)
            self.offset = float(rng.uniform(5.0, 18.0))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
        falloff = float(rng.uniform(0.25, 0.45)) if kind == "night" else 0.08
        self.vignette = (1.0 - falloff * r2).astype(np.float32)

    def apply(self, image: np.ndarray, x0: int = 0, y0: int = 0) -> np.ndarray:
        """Light ``image`` placed at ``(x0, y0)`` in the frame (the vignette depends on it)."""
        h, w = image.shape[:2]
        vig = self.vignette[y0 : y0 + h, x0 : x0 + w, None]
        if self.kind == "night":
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None]
            out = grey * self.gain[0] * vig + self.offset
            out = np.repeat(out, 3, axis=2)
        else:
            out = image.astype(np.float32) * self.gain * vig + self.offset
        return np.clip(out, 0, 255).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class SensorEffects:
    """Per-world sensor imperfections, drawn from the seed.

    Attributes:
        noise_sigma: standard deviation of additive noise (grey levels).
        blur_sigma: Gaussian blur (0: none).
        jpeg_quality: JPEG quality of the compression round trip (0: none).
        shake_px: amplitude of the camera shake in pixels (0: none). Shake moves the whole
            picture by at most this much; truth boxes move with it, zones do not (they are
            off by at most this many pixels).
        shake_hz: the two shake frequencies (x, y).
        shake_phase: the two shake phases.
    """

    noise_sigma: float
    blur_sigma: float
    jpeg_quality: int
    shake_px: float
    shake_hz: tuple[float, float]
    shake_phase: tuple[float, float]

    @classmethod
    def draw(cls, rng: np.random.Generator, lighting: str, width: int) -> SensorEffects:
        noise = {"day": (1.5, 5.0), "dusk": (3.0, 7.0)}.get(lighting, (5.0, 10.0))
        blur = float(rng.uniform(0.0, 1.1))
        shake = 0.0 if rng.random() < 0.5 else float(rng.uniform(0.3, 1.5)) * width / 640
        return cls(
            noise_sigma=float(rng.uniform(*noise)),
            blur_sigma=blur if blur >= 0.4 else 0.0,
            jpeg_quality=int(rng.integers(35, 93)),
            shake_px=shake,
            shake_hz=(float(rng.uniform(0.3, 1.2)), float(rng.uniform(0.3, 1.2))),
            shake_phase=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
        )

    @classmethod
    def none(cls) -> SensorEffects:
        return cls(0.0, 0.0, 0, 0.0, (0.0, 0.0), (0.0, 0.0))

    def shake(self, t: float) -> tuple[float, float]:
        """The picture's offset in pixels at stream time ``t`` (smooth, deterministic)."""
        if self.shake_px <= 0:
            return 0.0, 0.0
        dx = self.shake_px * math.sin(2 * math.pi * self.shake_hz[0] * t + self.shake_phase[0])
        dy = self.shake_px * math.sin(2 * math.pi * self.shake_hz[1] * t + self.shake_phase[1])
        return dx, dy


class SensorPipeline:
    """Applies :class:`SensorEffects` to composed frames, fast.

    Noise comes from a small bank of pre-drawn noise images chosen per frame, so a frame
    costs a saturating add and subtract, not a fresh draw of 700k normal numbers. The
    noise is luma noise (the same in the three channels): right for IR at night, and
    cheap.
    """

    _BANK = 6

    def __init__(self, effects: SensorEffects, h: int, w: int, rng: np.random.Generator):
        self.effects = effects
        # Each bank entry is (positive part, negative part) as uint8, for cv2.add/subtract.
        self.bank: list[tuple[np.ndarray, np.ndarray]] = []
        if effects.noise_sigma > 0:
            for _ in range(self._BANK):
                noise = rng.standard_normal((h, w)).astype(np.float32) * effects.noise_sigma
                noise = np.clip(np.round(noise), -255, 255)
                pos = np.repeat(np.clip(noise, 0, None).astype(np.uint8)[..., None], 3, axis=2)
                neg = np.repeat(np.clip(-noise, 0, None).astype(np.uint8)[..., None], 3, axis=2)
                self.bank.append((pos, neg))

    def __call__(self, frame: np.ndarray, t: float, index: int) -> tuple[np.ndarray, float, float]:
        """Return the processed frame and the shake offset ``(dx, dy)`` applied to it."""
        fx = self.effects
        dx, dy = fx.shake(t)
        out: np.ndarray = frame
        if dx or dy:
            matrix = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], np.float32)
            out = cv2.warpAffine(
                out,
                matrix,
                (out.shape[1], out.shape[0]),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
        if fx.blur_sigma > 0:
            out = cv2.GaussianBlur(out, (0, 0), fx.blur_sigma)
        if self.bank:
            pos, neg = self.bank[(index * 5 + index // self._BANK) % self._BANK]
            out = cv2.subtract(cv2.add(out, pos), neg)
        if fx.jpeg_quality > 0:
            ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, fx.jpeg_quality])
            decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
            if decoded is not None:
                out = decoded
        return out, dx, dy
