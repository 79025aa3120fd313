"""The JSONL event sink: one JSON object per line, appended, flushed event by event.

Each line is :meth:`HazardEvent.to_dict` — the alert contract of ARCHITECTURE.md —
written as UTF-8 with ``ensure_ascii=False`` so camera and place names stay readable.
The file is opened in append mode (a restarted engine adds to yesterday's log) and
every event is flushed, and by default ``fsync``-ed, before :meth:`JsonlSink.write`
returns: a crash afterwards loses nothing already written. Alerts are rare (a few per
camera per hour), so the sync costs nothing that matters.

:func:`gridsight.core.events.read_jsonl` reads such a file back (the scorer and the
planning simulator's replay do), skipping a torn last line left by a crash mid-write.

Example:
    >>> import tempfile, pathlib
    >>> from gridsight.core.events import read_jsonl
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> with JsonlSink(path) as sink:
    ...     pass
    >>> read_jsonl(path)
    []
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import IO, ClassVar

from gridsight.core.errors import GridsightError
from gridsight.core.events import HazardEvent, event_line
from gridsight.core.sinks.base import EventSink

__all__ = ["JsonlSink", "event_line"]


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
