"""Hazard events: the alert contract written to sinks (see ARCHITECTURE.md).

The one place the alert format lives: :class:`HazardEvent` with :meth:`~HazardEvent.to_dict`
and :meth:`~HazardEvent.from_dict` (validating, errors name the line and field), and the
JSON Lines form every writer and reader uses (:func:`event_line`, :func:`write_jsonl`,
:func:`read_jsonl`, :func:`parse_jsonl`): the JSONL sink, the scorer and the planning
simulator's replay.

One torn-line policy for every reader: a malformed *last* line is what a crash in the
middle of a write leaves, so it is skipped with a warning; a malformed line anywhere else
(or a last line that is valid JSON but breaks the contract) is a :class:`DataError`
naming ``file:line``. Blank lines are skipped.

Example:
    >>> ev = HazardEvent("c:h:0:1", "c", "h", "start", 1.0, "2026-01-01T06:00:01.000+00:00",
    ...                  "v", "g", 0.9)
    >>> HazardEvent.from_dict(ev.to_dict()) == ev
    True
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from gridsight.core.errors import DataError
from gridsight.core.jsonutil import to_jsonable

log = logging.getLogger(__name__)

Phase = Literal["start", "update", "end"]
PHASES: tuple[str, ...] = ("start", "update", "end")


@dataclass(frozen=True, slots=True)
class HazardEvent:
    """One alert event. ``update`` and ``end`` carry the ``id`` of their ``start``.

    Attributes:
        id: event id, shared by the start, updates and end of one hazard occurrence.
        camera: camera id.
        hazard: hazard id (``fire_lane``, ``ebike``, ``vending``, ``near_water``, ...).
        phase: ``start`` | ``update`` | ``end``.
        ts: seconds of stream time.
        wall_time: ISO 8601 wall-clock time.
        village: village id of the camera.
        grid: grid id of the camera.
        confidence: detector confidence behind the event, in [0, 1].
        boxes: ``[[x1, y1, x2, y2], ...]`` in pixels.
        track_ids: track ids involved.
        snapshot: path of the evidence image, or None.
        clip: path of the evidence clip (an MP4 around the start; ``--clips``), or None;
            written in the JSON only when set.
        extra: rule-specific details (not part of the contract; written under ``extra``).
    """

    id: str
    camera: str
    hazard: str
    phase: Phase
    ts: float
    wall_time: str
    village: str
    grid: str
    confidence: float
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    track_ids: tuple[int, ...] = ()
    snapshot: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    clip: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the contract (one line of the JSONL sink)."""
        out: dict[str, Any] = {
            "id": self.id,
            "camera": self.camera,
            "hazard": self.hazard,
            "phase": self.phase,
            "ts": round(self.ts, 3),
            "wall_time": self.wall_time,
            "village": self.village,
            "grid": self.grid,
            "confidence": round(float(self.confidence), 4),
            "boxes": [[round(float(v), 1) for v in b] for b in self.boxes],
            "track_ids": [int(t) for t in self.track_ids],
            "snapshot": self.snapshot,
        }
        if self.clip is not None:
            out["clip"] = self.clip
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "event") -> HazardEvent:
        """An event from its contract dict (one JSONL line, one database row).

        Fields outside the contract are ignored (a newer writer may add some); ``extra``
        is kept as it is.

        Args:
            data: the dict.
            where: what to name in errors (``file:line``).

        Raises:
            DataError: ``where: field: problem (alert contract: see ARCHITECTURE.md)``
                for the first missing or ill-typed field.
        """
        if not isinstance(data, Mapping):
            raise DataError(f"{where}: expected a JSON object, got {type(data).__name__}")
        return cls(
            id=_text(data, "id", where, nonempty=True),
            camera=_text(data, "camera", where, nonempty=True),
            hazard=_text(data, "hazard", where, nonempty=True),
            phase=_phase(data, where),
            ts=_number(data, "ts", where, low=0.0),
            wall_time=_iso_time(data, where),
            village=_text(data, "village", where),
            grid=_text(data, "grid", where),
            confidence=_number(data, "confidence", where, low=0.0, high=1.0),
            boxes=_box_list(data, where),
            track_ids=_track_ids(data, where),
            snapshot=_snapshot(data, where),
            extra=_extra(data, where),
            clip=_clip(data, where),
        )


_CONTRACT = "(alert contract: see ARCHITECTURE.md)"


def _bad(where: str, name: str, problem: str) -> DataError:
    return DataError(f"{where}: {name}: {problem} {_CONTRACT}")


