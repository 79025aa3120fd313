"""The frame source interface every source plugin implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How a source should deliver frames.

    Attributes:
        fps: target frames per second to sample (None: the source's native rate).
        loop: restart a file or synthetic stream at its end.
        realtime: pace frames to the stream's clock (False: as fast as possible).
        no_frame_timeout_s: a live source delivering nothing for this long is reconnected.
        width: requested frame width (synthetic sources render at it; video sources
            scale to it when width and height are both set), or None for native.
        height: requested frame height, or None.
        start_time: wall-clock time of the first frame of a *recorded* stream (a video
            file), from the camera's ``start_time:``; file sources then stamp each frame
            ``start_time + ts``. None: the container's metadata if the source can read
            it, else the time the file was opened. Live and synthetic sources ignore it.
    """

    fps: float | None = None
    loop: bool = False
    realtime: bool = False
    no_frame_timeout_s: float = 10.0
    width: int | None = None
    height: int | None = None
    start_time: datetime | None = None


def capture_clock() -> datetime:
    """The machine's wall clock, timezone-aware (UTC): the capture time of a live frame."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: BGR ``uint8`` image, stream time, index and wall-clock time.

    Attributes:
        image: BGR ``uint8`` ``(h, w, 3)``.
        ts: stream time in seconds (monotonic within a stream; what the lifecycle and
            the dwell timers measure).
        index: frame number in the stream.
        wall_time: timezone-aware wall-clock time the frame shows: a live source's
            capture clock, a synthetic world's own clock, a file's start time plus
            ``ts``. Calendar rules (allowed hours) and the events' ``wall_time`` read
            it, never the machine's clock. None only from a source plugin that does not
            set it; the camera reader then stamps it with the time it read the frame.
    """

    image: np.ndarray
    ts: float
    index: int
    wall_time: datetime | None = None


class FrameSource(ABC):
    """A camera stream. ``read`` blocks for the next frame; None means the stream ended."""

    uri: str

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None at the end of the stream."""

    @property
    @abstractmethod
    def fps(self) -> float:
        """Native frames per second of the stream."""

    @property
    def is_live(self) -> bool:
        """Live sources (RTSP) are reconnected on failure; files and synthetic are not."""
        return False

    @property
    def end_problem(self) -> str | None:
        """Why a finite stream ended early (e.g. a file damaged part-way), or None.

        Read after :meth:`read` returned None: None means a normal end of stream.
        """
        return None

    def close(self) -> None:  # noqa: B027 - optional for sources without resources
        """Release the stream."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
