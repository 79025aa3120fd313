"""Replay of engine alert JSONL: good traces run, bad lines fail naming file:line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridsight.core.errors import DataError
from gridsight.governance_sim.experiment import run_replications
from gridsight.governance_sim.replay import trace_rows
from gridsight.governance_sim.scenario import build_sim_config

CAMS = ["cam-reservoir-01", "cam-street-01"]
DUR = {"near_water": 900.0, "vending": 5400.0}


def event(
    id_: str, phase: str, ts: float, camera: str = "cam-reservoir-01", hazard: str = "near_water"
) -> dict:
    return {
        "id": id_,
        "camera": camera,
        "hazard": hazard,
        "phase": phase,
        "ts": ts,
        "wall_time": "2024-07-01T10:00:00+08:00",
        "village": "ruijia",
        "grid": "ruijia-g01",
        "confidence": 0.8,
        "boxes": [[1, 2, 3, 4]],
        "track_ids": [3],
        "snapshot": None,
    }


def write(tmp_path: Path, events: list, extra_lines: tuple[str, ...] = ()) -> Path:
    p = tmp_path / "alerts.jsonl"
    lines = [json.dumps(e) for e in events] + list(extra_lines)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_starts_become_alarms_with_durations_from_their_ends(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        [
            event("a", "start", 10.0),
            event("a", "update", 20.0),
            event("a", "end", 70.0),
            event("b", "start", 30.0, "cam-street-01", "vending"),
        ],
    )
    rows = trace_rows(p, CAMS, DUR, offset_s=100.0)
    assert rows == (
        (110.0, "cam-reservoir-01", "near_water", 60.0),
        (130.0, "cam-street-01", "vending", 5400.0),
    )


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    good = json.dumps(event("c", "start", 3.0))
    p = write(tmp_path, [event("a", "start", 1.0)], ('{"id": "b", "camera": ', good))
    with pytest.raises(DataError, match=r"alerts\.jsonl:2: not valid JSON"):
        trace_rows(p, CAMS, DUR, 0.0)


def test_a_torn_last_line_is_skipped_as_every_reader_does(tmp_path: Path) -> None:
    p = write(tmp_path, [event("a", "start", 1.0)], ('{"id": "b", "camera": ',))
    assert trace_rows(p, CAMS, DUR, 0.0) == ((1.0, "cam-reservoir-01", "near_water", 900.0),)


@pytest.mark.parametrize(
    ("field", "value", "pattern"),
    [
        ("ts", "soon", r":2: ts: expected a finite number"),
        ("phase", "begin", r":2: phase: 'begin' is not one of start, update, end"),
        ("confidence", 1.5, r":2: confidence: "),
    ],
)
def test_a_bad_field_is_named_with_its_line(
    tmp_path: Path, field: str, value, pattern: str
) -> None:
    bad = event("b", "start", 2.0)
    bad[field] = value
    p = write(tmp_path, [event("a", "start", 1.0), bad])
    with pytest.raises(DataError, match=pattern):
        trace_rows(p, CAMS, DUR, 0.0)


def test_missing_field_is_named(tmp_path: Path) -> None:
    bad = event("a", "start", 1.0)
    del bad["camera"]
    p = write(tmp_path, [bad])
    with pytest.raises(DataError, match=r":1: camera: field required"):
        trace_rows(p, CAMS, DUR, 0.0)


def test_unknown_camera_is_named_and_known_ones_listed(tmp_path: Path) -> None:
    p = write(tmp_path, [event("a", "start", 1.0, camera="cam-moon-01")])
    with pytest.raises(
        DataError,
        match=r":1: camera: unknown camera 'cam-moon-01'.*cam-reservoir-01, cam-street-01",
    ):
        trace_rows(p, CAMS, DUR, 0.0)


def test_end_without_start_is_an_error(tmp_path: Path) -> None:
    p = write(tmp_path, [event("a", "end", 5.0)])
    with pytest.raises(
        DataError, match=r":1: id: end for event id 'a' before \(or without\) its start"
    ):
        trace_rows(p, CAMS, DUR, 0.0)


def test_a_replayed_trace_runs_through_the_model(tmp_path: Path, baseline) -> None:
    sc, town = baseline
    events = []
    for k in range(20):
        events += [event(f"e{k}", "start", 600.0 * k), event(f"e{k}", "end", 600.0 * k + 300.0)]
    rows = trace_rows(write(tmp_path, events), [c.id for c in town.cameras], DUR, 86400.0)
    cfg = build_sim_config(sc, town, days=3.0, trace=rows)
    (r,) = run_replications(cfg, 1, 1)
    assert r.kpis["real_alerts"] == 20 and r.kpis["false_alarms"] == 0
    assert r.kpis["occurrences"] == 20
