"""Object roles: the vocabulary the hazard rules reason about, open to plugins and configs.

Detector models have their own class vocabularies (the bundled model, COCO, a customer's
model). The engine maps each model class to a role before tracking, so the rules never
depend on a particular model. ``Detections.class_id`` holds role ids after that mapping.

The six built-in roles (:class:`Role`) are what the built-in rules need and keep their
ids 0-5. Anything else is *declared*, not foreseen: a plugin returns a
:class:`RoleSpec` from ``gridsight_register_roles`` (a dog, a gas cylinder, a boat) and a
township config may add ``roles: {boat: [boat, ship]}``; each declared role gets the next
free id for the life of the process and maps the class names given with it.

Example:
    >>> canoe = declare_role("canoe", classes=("canoe", "kayak"))
    >>> role_id("canoe") == canoe, role_name(canoe), role_for_class("kayak") == canoe
    (True, 'canoe', True)
    >>> role_id("person") == Role.PERSON
    True
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from gridsight.core.errors import ConfigError


class Role(IntEnum):
    """The built-in roles. The bundled detector's classes are exactly these, in this order."""

    PERSON = 0
    BICYCLE = 1
    EBIKE = 2
    MOTORBIKE = 3
    CAR = 4  # cars, vans, trucks, buses: anything four-wheeled that can block a lane
    STALL = 5  # vendor stalls, carts, umbrellas

    @property
    def label(self) -> str:
        return self.name.lower()


#: The built-in roles' names, in id order (also the bundled detector's class names).
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

_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
#: Words that mean "drop this class" in a ``class_to_role`` mapping, never role names.
DROP_WORDS = frozenset({"", "none", "drop", "ignore"})


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A role a plugin declares (``gridsight_register_roles``).

    Attributes:
        name: the role's name, lower case (``dog``, ``gas_cylinder``); rules and
            ``class_to_role`` mappings name it.
        classes: model class names that map to it by default (``("dog",)``).
        description: one line for ``gridsight plugins``.
    """

    name: str
    classes: tuple[str, ...] = ()
    description: str = ""


class _Vocabulary:
    """The process-wide role table: built-ins first, declared roles after, ids never reused.

    A table per process (not per engine) because role ids travel in ``Detections`` between
    the detector, the tracker, the rules and the evidence writer; a declared role keeps its
    id for as long as the process lives, and declaring it again is a no-op.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {r.label: int(r) for r in Role}
        self._classes: dict[str, int] = {k: int(v) for k, v in DEFAULT_CLASS_TO_ROLE.items()}

    def declare(self, name: str, classes: Iterable[str] = ()) -> int:
        key = str(name).strip().lower()
        if not _ROLE_NAME.match(key) or key in DROP_WORDS:
            raise ConfigError(
                f"role name {name!r}: expected lower-case letters, digits, '_' or '-', "
                "starting with a letter (and not none/drop/ignore)"
            )
        with self._lock:
            rid = self._ids.get(key)
            if rid is None:
                rid = len(self._ids)
                self._ids[key] = rid
            for cls in classes:
                ckey = str(cls).strip().lower()
                owner = self._classes.get(ckey)
                if owner is not None and owner != rid:
                    raise ConfigError(
                        f"role {key!r}: class {cls!r} already maps to role "
                        f"{self.name(owner)!r}; map it in the detector's class_to_role instead"
                    )
                self._classes[ckey] = rid
            return rid

    def id(self, name: str) -> int | None:
        return self._ids.get(str(name).strip().lower())

    def name(self, rid: int) -> str:
        for key, value in self._ids.items():
            if value == rid:
                return key
        return str(rid)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._ids, key=self._ids.__getitem__))

    def for_class(self, class_name: str) -> int | None:
        return self._classes.get(str(class_name).strip().lower())


_VOCABULARY = _Vocabulary()


def _typed(rid: int | None) -> int | None:
    """Built-in ids as :class:`Role` members (so ``is Role.PERSON`` holds), others as ints."""
    if rid is None:
        return None
    return Role(rid) if rid < len(Role) else rid


def declare_role(name: str, classes: Iterable[str] = ()) -> int:
    """Declare a role (idempotent) and the class names that map to it; return its id.

    Raises:
        ConfigError: the name is not a valid role name, or a class already maps to
            another role.
    """
    return _VOCABULARY.declare(name, classes)


def declare_roles(specs: Iterable[RoleSpec]) -> None:
    """Declare every role of ``specs`` (e.g. the results of ``gridsight_register_roles``)."""
    for spec in specs:
        declare_role(spec.name, spec.classes)


def role_id(name: str) -> int | None:
    """The id of a declared (or built-in) role, or None when no such role is declared."""
    return _typed(_VOCABULARY.id(name))


def role_name(rid: int) -> str:
    """The name of role id ``rid`` (its number as text when no role has it)."""
    return _VOCABULARY.name(int(rid))


def role_names() -> tuple[str, ...]:
    """Every role declared so far, built-ins first, in id order."""
    return _VOCABULARY.names()


def role_for_class(class_name: str) -> int | None:
    """The role a model class name maps to by default, or None if it has none."""
    return _typed(_VOCABULARY.for_class(class_name))


def role_from_name(name: str) -> Role | None:
    """The *built-in* role a class name maps to by default, or None."""
    return DEFAULT_CLASS_TO_ROLE.get(name.strip().lower())


def parse_role(value: str | int | None, where: str) -> int | None:
    """A role id from a role name or id as written in a config; None to drop a class.

    Raises:
        ConfigError: the name or id is not a declared role (the message lists them).
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(role_names()):
            return _typed(int(value))
    else:
        text = str(value).strip().lower()
        if text in DROP_WORDS:
            return None
        rid = role_id(text)
        if rid is not None:
            return rid
    raise ConfigError(
        f"{where}: {value!r} is not a role; declared roles are {', '.join(role_names())} "
        "(or none to drop the class). Declare a new one in the config's roles: or with a "
        "plugin's gridsight_register_roles"
    )