def _get(data: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in data:
        raise _bad(where, name, "field required")
    return data[name]


def _text(data: Mapping[str, Any], name: str, where: str, *, nonempty: bool = False) -> str:
    value = _get(data, name, where)
    if not isinstance(value, str):
        raise _bad(where, name, f"expected a string, got {type(value).__name__}")
    if nonempty and not value:
        raise _bad(where, name, "must not be empty")
    return value


def _iso_time(data: Mapping[str, Any], where: str) -> str:
    value = _text(data, "wall_time", where)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise _bad(
            where, "wall_time", f"{value!r} is not an ISO 8601 time (2026-03-01T06:00:00+08:00)"
        ) from None
    return value


def _phase(data: Mapping[str, Any], where: str) -> Phase:
    value = _get(data, "phase", where)
    if value not in PHASES:
        raise _bad(where, "phase", f"{value!r} is not one of {', '.join(PHASES)}")
    return cast(Phase, value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(
    data: Mapping[str, Any], name: str, where: str, *, low: float, high: float | None = None
) -> float:
    value = _get(data, name, where)
    if not _is_number(value) or not math.isfinite(value):
        raise _bad(where, name, f"expected a finite number, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low:g}" if high is None else f"in [{low:g}, {high:g}]"
        raise _bad(where, name, f"{value!r} must be {bounds}")
    return float(value)


def _box_list(data: Mapping[str, Any], where: str) -> tuple[tuple[float, float, float, float], ...]:
    value = _get(data, "boxes", where)
    if not isinstance(value, list):
        raise _bad(where, "boxes", f"expected a list of [x1, y1, x2, y2], got {value!r}")
    out = []
    for k, box in enumerate(value):
        if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
            raise _bad(where, f"boxes.{k}", f"expected [x1, y1, x2, y2] numbers, got {box!r}")
        out.append((float(box[0]), float(box[1]), float(box[2]), float(box[3])))
    return tuple(out)


def _track_ids(data: Mapping[str, Any], where: str) -> tuple[int, ...]:
    value = _get(data, "track_ids", where)
    if not isinstance(value, list):
        raise _bad(where, "track_ids", f"expected a list of integers, got {value!r}")
    for k, t in enumerate(value):
        if not isinstance(t, int) or isinstance(t, bool):
            raise _bad(where, f"track_ids.{k}", f"expected an integer, got {t!r}")
    return tuple(value)


def _snapshot(data: Mapping[str, Any], where: str) -> str | None:
    value = _get(data, "snapshot", where)
    if value is not None and not isinstance(value, str):
        raise _bad(where, "snapshot", f"expected a path or null, got {value!r}")
    return value


def _clip(data: Mapping[str, Any], where: str) -> str | None:
    value = data.get("clip")
    if value is not None and not isinstance(value, str):
        raise _bad(where, "clip", f"expected a path or null, got {value!r}")
    return value


def _extra(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    value = data.get("extra", {})
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad(where, "extra", f"expected an object, got {type(value).__name__}")
    return dict(value)


def event_line(event: HazardEvent) -> str:
    """One event as its JSONL line (compact, UTF-8 names kept readable; no newline)."""
    return json.dumps(
        event.to_dict(), ensure_ascii=False, separators=(",", ":"), default=to_jsonable
    )


def write_jsonl(path: str | os.PathLike[str], events: Iterable[HazardEvent]) -> int:
    """Write events to a new JSONL file (replacing it); returns how many.

    The engine's sink appends event by event (:class:`~gridsight.core.sinks.jsonl.JsonlSink`);
    this is for traces written in one go (tests, exports).

    Raises:
        DataError: the file cannot be written.
    """
    p = Path(path)
    lines = [event_line(e) + "\n" for e in events]
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
    except OSError as exc:
        raise DataError(f"cannot write events to {p}: {exc.strerror}") from exc
    return len(lines)


def parse_jsonl(
    lines: Iterable[str], source: str = "<events>"
) -> Iterator[tuple[int, HazardEvent]]:
    """``(line number, event)`` of each non-blank line, under the one torn-line policy.

    Args:
        lines: the text lines (without newlines).
        source: the file name for messages.

    Raises:
        DataError: ``source:line: ...`` for a malformed line that is not the last one,
            or for any line that is JSON but breaks the contract.
    """
    pending: tuple[int, str] | None = None
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if pending is not None:
            yield pending[0], _parse_line(pending[1], f"{source}:{pending[0]}", last=False)
        pending = (n, raw)
    if pending is not None:
        where = f"{source}:{pending[0]}"
        try:
            event = _parse_line(pending[1], where, last=True)
        except _TornLine as exc:
            log.warning("%s: skipping a torn last line (%s)", where, exc)
            return
        yield pending[0], event


class _TornLine(Exception):
    """The last line is not JSON: a write cut short."""


def _parse_line(text: str, where: str, *, last: bool) -> HazardEvent:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        if last:
            raise _TornLine(f"{exc.msg} at column {exc.colno}") from None
        raise DataError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    return HazardEvent.from_dict(obj, where=where)


def read_jsonl(path: str | os.PathLike[str]) -> list[HazardEvent]:
    """The events of a JSONL file, in file order (see the torn-line policy above).

    Raises:
        DataError: unreadable file, or a malformed line (``file:line: field: problem``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read events from {p}: {exc.strerror}") from exc
    return [ev for _, ev in parse_jsonl(text.splitlines(), str(p))]
