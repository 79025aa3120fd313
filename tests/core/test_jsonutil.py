"""The one numpy -> JSON conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gridsight.core.errors import DataError
from gridsight.core.jsonutil import jsonable, to_jsonable


def test_numpy_values_become_plain_json() -> None:
    value = {
        "f": np.float32(12.5),
        "i": np.int64(3),
        "b": np.bool_(True),
        "a": np.arange(3).reshape(3, 1),
        "t": (1, 2),
        "s": {3, 1, 2},
    }
    text = json.dumps(value, default=to_jsonable, sort_keys=True)
    assert json.loads(text) == {
        "a": [[0], [1], [2]],
        "b": True,
        "f": 12.5,
        "i": 3,
        "s": [1, 2, 3],
        "t": [1, 2],
    }


def test_an_unknown_type_is_an_error_not_a_string() -> None:
    with pytest.raises(DataError, match="object is not JSON serialisable"):
        json.dumps({"x": object()}, default=to_jsonable)
    with pytest.raises(DataError, match="complex is not JSON serialisable"):
        jsonable([1j])


def test_jsonable_is_a_deep_plain_copy() -> None:
    src = {"n": np.int32(2), "nested": [{"k": (np.float64(0.5),)}], np.int64(7): "key"}
    out = jsonable(src)
    assert out == {"n": 2, "nested": [{"k": [0.5]}], "7": "key"}
    assert type(out["n"]) is int and type(out["nested"][0]["k"][0]) is float
    assert json.loads(json.dumps(out)) == out


def test_a_key_with_no_json_form_is_named() -> None:
    with pytest.raises(DataError, match=r"dict key \(1, 2\)"):
        jsonable({(1, 2): 3})
