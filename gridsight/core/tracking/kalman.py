"""A constant-velocity Kalman filter over boxes, vectorised over all tracks at once.

State per track: ``(cx, cy, w, h, vcx, vcy, vw, vh)``; measurement: ``(cx, cy, w, h)``.
Noise scales with the box size (a 10 px jitter matters for a 30 px pedestrian, not for
a 300 px truck), the weighting ByteTrack and BoT-SORT use. Width and height are filtered
separately rather than through an aspect ratio, which follows people and bicycles that
change shape better.

Every function takes stacked arrays ``mean (n, 8)`` / ``cov (n, 8, 8)`` and works on all
``n`` tracks with a handful of numpy calls; nothing loops over tracks in Python.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

# Smallest width/height the filter lets a box have, so noise terms stay positive.
_MIN_SIZE = 1.0


def xyxy_to_xywh(xyxy: np.ndarray) -> F64:
    """``(n, 4)`` corner boxes to centre/size boxes."""
    b = np.asarray(xyxy, dtype=np.float64)
    wh = b[:, 2:] - b[:, :2]
    return np.concatenate([b[:, :2] + 0.5 * wh, wh], axis=1)


def xywh_to_xyxy(xywh: np.ndarray) -> F64:
    """``(n, 4)`` centre/size boxes to corner boxes (sizes clamped to at least 1 px)."""
    b = np.asarray(xywh, dtype=np.float64)
    half = 0.5 * np.maximum(b[:, 2:4], _MIN_SIZE)
    return np.concatenate([b[:, :2] - half, b[:, :2] + half], axis=1)


class BoxKalman:
    """Kalman filter equations for stacked box tracks.

    Args:
        std_weight_position: position noise as a fraction of box size per step.
        std_weight_velocity: velocity noise as a fraction of box size per step.
    """

    def __init__(self, std_weight_position: float = 1 / 20, std_weight_velocity: float = 1 / 160):
        self.std_pos = std_weight_position
        self.std_vel = std_weight_velocity

    @staticmethod
    def _sizes(mean: F64) -> F64:
        """``(n, 4)`` of ``w, h, w, h``: the scale of each track's noise."""
        wh = np.maximum(mean[:, 2:4], _MIN_SIZE)
        return np.concatenate([wh, wh], axis=1)

    def initiate(self, boxes_xywh: np.ndarray) -> tuple[F64, F64]:
        """New tracks at the measured boxes, at rest, with a wide velocity prior."""
        z = np.asarray(boxes_xywh, dtype=np.float64)
        n = z.shape[0]
        mean = np.zeros((n, 8))
        mean[:, :4] = z
        s = self._sizes(mean)
        std = np.concatenate([2.0 * self.std_pos * s, 10.0 * self.std_vel * s], axis=1)
        cov = np.zeros((n, 8, 8))
        diag = np.arange(8)
        cov[:, diag, diag] = std**2
        return mean, cov

    def predict(self, mean: F64, cov: F64, steps: float = 1.0) -> tuple[F64, F64]:
        """Move every track ``steps`` frames ahead (``steps`` may be fractional).

        The transition ``[[I, sI], [0, I]]`` is applied in block form, which is cheaper
        than two stacked 8x8 matrix products and gives the same numbers.
        """
        if mean.shape[0] == 0:
            return mean, cov
        s = float(steps)
        new_mean = mean.copy()
        new_mean[:, :4] += s * mean[:, 4:]
        p11, p12 = cov[:, :4, :4], cov[:, :4, 4:]
        p21, p22 = cov[:, 4:, :4], cov[:, 4:, 4:]
        new_cov = np.empty_like(cov)
        new_cov[:, :4, :4] = p11 + s * (p12 + p21) + (s * s) * p22
        new_cov[:, :4, 4:] = p12 + s * p22
        new_cov[:, 4:, :4] = p21 + s * p22
        new_cov[:, 4:, 4:] = p22
        sizes = self._sizes(mean)
        # Random-walk noise accumulates linearly with the time step.
        q = np.concatenate([(self.std_pos * sizes) ** 2, (self.std_vel * sizes) ** 2], axis=1)
        diag = np.arange(8)
        new_cov[:, diag, diag] += max(s, 0.0) * q
        return new_mean, new_cov

    def update(self, mean: F64, cov: F64, boxes_xywh: np.ndarray) -> tuple[F64, F64]:
        """Correct each track with its matched measurement (row ``i`` with box ``i``)."""
        if mean.shape[0] == 0:
            return mean, cov
        z = np.asarray(boxes_xywh, dtype=np.float64)
        r = (self.std_pos * self._sizes(mean)) ** 2
        innovation_cov = cov[:, :4, :4].copy()
        diag = np.arange(4)
        innovation_cov[:, diag, diag] += r
        # K = P H^T S^-1; with S symmetric, K^T = solve(S, H P) and H P = P[:, :4, :].
        ph = cov[:, :4, :]
        gain_t = np.linalg.solve(innovation_cov, ph)
        gain = gain_t.transpose(0, 2, 1)
        innovation = z - mean[:, :4]
        new_mean = mean + np.einsum("nij,nj->ni", gain, innovation)
        # P - K S K^T, and S K^T = H P.
        new_cov = cov - gain @ ph
        return new_mean, new_cov
