"""Replay of an engine alert trace (JSONL, the alert contract of ARCHITECTURE.md).

Each ``start`` event becomes one alarm at ``ts`` (seconds of stream time, placed at the
start of the observation window, after the warm-up); its ``end`` event, if any, gives
how long the hazard lasted, otherwise the hazard's mean duration is used. Replayed
alerts are treated as real (the trace does not say which are false) and their onset is
the alarm time. Lines are read by the alert contract's own reader
(:func:`gridsight.core.events.parse_jsonl`), with its torn-line policy: a torn last line
(a crash mid-write) is skipped with a warning. A line that does not fit the contract, an
``update``/``end`` whose ``start`` was never seen, or a camera/hazard the scenario does
not know is a :class:`DataError` naming the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gridsight.core.errors import DataError
from gridsight.core.events import parse_jsonl


def trace_rows(
    path: str | Path,
    known_cameras: Iterable[str],
    mean_duration_s: dict[str, float],
    offset_s: float,
) -> tuple[tuple[float, str, str, float], ...]:
    """Alarms of a JSONL trace as ``(time_s, camera, hazard, duration_s)`` rows.

    Args:
        path: the JSONL file.
        known_cameras: camera ids of the simulated township.
        mean_duration_s: hazard id -> mean duration (for starts without an end).
        offset_s: added to every ``ts`` (the start of the observation window).

    Raises:
        DataError: unreadable file, malformed line, unknown camera or hazard, or an
            ``update``/``end`` without its ``start``.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{p}: cannot read the alert trace: {exc}") from exc
    lines = list(parse_jsonl(text.splitlines(), str(p)))
    cams = sorted(set(known_cameras))
    cam_set = set(cams)
    starts: dict[str, tuple[float, str, str]] = {}
    ends: dict[str, float] = {}
    for line_no, a in lines:
        where = f"{p}:{line_no}"
        if a.camera not in cam_set:
            raise DataError(
                f"{where}: camera: unknown camera {a.camera!r}; the township's cameras are: "
                f"{', '.join(cams)}"
            )
        if a.hazard not in mean_duration_s:
            raise DataError(
                f"{where}: hazard: unknown hazard {a.hazard!r}; the scenario knows: "
                f"{', '.join(sorted(mean_duration_s))}"
            )
        if a.phase == "start":
            if a.id in starts:
                raise DataError(f"{where}: id: a second start for event id {a.id!r}")
            starts[a.id] = (a.ts, a.camera, a.hazard)
        else:
            if a.id not in starts:
                raise DataError(
                    f"{where}: id: {a.phase} for event id {a.id!r} before (or without) its start"
                )
            if a.phase == "end":
                ends[a.id] = a.ts
    if not starts:
        raise DataError(
            f"{p}: the alert trace has no 'start' events ({len(lines)} lines), so there is "
            "nothing to replay; pass the JSONL that `gridsight run --alerts FILE` wrote"
        )
    rows = []
    for eid, (ts, cam, hz) in starts.items():
        dur = ends[eid] - ts if eid in ends else mean_duration_s[hz]
        rows.append((ts + offset_s, cam, hz, max(dur, 0.0)))
    return tuple(sorted(rows))
