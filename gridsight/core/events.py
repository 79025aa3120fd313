"""Hazard events: the alert contract written to sinks (see ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
        if self.extra:
            out["extra"] = self.extra
        return out
