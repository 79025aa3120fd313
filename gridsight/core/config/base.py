"""Shared pieces of the config models: the strict base model, id and point types, and the
way cross-field checks report *where* in the config a problem is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

# A path inside a config document: mapping keys and list indices, as pydantic writes
# error locations, e.g. ("cameras", 3, "zones", 0, "points").
Loc = tuple[str | int, ...]

# Ids are written by hand and end up in work orders, file names and URLs: keep them to
# lower-case ASCII words joined by '-' or '_' (pinyin for Chinese place names).
Id = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        min_length=1,
        max_length=64,
        description="lower-case ASCII id: letters, digits, '-' and '_'",
    ),
]

# A position in the town's local frame, in kilometres: x east, y north.
PointKm = tuple[float, float]

# A point in an image, in pixels: x right, y down.
PixelPoint = tuple[float, float]


class StrictModel(BaseModel):
    """Base of every config model: a typo is an error (``extra="forbid"``) and a loaded
    config cannot be changed by accident (``frozen``).

    A model loaded from YAML carries where it came from (its ``SourceMap``, see
    ``gridsight.core.config.loader.source_map``) with it, so later checks can name file
    lines too; ``model_copy`` keeps it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    _source_map: Any = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        # Where a config came from is not part of its value: a model loaded from YAML
        # equals the same model built from a dict.
        if not isinstance(other, StrictModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken invariant: where (relative to the model that found it) and what.

    Attributes:
        loc: path of the offending value below the model that raised, e.g. ``("grids", 3,
            "village")``.
        message: what is wrong and what to do about it.
    """

    loc: Loc
    message: str


class InvariantViolation(ValueError):
    """Raised by a model validator when cross-field invariants fail.

    Pydantic keeps the exception object in the error's context, so the YAML loader can
    recover each :class:`Problem`'s path and report the file line of the exact value,
    not only of the model that checked it.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(f"{format_loc(p.loc)}: {p.message}" for p in self.problems))


def format_loc(loc: Loc) -> str:
    """``("cameras", 3, "zones", 0)`` -> ``cameras[3].zones[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def duplicates(ids: Sequence[str]) -> dict[str, list[int]]:
    """``{id: [indices]}`` for every id that occurs more than once."""
    seen: dict[str, list[int]] = {}
    for k, value in enumerate(ids):
        seen.setdefault(value, []).append(k)
    return {value: idx for value, idx in seen.items() if len(idx) > 1}
