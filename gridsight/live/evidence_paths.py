"""Evidence paths as the store keeps them: relative to the service's data folder.

The engine names its snapshot and clip files by absolute paths (the folder it was given);
a store that keeps those breaks when the data folder moves or is mounted elsewhere. The
live pipeline stores a path inside the data folder relative to it (``snapshots/cam/x.jpg``)
and the API resolves it against the folder on read (``gridsight.api.routers.events``).
Paths outside the folder are kept as they are.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gridsight.core.events import HazardEvent


def relative_to(stored: str | None, data_dir: Path) -> str | None:
    """``stored`` relative to ``data_dir`` (POSIX form) when it lies inside it, else as is.

    Example:
        >>> relative_to("/srv/gs/snapshots/cam-1/e.jpg", Path("/srv/gs"))
        'snapshots/cam-1/e.jpg'
        >>> relative_to("/elsewhere/e.jpg", Path("/srv/gs"))
        '/elsewhere/e.jpg'
    """
    if not stored:
        return stored
    path = Path(stored)
    if not path.is_absolute() or not path.is_relative_to(data_dir):
        return stored
    return path.relative_to(data_dir).as_posix()


def with_relative_evidence(event: HazardEvent, data_dir: Path) -> HazardEvent:
    """``event`` with its evidence paths inside ``data_dir`` made relative to it."""
    snapshot, clip = relative_to(event.snapshot, data_dir), relative_to(event.clip, data_dir)
    if (snapshot, clip) == (event.snapshot, event.clip):
        return event
    return dataclasses.replace(event, snapshot=snapshot, clip=clip)
