"""The one formatter of pydantic validation errors: what was wrong, where, and what fits.

Every place that validates user input with pydantic (config files, a rule's settings, a
camera sent to the REST API, scenario overrides) reports the errors through
:func:`validation_problems`, as ``(location, message)`` pairs, and renders them with
:func:`format_problems` (``field.path: message; ...``) or, where the data came from a
file, with the loader's ``file:line:column`` (``gridsight.core.config.loader``).

Example:
    >>> from pydantic import ValidationError
    >>> from gridsight.core.config.base import StrictModel
    >>> class Cam(StrictModel):
    ...     grid: str
    >>> try:
    ...     Cam.model_validate({"gird": "g1"})
    ... except ValidationError as exc:
    ...     print(format_problems(validation_problems(exc, Cam)))
    gird: unknown key 'gird'; did you mean 'grid'? (allowed keys: grid)
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from gridsight.core.config.base import InvariantViolation, Loc, format_loc

__all__ = ["format_problems", "format_validation", "validation_problems"]


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the interesting type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``loc`` (None if not a model)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if isinstance(part, str) and part in tp.model_fields:
                tp = tp.model_fields[part].annotation
                continue
            return None
        if origin in (typing.Union, types.UnionType):
            # A discriminated union: pydantic puts the tag (e.g. "polygon") in the path.
            members = [_unwrap(a) for a in typing.get_args(tp)]
            for member in members:
                if isinstance(member, type) and issubclass(member, BaseModel):
                    for field in member.model_fields.values():
                        if typing.get_args(_unwrap(field.annotation)) == (part,):
                            tp = member
                            break
                    else:
                        continue
                    break
            else:
                return None
            continue
        if origin in (tuple, list) and isinstance(part, int):
            tp = typing.get_args(tp)[0]
            continue
        if origin is dict:
            tp = typing.get_args(tp)[1]
            continue
        return None
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: dict[str, Any], model: type[BaseModel], loc: Loc, noun: str) -> str:
    """A message for one pydantic error that says what was expected."""
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        owner = _model_at(model, loc[:-1])
        allowed = sorted(owner.model_fields) if owner is not None else []
        close = _suggestion(model, loc)
        hint = f"; did you mean {close!r}?" if close else ""
        listing = f" (allowed {noun}s: {', '.join(allowed)})" if allowed else ""
        return f"unknown {noun} {key!r}{hint}{listing}"
    if kind == "missing":
        if loc and isinstance(loc[-1], int):
            # A fixed-length list (a position [x, y], a resolution [w, h]) too short.
            got = f" (got {_short(error['input'])})" if "input" in error else ""
            return f"too few values{got}: item {loc[-1]} (counting from 0) is missing"
        return f"missing required {noun} {str(loc[-1])!r}" if loc else "missing value"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if "input" in error and kind not in ("value_error", "assertion_error"):
        message += f" (got {_short(error['input'])})"
    return message


def _suggestion(model: type[BaseModel], loc: Loc) -> str | None:
    """For an unknown key at ``loc``: the closest allowed key of its model, if any."""
    owner = _model_at(model, loc[:-1])
    if owner is None or not loc:
        return None
    close = difflib.get_close_matches(str(loc[-1]), list(owner.model_fields), n=1, cutoff=0.6)
    return close[0] if close else None


def validation_problems(
    exc: ValidationError, model: type[BaseModel], *, noun: str = "key"
) -> list[tuple[Loc, str]]:
    """``(location, message)`` per problem of a failed validation of ``model``.

    Messages say what was expected: an unknown key names the closest allowed one and
    lists them all, a missing one is named, a bad value shows what was given. Invariant
    violations (:class:`InvariantViolation`) expand into their own problems, each at its
    exact location.

    Args:
        exc: the error pydantic raised.
        model: the model class that was validated (to list and suggest its fields).
        noun: what a field is called in messages (``key`` in files, ``setting`` for a
            rule's settings).

    A misspelt key gives pydantic two errors: the unknown key and the missing one it was
    meant to be. Only the first is reported, since its message already names the second.
    """
    raw = exc.errors(include_url=False)
    misspelt = {
        (tuple(e["loc"][:-1]), _suggestion(model, tuple(e["loc"])))
        for e in raw
        if e["type"] == "extra_forbidden"
    }
    out: list[tuple[Loc, str]] = []
    for error in raw:
        loc: Loc = tuple(error["loc"])
        if error["type"] == "missing" and loc and (loc[:-1], loc[-1]) in misspelt:
            continue
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, InvariantViolation):
            out.extend(((*loc, *problem.loc), problem.message) for problem in cause.problems)
        else:
            out.append((loc, _describe(dict(error), model, loc, noun)))
    return out


def format_problems(problems: Iterable[tuple[Loc, str]], prefix: Loc = ()) -> str:
    """``loc: message; loc: message`` (locations under ``prefix``, e.g. ``cameras[2]``)."""
    return "; ".join(f"{format_loc((*prefix, *loc))}: {msg}" for loc, msg in problems)


def format_validation(
    exc: ValidationError, model: type[BaseModel], *, prefix: Loc = (), noun: str = "key"
) -> str:
    """:func:`format_problems` of :func:`validation_problems`: one line for messages."""
    return format_problems(validation_problems(exc, model, noun=noun), prefix)
