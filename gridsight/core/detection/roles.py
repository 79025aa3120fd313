"""The canonical object roles the hazard rules reason about.

Detector models have their own class vocabularies (the bundled model, COCO, a customer's
model). The engine maps each model class to one of these roles before tracking, so the
rules never depend on a particular model. ``Detections.class_id`` holds role ids after
that mapping.
"""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """Object roles. The bundled detector's classes are exactly these, in this order."""

    PERSON = 0
    BICYCLE = 1
    EBIKE = 2
    MOTORBIKE = 3
    CAR = 4  # cars, vans, trucks, buses: anything four-wheeled that can block a lane
    STALL = 5  # vendor stalls, carts, umbrellas

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_NAMES: tuple[str, ...] = tuple(r.label for r in Role)

# How common detector vocabularies map onto roles. Keys are lower-case class names.
# COCO has no e-bike class: a COCO model reports e-bikes as bicycle or motorcycle, so
# we map motorcycle -> motorbike and let the ebike rule accept motorbike via its settings.
DEFAULT_CLASS_TO_ROLE: dict[str, Role] = {
    "person": Role.PERSON,
    "pedestrian": Role.PERSON,
    "bicycle": Role.BICYCLE,
    "bike": Role.BICYCLE,
    "ebike": Role.EBIKE,
    "e-bike": Role.EBIKE,
    "e_bike": Role.EBIKE,
    "electric_bicycle": Role.EBIKE,
    "scooter": Role.EBIKE,
    "motorbike": Role.MOTORBIKE,
    "motorcycle": Role.MOTORBIKE,
    "car": Role.CAR,
    "van": Role.CAR,
    "truck": Role.CAR,
    "bus": Role.CAR,
    "vehicle": Role.CAR,
    "stall": Role.STALL,
    "cart": Role.STALL,
    "umbrella": Role.STALL,
    "vendor_stall": Role.STALL,
}


def role_from_name(name: str) -> Role | None:
    """Return the role a class name maps to by default, or None if it has none."""
    return DEFAULT_CLASS_TO_ROLE.get(name.strip().lower())
