"""The alert contract: HazardEvent to/from dict and the one JSONL torn-line policy."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridsight.core.errors import DataError
from gridsight.core.events import (
    HazardEvent,
    event_line,
    parse_jsonl,
    read_jsonl,
    write_jsonl,
)


def _event(eid: str = "cam:near_water:1000:1", phase: str = "start", **kw: object) -> HazardEvent:
    base: dict = {
        "id": eid,
        "camera": "cam",
        "hazard": "near_water",
        "phase": phase,
        "ts": 1.0,
        "wall_time": "2026-03-01T06:00:01.000+08:00",
        "village": "ruijia",
        "grid": "g1",
        "confidence": 0.9,
        "boxes": ((1.0, 2.0, 3.0, 4.0),),
        "track_ids": (3,),
    }
    base.update(kw)
    return HazardEvent(**base)


_rounded = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda v: round(v, 3))
_box = st.tuples(*[st.integers(0, 4000).map(lambda v: v / 10) for _ in range(4)])


@given(
    ts=_rounded,
    conf=st.integers(0, 10_000).map(lambda v: v / 10_000),
    boxes=st.lists(_box, max_size=3).map(tuple),
    tracks=st.lists(st.integers(0, 10_000), max_size=4).map(tuple),
    phase=st.sampled_from(["start", "update", "end"]),
    snapshot=st.none() | st.text(min_size=1, max_size=8),
    camera=st.text(min_size=1, max_size=12),
)
def test_from_dict_inverts_to_dict(
    ts: float,
    conf: float,
    boxes: tuple[tuple[float, float, float, float], ...],
    tracks: tuple[int, ...],
    phase: str,
    snapshot: str | None,
    camera: str,
) -> None:
    ev = _event(
        phase=phase,
        ts=ts,
        confidence=conf,
        boxes=boxes,
        track_ids=tracks,
        snapshot=snapshot,
        camera=camera,
        extra={"reason": "periodic"},
    )
    assert HazardEvent.from_dict(ev.to_dict()) == ev
    assert HazardEvent.from_dict(json.loads(event_line(ev))) == ev


def test_fields_outside_the_contract_are_ignored() -> None:
    d = _event().to_dict() | {"schema": 2}
    assert HazardEvent.from_dict(d) == _event()


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"phase": "begin"}, "phase", "'begin' is not one of start, update, end"),
        ({"ts": -1}, "ts", "-1 must be >= 0"),
        ({"ts": "1.0"}, "ts", "expected a finite number"),
        ({"confidence": 1.5}, "confidence", r"1.5 must be in \[0, 1\]"),
        ({"boxes": [[1, 2, 3]]}, "boxes.0", r"expected \[x1, y1, x2, y2\]"),
        ({"track_ids": [1, "2"]}, "track_ids.1", "expected an integer"),
        ({"wall_time": "yesterday"}, "wall_time", "'yesterday' is not an ISO 8601 time"),
        ({"camera": ""}, "camera", "must not be empty"),
        ({"snapshot": 3}, "snapshot", "expected a path or null"),
        ({"extra": [1]}, "extra", "expected an object"),
    ],
)
def test_a_bad_field_is_named(change: dict, field: str, problem: str) -> None:
    d = _event().to_dict() | change
    with pytest.raises(DataError, match=rf"^f\.jsonl:7: {field}: {problem}"):
        HazardEvent.from_dict(d, where="f.jsonl:7")


def test_a_missing_field_is_named() -> None:
    d = _event().to_dict()
    del d["grid"]
    with pytest.raises(DataError, match="grid: field required"):
        HazardEvent.from_dict(d)


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    events = [_event(), _event(phase="end", ts=9.5, snapshot="s/1.jpg")]
    path = tmp_path / "sub" / "e.jsonl"
    assert write_jsonl(path, events) == 2
    assert read_jsonl(path) == events


def test_a_torn_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = event_line(_event())
    path = tmp_path / "e.jsonl"
    path.write_text(f"{good}\n\n{good}\n{good[:25]}", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="gridsight.core.events"):
        assert read_jsonl(path) == [_event(), _event()]
    assert f"{path}:4: skipping a torn last line" in caplog.text


def test_a_malformed_line_elsewhere_is_an_error(tmp_path: Path) -> None:
    good = event_line(_event())
    path = tmp_path / "e.jsonl"
    path.write_text(f"{good}\n{good[:25]}\n{good}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"e\.jsonl:2: not valid JSON"):
        read_jsonl(path)


def test_a_last_line_that_is_json_but_breaks_the_contract_is_an_error() -> None:
    good = event_line(_event())
    with pytest.raises(DataError, match=r"t:2: expected a JSON object, got list"):
        list(parse_jsonl([good, "[1, 2]"], "t"))
    with pytest.raises(DataError, match=r"t:2: phase:"):
        list(parse_jsonl([good, good.replace('"start"', '"begin"')], "t"))


def test_line_numbers_count_blank_lines() -> None:
    good = event_line(_event())
    assert [n for n, _ in parse_jsonl(["", good, "  ", good], "t")] == [2, 4]


def test_an_unreadable_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read events"):
        read_jsonl(tmp_path / "missing.jsonl")
