"""Drawing actors: people, bicycles, e-bikes, motorbikes, cars/vans and vendor stalls.

Each actor is drawn in side view (people in a three-quarter view) with OpenCV primitives
into a small patch, together with a mask of exactly the pixels it covers. Geometry is
given in metres relative to the actor's ground contact point (``x`` along the direction
it faces, ``y`` up), so the same drawing works at every distance from the camera.

The masks are what make the ground truth honest: a truth box is the extent of the mask,
and occlusion is measured by how much of the mask survives compositing.

The differences between a bicycle and an e-bike are the ones a person would use: a
bicycle has a diamond frame (top tube), thin tyres, large wheels, cranks that turn and a
rider whose legs pedal; an e-bike has a step-through frame with a low footboard, small
thick tyres, a battery box under the seat, body panels, a headlight and often a basket,
and its rider's feet rest still on the footboard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from gridsight.core.detection.roles import Role

_SHIFT = 2  # sub-pixel bits for cv2 drawing: small far-away sprites keep their shape
_ONE = 1 << _SHIFT

Colour = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Look:
    """How one actor looks: its kind, size and colours, drawn once from the schedule RNG.

    Attributes:
        kind: ``person`` | ``bicycle`` | ``ebike`` | ``motorbike`` | ``car`` | ``van`` |
            ``stall_umbrella`` | ``stall_table`` | ``stall_tricycle``.
        size: main size in metres (person height, vehicle length, stall width).
        colours: named BGR colours.
        variant: a small integer choosing drawing details (basket, rack, stripes...).
        rider: the look of the rider for ridden vehicles, else None.
    """

    kind: str
    size: float
    colours: dict[str, Colour] = field(default_factory=dict)
    variant: int = 0
    rider: Look | None = None


ROLE_OF_KIND: dict[str, Role] = {
    "person": Role.PERSON,
    "bicycle": Role.BICYCLE,
    "ebike": Role.EBIKE,
    "motorbike": Role.MOTORBIKE,
    "car": Role.CAR,
    "van": Role.CAR,
    "stall_umbrella": Role.STALL,
    "stall_table": Role.STALL,
    "stall_tricycle": Role.STALL,
}

# Half-width and height of the patch to allocate, in metres, per kind (generous).
_EXTENT: dict[str, tuple[float, float]] = {
    "person": (0.7, 2.1),
    "bicycle": (1.1, 1.3),
    "ebike": (1.1, 1.3),
    "motorbike": (1.3, 1.4),
    "car": (2.7, 1.8),
    "van": (3.0, 2.5),
    "stall_umbrella": (1.4, 2.6),
    "stall_table": (1.3, 2.4),
    "stall_tricycle": (1.3, 2.6),
}
_RIDER_HEIGHT = 1.95  # metres above the ground a rider's head can reach


@dataclass(slots=True)
class Patch:
    """One drawn part of an actor: colours, coverage mask and its top-left pixel."""

    role: Role
    image: np.ndarray
    mask: np.ndarray
    x0: int
    y0: int


class _Pen:
    """Draws metric primitives into a colour patch and its mask at once."""

    def __init__(self, u0: float, v0: float, scale: float, facing: int, hw: float, h: float):
        self.scale = scale
        self.facing = 1 if facing >= 0 else -1
        pad = 3
        self.x0 = math.floor(u0 - hw * scale) - pad
        self.y0 = math.floor(v0 - h * scale) - pad
        width = math.ceil(2 * hw * scale) + 2 * pad + 1
        height = math.ceil(h * scale) + 2 * pad + 1
        self.image = np.zeros((height, width, 3), np.uint8)
        self.mask = np.zeros((height, width), np.uint8)
        self.ou = u0 - self.x0
        self.ov = v0 - self.y0

    def pt(self, x: float, y: float) -> tuple[int, int]:
        u = self.ou + self.facing * x * self.scale
        v = self.ov - y * self.scale
        return round(u * _ONE), round(v * _ONE)

    def px(self, metres: float, minimum: int = 1) -> int:
        return max(minimum, round(metres * self.scale))

    def line(self, a: tuple[float, float], b: tuple[float, float], w: float, c: Colour) -> None:
        t = self.px(w)
        pa, pb = self.pt(*a), self.pt(*b)
        cv2.line(self.image, pa, pb, c, t, cv2.LINE_8, _SHIFT)
        cv2.line(self.mask, pa, pb, 255, t, cv2.LINE_8, _SHIFT)

    def poly(self, pts: list[tuple[float, float]], c: Colour) -> None:
        arr = np.array([self.pt(x, y) for x, y in pts], np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(self.image, [arr], c, cv2.LINE_8, _SHIFT)
        cv2.fillPoly(self.mask, [arr], 255, cv2.LINE_8, _SHIFT)

    def rect(self, xa: float, ya: float, xb: float, yb: float, c: Colour) -> None:
        self.poly([(xa, ya), (xb, ya), (xb, yb), (xa, yb)], c)

    def circle(self, ctr: tuple[float, float], r: float, c: Colour, w: float = 0.0) -> None:
        rad = max(1, round(r * self.scale * _ONE))
        t = -1 if w <= 0 else self.px(w)
        p = self.pt(*ctr)
        cv2.circle(self.image, p, rad, c, t, cv2.LINE_8, _SHIFT)
        cv2.circle(self.mask, p, rad, 255, t, cv2.LINE_8, _SHIFT)

    def ellipse(
        self, ctr: tuple[float, float], axes: tuple[float, float], c: Colour, a0: int, a1: int
    ) -> None:
        p = self.pt(*ctr)
        ax = (
            max(1, round(axes[0] * self.scale * _ONE)),
            max(1, round(axes[1] * self.scale * _ONE)),
        )
        # Mirrored sprites flip the arc too: angles are measured in image coordinates.
        s0, s1 = (a0, a1) if self.facing > 0 else (180 - a1, 180 - a0)
        cv2.ellipse(self.image, p, ax, 0, s0, s1, c, -1, cv2.LINE_8, _SHIFT)
        cv2.ellipse(self.mask, p, ax, 0, s0, s1, 255, -1, cv2.LINE_8, _SHIFT)

    def patch(self, role: Role) -> Patch:
        return Patch(role, self.image, self.mask, self.x0, self.y0)


def _shade(c: Colour, k: float) -> Colour:
    return (min(255, int(c[0] * k)), min(255, int(c[1] * k)), min(255, int(c[2] * k)))


# --------------------------------------------------------------------------- people


def _draw_person(pen: _Pen, look: Look, phase: float, moving: bool, x: float = 0.0) -> None:
    h = look.size
    col = look.colours
    swing = 0.22 * h * math.sin(phase) if moving else 0.0
    lift = 0.04 * h * max(0.0, math.cos(phase)) if moving else 0.0
    hip = (x, 0.52 * h)
    shoulder = (x + 0.02 * h, 0.81 * h)
    leg_w = 0.075 * h
    # Far leg a shade darker, so a walking person reads as two legs, not a blob.
    pen.line(hip, (x - swing * 0.5, lift), leg_w, _shade(col["pants"], 0.75))
    pen.line(hip, (x + swing * 0.5, 0.0), leg_w, col["pants"])
    pen.line(
        (x + swing * 0.5, 0.015 * h),
        (x + swing * 0.5 + 0.07 * h, 0.015 * h),
        0.035 * h,
        col["shoes"],
    )
    pen.poly(
        [
            (x - 0.11 * h, 0.50 * h),
            (x + 0.11 * h, 0.50 * h),
            (x + 0.12 * h, 0.82 * h),
            (x - 0.10 * h, 0.82 * h),
        ],
        col["shirt"],
    )
    arm = -0.12 * h * math.sin(phase) if moving else 0.02 * h
    pen.line(shoulder, (x + arm, 0.50 * h), 0.055 * h, _shade(col["shirt"], 0.85))
    pen.circle((x + 0.01 * h, 0.04 * h + 0.85 * h + 0.035 * h), 0.065 * h, col["skin"])
    pen.ellipse((x + 0.01 * h, 0.93 * h), (0.068 * h, 0.05 * h), col["hair"], 180, 360)
    if look.variant % 4 == 1:  # a bag on the shoulder
        pen.rect(x - 0.16 * h, 0.55 * h, x - 0.07 * h, 0.66 * h, col["bag"])


def _draw_rider(
    pen: _Pen,
    look: Look,
    seat: tuple[float, float],
    hands: tuple[float, float],
    feet: list[tuple[float, float]],
    helmet: bool,
) -> None:
    h = look.size
    col = look.colours
    hip = seat
    shoulder = (seat[0] + 0.12 * h, seat[1] + 0.30 * h)
    knee_out = 0.2 * h
    for i, foot in enumerate(feet):
        knee = (hip[0] + knee_out, (hip[1] + foot[1]) / 2 + 0.08 * h)
        shade = 0.75 if i == 0 else 1.0
        pen.line(hip, knee, 0.075 * h, _shade(col["pants"], shade))
        pen.line(knee, foot, 0.065 * h, _shade(col["pants"], shade))
    pen.line(hip, shoulder, 0.2 * h, col["shirt"])
    pen.line(shoulder, hands, 0.05 * h, _shade(col["shirt"], 0.85))
    head = (shoulder[0] + 0.04 * h, shoulder[1] + 0.11 * h)
    if helmet:
        pen.circle(head, 0.085 * h, col["helmet"])
        pen.rect(
            head[0] + 0.02 * h,
            head[1] - 0.03 * h,
            head[0] + 0.08 * h,
            head[1] + 0.02 * h,
            (40, 40, 40),
        )
    else:
        pen.circle(head, 0.065 * h, col["skin"])
        pen.ellipse((head[0], head[1] + 0.015 * h), (0.068 * h, 0.05 * h), col["hair"], 180, 360)


# --------------------------------------------------------------------------- two-wheelers


def _wheel(
    pen: _Pen,
    ctr: tuple[float, float],
    r: float,
    tyre: float,
    spokes: int,
    phase: float,
    hub: Colour,
) -> None:
    pen.circle(ctr, r - tyre / 2, (30, 30, 30), w=tyre)
    for k in range(spokes):
        a = phase + k * math.pi / max(spokes, 1)
        dx, dy = math.cos(a) * (r - tyre), math.sin(a) * (r - tyre)
        pen.line((ctr[0] - dx, ctr[1] - dy), (ctr[0] + dx, ctr[1] + dy), 0.012, hub)
    pen.circle(ctr, max(0.03, r * 0.12), hub)


def _draw_bicycle(
    pen: _Pen, look: Look, phase: float, moving: bool
) -> tuple[tuple[float, float], tuple[float, float]]:
    col = look.colours
    r, tyre = 0.34, 0.035
    rear, front = (-0.52, r), (0.53, r)
    bb, seat_top, head_top, head_bot = (-0.04, 0.3), (-0.2, 0.86), (0.37, 0.86), (0.41, 0.7)
    wheel_phase = phase * 0.8 if moving else 0.3
    _wheel(pen, rear, r, tyre, 3, wheel_phase, (170, 170, 170))
    _wheel(pen, front, r, tyre, 3, wheel_phase, (170, 170, 170))
    fc, w = col["frame"], 0.04
    pen.line(seat_top, head_top, w, fc)  # the top tube a step-through frame lacks
    pen.line(bb, head_bot, w, fc)
    pen.line(bb, seat_top, w, fc)
    pen.line(bb, rear, w * 0.8, fc)
    pen.line(seat_top, rear, w * 0.8, fc)
    pen.line(head_top, head_bot, w, fc)
    pen.line(head_bot, front, w * 0.8, fc)
    pen.line((seat_top[0] - 0.02, seat_top[1]), (-0.24, 0.94), 0.03, (60, 60, 60))
    pen.line((-0.33, 0.95), (-0.13, 0.95), 0.05, (25, 25, 25))  # saddle
    pen.line(head_top, (0.33, 1.0), 0.03, (60, 60, 60))
    pen.line((0.27, 1.0), (0.43, 1.0), 0.03, (50, 50, 50))  # handlebar
    crank = phase if moving else 0.6
    pedals = []
    for k in (0.0, math.pi):
        p = (bb[0] + 0.17 * math.cos(crank + k), bb[1] + 0.17 * math.sin(crank + k))
        pen.line(bb, p, 0.03, (90, 90, 90))
        pen.line((p[0] - 0.05, p[1]), (p[0] + 0.05, p[1]), 0.03, (20, 20, 20))
        pedals.append(p)
    if look.variant % 3 == 1:  # rear rack
        pen.line((-0.2, 0.78), (-0.72, 0.78), 0.03, (80, 80, 80))
    return pedals[0], pedals[1]


def _draw_ebike(pen: _Pen, look: Look, phase: float, moving: bool) -> None:
    col = look.colours
    r, tyre = 0.25, 0.085
    rear, front = (-0.58, r), (0.6, r)
    body = col["body"]
    wheel_phase = phase * 1.3 if moving else 0.3
    _wheel(pen, rear, r, tyre, 2, wheel_phase, (120, 120, 120))
    _wheel(pen, front, r, tyre, 2, wheel_phase, (120, 120, 120))
    # Mudguards over both wheels.
    pen.ellipse(rear, (r + 0.05, r + 0.05), _shade(body, 0.8), 200, 340)
    pen.ellipse(front, (r + 0.04, r + 0.04), _shade(body, 0.8), 210, 330)
    pen.circle(rear, r - tyre, (30, 30, 30))
    pen.circle(front, r - tyre, (30, 30, 30))
    pen.circle(rear, 0.05, (150, 150, 150))
    pen.circle(front, 0.05, (150, 150, 150))
    # Low step-through footboard and the rear body over the wheel.
    pen.rect(-0.28, 0.22, 0.32, 0.33, (45, 45, 45))
    pen.poly([(-0.3, 0.3), (-0.82, 0.48), (-0.86, 0.66), (-0.22, 0.7), (-0.12, 0.36)], body)
    # The battery box: a dark block with a light label band under the seat.
    pen.rect(-0.66, 0.36, -0.26, 0.62, col["battery"])
    pen.rect(-0.62, 0.46, -0.3, 0.51, (200, 200, 200))
    pen.line((-0.84, 0.76), (-0.24, 0.76), 0.09, (25, 25, 25))  # seat
    # Leg shield column up to the handlebar, fork, headlight and basket.
    pen.poly([(0.26, 0.3), (0.38, 0.3), (0.52, 0.98), (0.38, 1.0)], body)
    pen.line((0.45, 0.62), front, 0.05, (70, 70, 70))
    pen.line((0.34, 1.06), (0.56, 1.04), 0.04, (40, 40, 40))
    pen.circle((0.55, 0.86), 0.06, (200, 240, 250))
    if look.variant % 2 == 0:
        pen.rect(0.54, 0.74, 0.82, 0.98, (60, 60, 60))
        pen.rect(0.57, 0.78, 0.79, 0.95, _shade(body, 0.5))


def _draw_motorbike(pen: _Pen, look: Look, phase: float, moving: bool) -> None:
    col = look.colours
    r, tyre = 0.31, 0.09
    rear, front = (-0.68, r), (0.7, r)
    wheel_phase = phase * 0.9 if moving else 0.3
    _wheel(pen, rear, r, tyre, 3, wheel_phase, (160, 160, 160))
    _wheel(pen, front, r, tyre, 3, wheel_phase, (160, 160, 160))
    pen.line(rear, (-0.05, 0.5), 0.07, (50, 50, 50))  # swing arm
    pen.rect(-0.18, 0.28, 0.3, 0.68, (55, 55, 60))  # engine
    pen.line((0.0, 0.32), (-0.85, 0.42), 0.07, (190, 190, 195))  # exhaust
    pen.ellipse((0.2, 0.86), (0.3, 0.13), col["tank"], 0, 360)  # fuel tank
    pen.poly([(-0.75, 0.8), (-0.05, 0.82), (-0.05, 0.9), (-0.7, 0.92)], (20, 20, 20))  # seat
    pen.poly([(-0.9, 0.72), (-0.55, 0.66), (-0.6, 0.82), (-0.95, 0.86)], col["tank"])  # tail
    pen.line((0.48, 1.08), front, 0.07, (110, 110, 110))  # fork
    pen.line((0.38, 1.1), (0.62, 1.12), 0.04, (40, 40, 40))
    pen.circle((0.62, 0.95), 0.08, (210, 240, 250))


def _draw_two_wheeler(
    pen: _Pen, rider_pen: _Pen | None, look: Look, phase: float, moving: bool
) -> None:
    if look.kind == "bicycle":
        p1, p2 = _draw_bicycle(pen, look, phase, moving)
        if rider_pen is not None and look.rider is not None:
            _draw_rider(rider_pen, look.rider, (-0.24, 0.98), (0.4, 1.02), [p2, p1], False)
    elif look.kind == "ebike":
        _draw_ebike(pen, look, phase, moving)
        if rider_pen is not None and look.rider is not None:
            # Feet rest still on the footboard: e-bike riders do not pedal.
            _draw_rider(
                rider_pen,
                look.rider,
                (-0.45, 0.84),
                (0.42, 1.06),
                [(0.05, 0.36), (0.18, 0.36)],
                look.rider.variant % 2 == 0,
            )
    else:
        _draw_motorbike(pen, look, phase, moving)
        if rider_pen is not None and look.rider is not None:
            _draw_rider(
                rider_pen, look.rider, (-0.35, 0.94), (0.45, 1.1), [(0.0, 0.45), (0.12, 0.45)], True
            )


# --------------------------------------------------------------------------- four wheels


def _draw_car(pen: _Pen, look: Look, phase: float, moving: bool) -> None:
    col = look.colours
    length = look.size
    half = length / 2
    van = look.kind == "van"
    body = col["body"]
    r = 0.33 if not van else 0.36
    height = 1.5 if not van else 2.05
    glass = col["glass"]
    if van:
        pen.poly(
            [(-half, 0.28), (half, 0.28), (half, 1.0), (half - 0.55, height), (-half, height)], body
        )
        pen.poly(
            [
                (half - 0.1, 1.05),
                (half - 0.6, height - 0.12),
                (half - 1.1, height - 0.12),
                (half - 1.1, 1.05),
            ],
            glass,
        )
        pen.rect(-half + 0.3, 1.1, half - 1.3, height - 0.15, _shade(body, 0.93))
    else:
        pen.poly(
            [
                (-half, 0.3),
                (half, 0.3),
                (half, 0.78),
                (half - 0.25, 0.9),
                (-half + 0.1, 0.95),
                (-half, 0.8),
            ],
            body,
        )
        top = [
            (half * 0.45, 0.9),
            (half * 0.12, height),
            (-half * 0.5, height),
            (-half * 0.78, 0.93),
        ]
        pen.poly(top, body)
        pen.poly(
            [
                (half * 0.38, 0.92),
                (half * 0.1, height - 0.08),
                (-half * 0.15, height - 0.08),
                (-half * 0.15, 0.92),
            ],
            glass,
        )
        pen.poly(
            [
                (-half * 0.2, 0.92),
                (-half * 0.2, height - 0.08),
                (-half * 0.47, height - 0.08),
                (-half * 0.68, 0.94),
            ],
            glass,
        )
    pen.line((-half, 0.42), (half, 0.42), 0.05, _shade(body, 0.7))
    pen.rect(half - 0.12, 0.62, half, 0.74, (190, 235, 245))  # headlight
    pen.rect(-half, 0.62, -half + 0.1, 0.76, (40, 40, 200))  # tail light
    for wx in (half - 0.8, -half + 0.8):
        pen.circle((wx, r), r, (25, 25, 25))
        pen.circle((wx, r), r * 0.5, (150, 150, 150))
        spin = phase * 0.5 if moving else 0.0
        pen.line(
            (wx + 0.12 * math.cos(spin), r + 0.12 * math.sin(spin)),
            (wx - 0.12 * math.cos(spin), r - 0.12 * math.sin(spin)),
            0.03,
            (90, 90, 90),
        )


# --------------------------------------------------------------------------- stalls


def _draw_stall(pen: _Pen, look: Look) -> None:
    col = look.colours
    w = look.size
    half = w / 2
    canopy, canopy2 = col["canopy"], col["canopy2"]
    if look.kind == "stall_umbrella":
        pen.rect(-half * 0.7, 0.25, half * 0.7, 0.9, col["cart"])
        pen.rect(-half * 0.7, 0.9, half * 0.7, 1.0, _shade(col["cart"], 0.7))
        for k in range(4):
            x = -half * 0.6 + k * half * 0.35
            pen.rect(x, 1.0, x + half * 0.25, 1.15, col["goods"] if k % 2 else col["goods2"])
        pen.circle((-half * 0.55, 0.17), 0.17, (35, 35, 35))
        pen.circle((half * 0.55, 0.17), 0.17, (35, 35, 35))
        pen.line((0.0, 1.0), (0.0, 2.2), 0.04, (90, 90, 90))
        pen.ellipse((0.0, 2.15), (half * 1.1, 0.45), canopy, 180, 360)
        pen.ellipse((0.0, 2.15), (half * 0.4, 0.45), canopy2, 180, 360)
    elif look.kind == "stall_table":
        pen.rect(-half, 0.72, half, 0.8, _shade(col["cart"], 0.8))
        pen.rect(-half, 0.3, half, 0.75, col["cloth"])
        for k in range(5):
            x = -half + 0.1 + k * (w - 0.2) / 5
            pen.rect(x, 0.8, x + (w - 0.2) / 6, 0.98, col["goods"] if k % 2 else col["goods2"])
        pen.line((-half, 0.3), (-half, 2.05), 0.05, (80, 80, 80))
        pen.line((half, 0.3), (half, 2.05), 0.05, (80, 80, 80))
        pen.line((-half, 0.0), (-half, 0.3), 0.05, (80, 80, 80))
        pen.line((half, 0.0), (half, 0.3), 0.05, (80, 80, 80))
        stripes = 4
        for k in range(stripes):
            xa = -half - 0.1 + k * (w + 0.2) / stripes
            pen.poly(
                [
                    (xa, 2.0),
                    (xa + (w + 0.2) / stripes, 2.0),
                    (xa + (w + 0.2) / stripes, 2.3),
                    (xa, 2.3),
                ],
                canopy if k % 2 == 0 else canopy2,
            )
    else:  # tricycle cart
        pen.circle((half * 0.75, 0.22), 0.22, (30, 30, 30), w=0.06)
        pen.circle((-half * 0.5, 0.22), 0.22, (30, 30, 30), w=0.06)
        pen.rect(-half, 0.45, half * 0.35, 1.1, col["cart"])
        pen.rect(-half + 0.05, 1.1, half * 0.3, 1.25, col["goods"])
        pen.line((half * 0.35, 0.5), (half * 0.75, 0.22), 0.05, (70, 70, 70))
        pen.line((half * 0.5, 0.9), (half * 0.75, 1.1), 0.05, (70, 70, 70))
        pen.line((-half * 0.9, 1.25), (-half * 0.9, 2.1), 0.04, (90, 90, 90))
        pen.line((half * 0.2, 1.25), (half * 0.2, 2.1), 0.04, (90, 90, 90))
        pen.rect(-half * 1.05, 2.05, half * 0.35, 2.25, canopy)


# --------------------------------------------------------------------------- entry point


def draw_actor(
    look: Look, u0: float, v0: float, scale: float, facing: int, phase: float, moving: bool
) -> list[Patch]:
    """Draw one actor standing on image point ``(u0, v0)``.

    Args:
        look: what to draw.
        u0: column of the ground contact point.
        v0: row of the ground contact point.
        scale: pixels per metre at the actor's depth.
        facing: +1 facing right, -1 facing left.
        phase: animation phase in radians (walking, pedalling, wheels turning).
        moving: whether the actor moves (legs swing, cranks turn) or stands still.

    Returns:
        Patches in drawing order: the actor itself and, for a ridden vehicle, its rider
        (a separate person in the ground truth).
    """
    hw, h = _EXTENT[look.kind]
    pen = _Pen(u0, v0, scale, facing, hw, h)
    role = ROLE_OF_KIND[look.kind]
    if look.kind == "person":
        _draw_person(pen, look, phase, moving)
        return [pen.patch(role)]
    if look.kind in ("bicycle", "ebike", "motorbike"):
        rider_pen = None
        if look.rider is not None:
            rider_pen = _Pen(u0, v0, scale, facing, hw, _RIDER_HEIGHT + 0.1)
        _draw_two_wheeler(pen, rider_pen, look, phase, moving)
        parts = [pen.patch(role)]
        if rider_pen is not None:
            parts.append(rider_pen.patch(Role.PERSON))
        return parts
    if look.kind in ("car", "van"):
        _draw_car(pen, look, phase, moving)
        return [pen.patch(role)]
    _draw_stall(pen, look)
    return [pen.patch(role)]


# --------------------------------------------------------------------------- random looks

_SHIRTS: tuple[Colour, ...] = (
    (40, 40, 200),
    (200, 90, 30),
    (60, 160, 60),
    (230, 230, 230),
    (30, 30, 30),
    (30, 190, 230),
    (140, 60, 140),
    (120, 120, 120),
    (170, 120, 60),
    (90, 90, 220),
)
_PANTS: tuple[Colour, ...] = (
    (50, 40, 30),
    (110, 70, 40),
    (40, 40, 40),
    (160, 150, 140),
    (90, 100, 110),
)
_SKIN: tuple[Colour, ...] = ((150, 180, 220), (120, 155, 200), (100, 130, 175), (175, 200, 230))
_VEHICLE: tuple[Colour, ...] = (
    (235, 235, 235),
    (30, 30, 30),
    (170, 170, 175),
    (40, 40, 170),
    (150, 80, 30),
    (60, 120, 60),
    (200, 190, 170),
    (110, 110, 115),
    (30, 140, 220),
)
_BRIGHT: tuple[Colour, ...] = (
    (40, 40, 220),
    (220, 120, 30),
    (40, 180, 40),
    (30, 200, 240),
    (200, 60, 200),
    (240, 240, 240),
    (30, 30, 30),
    (40, 100, 240),
)


def _pick(rng: np.random.Generator, options: tuple[Colour, ...]) -> Colour:
    c = options[int(rng.integers(len(options)))]
    jitter = rng.integers(-18, 19, size=3)
    return (
        int(np.clip(c[0] + jitter[0], 0, 255)),
        int(np.clip(c[1] + jitter[1], 0, 255)),
        int(np.clip(c[2] + jitter[2], 0, 255)),
    )


def random_person(rng: np.random.Generator, child_ok: bool = True) -> Look:
    """A random pedestrian look."""
    height = (
        float(rng.uniform(1.15, 1.35))
        if child_ok and rng.random() < 0.1
        else float(rng.uniform(1.55, 1.88))
    )
    colours = {
        "shirt": _pick(rng, _SHIRTS),
        "pants": _pick(rng, _PANTS),
        "skin": _pick(rng, _SKIN),
        "hair": _pick(rng, ((20, 20, 25), (40, 50, 70), (150, 150, 150))),
        "shoes": _pick(rng, ((20, 20, 20), (220, 220, 220), (40, 60, 100))),
        "bag": _pick(rng, _BRIGHT),
        "helmet": _pick(rng, _BRIGHT),
    }
    return Look("person", height, colours, int(rng.integers(8)))


def random_look(kind: str, rng: np.random.Generator, *, ridden: bool = False) -> Look:
    """A random look of the given kind (a rider is added when ``ridden``)."""
    if kind == "person":
        return random_person(rng)
    rider = random_person(rng, child_ok=False) if ridden else None
    if kind == "bicycle":
        return Look(kind, 1.75, {"frame": _pick(rng, _BRIGHT)}, int(rng.integers(6)), rider)
    if kind == "ebike":
        colours = {
            "body": _pick(rng, _VEHICLE + _BRIGHT),
            "battery": _pick(rng, ((30, 30, 30), (60, 60, 60), (40, 40, 50))),
        }
        return Look(kind, 1.7, colours, int(rng.integers(6)), rider)
    if kind == "motorbike":
        return Look(
            kind, 2.0, {"tank": _pick(rng, _VEHICLE + _BRIGHT)}, int(rng.integers(6)), rider
        )
    if kind in ("car", "van"):
        length = float(rng.uniform(3.9, 4.8) if kind == "car" else rng.uniform(4.6, 5.3))
        colours = {
            "body": _pick(rng, _VEHICLE),
            "glass": _pick(rng, ((70, 60, 50), (110, 100, 90), (60, 60, 60))),
        }
        return Look(kind, length, colours, int(rng.integers(6)))
    if kind.startswith("stall"):
        colours = {
            "canopy": _pick(rng, _BRIGHT),
            "canopy2": _pick(rng, _BRIGHT),
            "cart": _pick(rng, ((120, 150, 170), (60, 90, 140), (180, 180, 180), (50, 120, 50))),
            "goods": _pick(rng, _BRIGHT),
            "goods2": _pick(rng, _BRIGHT),
            "cloth": _pick(rng, _BRIGHT),
        }
        return Look(kind, float(rng.uniform(1.3, 1.9)), colours, int(rng.integers(6)))
    raise ValueError(f"unknown actor kind {kind!r}")
