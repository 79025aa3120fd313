"""The JSONL event sink: one JSON object per line, appended, flushed event by event.

Each line is :meth:`HazardEvent.to_dict` — the alert contract of ARCHITECTURE.md —
written as UTF-8 with ``ensure_ascii=False`` so camera and place names stay readable.
The file is opened in append mode (a restarted engine adds to yesterday's log) and
every event is flushed, and by default ``fsync``-ed, before :meth:`JsonlSink.write`
returns: a crash afterwards loses nothing already written. Alerts are rare (a few per
camera per hour), so the sync costs nothing that matters.

:func:`read_events` reads such a file back (the planning simulator replays it), skipping
a torn last line left by a crash mid-write.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> with JsonlSink(path) as sink:
    ...     pass
    >>> read_events(path)
    []
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from gridsight.core.errors import DataError, GridsightError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.base import EventSink

log = logging.getLogger(__name__)


def _json_default(value: Any) -> Any:
    """Serialise numpy values that rule details may carry."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def event_line(event: HazardEvent) -> str:
    """One event as its JSONL line (without the newline)."""
    return json.dumps(
        event.to_dict(), ensure_ascii=False, separators=(",", ":"), default=_json_default
    )


class JsonlSink(EventSink):
    """Append events to a JSON Lines file.

    Args:
        path: the file; its parent directories are created.
        fsync: also ``os.fsync`` after each event (default True), so events survive a
            power loss, not only a crash of the process.

    Raises:
        GridsightError: the file cannot be opened for appending.
    """

    name: ClassVar[str] = "jsonl"

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] | None = self.path.open("a", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise GridsightError(
                f"jsonl sink: cannot open {self.path} for appending ({exc.strerror}); "
                "check the path and its permissions"
            ) from exc
        self.count = 0

    def write(self, event: HazardEvent) -> None:
        """Append one event and make it durable before returning."""
        line = event_line(event) + "\n"
        with self._lock:
            if self._file is None:
                raise GridsightError(f"jsonl sink {self.path} is closed")
            self._file.write(line)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self.count += 1

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_events(path: str | os.PathLike[str], *, strict: bool = False) -> list[dict[str, Any]]:
    """Read a JSONL event file back into dicts (blank lines skipped).

    Args:
        path: the file.
        strict: raise on any malformed line. Otherwise only the *last* line may be
            malformed — what a crash in the middle of a write leaves — and it is skipped
            with a warning.

    Raises:
        DataError: a malformed line (naming the file and line number), or a missing file.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read events from {p}: {exc.strerror}") from exc
    out: list[dict[str, Any]] = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if i == last and not strict:
                log.warning("%s:%d: skipping a torn last line (%s)", p, i + 1, exc)
                continue
            raise DataError(f"{p}:{i + 1}: not a JSON event object ({exc})") from exc
        out.append(obj)
    return out
