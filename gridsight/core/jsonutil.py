"""Turning the values rules and engines produce (numpy scalars, arrays, sets) into JSON.

One conversion for the whole project, so an event written to the JSONL sink, the
SQLite sink and a report carries the same JSON for the same value. A value with no
faithful JSON form is an error, never a silent ``str()``: a sink that wrote
``"<object at 0x7f..>"`` into an alert would lose the detail without anyone noticing.

Example:
    >>> import json, numpy as np
    >>> json.dumps({"n": np.int64(3), "v": np.arange(2)}, default=to_jsonable)
    '{"n": 3, "v": [0, 1]}'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gridsight.core.errors import DataError

__all__ = ["jsonable", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """The JSON-ready form of one value ``json.dumps`` cannot write itself.

    Meant as ``json.dumps(..., default=to_jsonable)``: numpy scalars become Python
    numbers, arrays become (nested) lists, sets become sorted lists (so the output does
    not depend on hash order), tuples become lists.

    Args:
        value: the value.

    Returns:
        A value ``json.dumps`` can write.

    Raises:
        DataError: the type has no JSON form (names the type).
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, set | frozenset):
        try:
            return sorted(value)
        except TypeError:
            return list(value)
    if isinstance(value, tuple):
        return list(value)
    raise DataError(
        f"{type(value).__name__} is not JSON serialisable; convert it to numbers, strings, "
        "lists or dicts before putting it into an event or report"
    )


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` made of JSON types only (dicts, lists, str, numbers, None).

    Useful where the JSON is not written by ``json.dumps`` (a database column, a
    pydantic model, an event's ``extra``). Tuples become lists and numpy keys plain ones.

    Raises:
        DataError: a value with no JSON form, or a dict key that is not a string or number.
    """
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(k, np.generic):
                k = k.item()
            if not isinstance(k, str | int | float | bool):
                raise DataError(f"dict key {k!r} ({type(k).__name__}) is not a JSON key")
            out[k if isinstance(k, str) else str(k)] = jsonable(v)
        return out
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return jsonable(to_jsonable(value))
