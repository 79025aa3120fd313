"""Tests of the JSONL event sink (its reader is tested with the contract, test_events.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gridsight.core.errors import GridsightError
from gridsight.core.events import HazardEvent, read_jsonl
from gridsight.core.plugins import build_plugin_manager, sinks
from gridsight.core.sinks.jsonl import JsonlSink

CONTRACT_KEYS = {
    "id", "camera", "hazard", "phase", "ts", "wall_time", "village", "grid",
    "confidence", "boxes", "track_ids", "snapshot",
}  # fmt: skip


def event(phase: str = "start", **kw: object) -> HazardEvent:
    base: dict = {
        "id": "cam-reservoir-01:near_water:12000:1",
        "camera": "cam-reservoir-01",
        "hazard": "near_water",
        "phase": phase,
        "ts": 12.0,
        "wall_time": "2025-03-01T08:00:00.000+00:00",
        "village": "ruijia",
        "grid": "ruijia-g01",
        "confidence": 0.87,
        "boxes": ((1.0, 2.0, 3.0, 4.0),),
        "track_ids": (7,),
        "extra": {"note": "赭山头水库 north bank"},
    }
    base.update(kw)
    return HazardEvent(**base)


def test_registered_as_jsonl() -> None:
    assert sinks(build_plugin_manager())["jsonl"] is JsonlSink


def test_lines_follow_the_contract_and_keep_chinese_readable(tmp_path: Path) -> None:
    path = tmp_path / "out" / "events.jsonl"  # parent is created
    with JsonlSink(path) as sink:
        sink.write(event("start"))
        sink.write(event("end", ts=30.5, snapshot="snap/1.jpg"))
    raw = path.read_bytes().decode("utf-8")
    assert "赭山头水库" in raw and "\\u" not in raw
    lines = raw.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) >= CONTRACT_KEYS
    assert first["phase"] == "start" and second["phase"] == "end"
    assert second["id"] == first["id"]
    assert first["boxes"] == [[1.0, 2.0, 3.0, 4.0]] and first["track_ids"] == [7]
    assert first["snapshot"] is None and second["snapshot"] == "snap/1.jpg"
    assert [e.to_dict() for e in read_jsonl(path)] == [first, second]


def test_each_event_is_on_disk_before_write_returns(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = JsonlSink(path, fsync=False)
    sink.write(event())
    # Read through a separate handle while the sink is still open.
    assert len(read_jsonl(path)) == 1
    sink.write(event("update"))
    assert [e.phase for e in read_jsonl(path)] == ["start", "update"]
    assert sink.count == 2
    sink.close()


def test_a_crash_loses_nothing_already_written(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    script = f"""
import os
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.jsonl import JsonlSink
sink = JsonlSink({str(path)!r})
for i in range(3):
    sink.write(HazardEvent(id=f"c:h:{{i}}:1", camera="c", hazard="h", phase="start", ts=i,
                           wall_time="2026-01-01T00:00:00", village="v", grid="g", confidence=0.5))
os._exit(9)  # no close, no interpreter clean-up
"""
    done = subprocess.run([sys.executable, "-c", script], check=False)
    assert done.returncode == 9
    assert [e.id for e in read_jsonl(path)] == ["c:h:0:1", "c:h:1:1", "c:h:2:1"]


def test_appends_across_sinks(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with JsonlSink(path) as a:
        a.write(event())
    with JsonlSink(path) as b:
        b.write(event("end"))
    assert [e.phase for e in read_jsonl(path)] == ["start", "end"]


def test_numpy_values_in_extra_are_serialised(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    extra = {"dwell": np.float32(12.5), "n": np.int64(3), "v": np.arange(2), "s": (1, 2)}
    with JsonlSink(path) as sink:
        sink.write(event(extra=extra))
    assert read_jsonl(path)[0].extra == {"dwell": 12.5, "n": 3, "v": [0, 1], "s": [1, 2]}


def test_write_after_close_and_bad_path(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "e.jsonl")
    sink.close()
    sink.close()  # idempotent
    with pytest.raises(GridsightError, match="closed"):
        sink.write(event())
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GridsightError, match="cannot open"):
        JsonlSink(blocker / "events.jsonl")
