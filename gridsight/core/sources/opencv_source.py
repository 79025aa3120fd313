"""Video files and network streams through OpenCV's FFmpeg capture.

Handles ``rtsp://`` / ``rtsps://`` / ``rtmp://`` / ``http(s)://`` streams (live), and
``file://`` URIs or plain paths (files). Frames the target fps does not need are only
grabbed, not retrieved, which skips the colour conversion and copy of each dropped frame.

Timestamps: files use ``index / native fps`` (exact and repeatable, also across loops);
live streams use the time since the stream was opened, because RTSP presentation times
start at arbitrary values and jump on reconnects.

Wall time (``Frame.wall_time``): live streams the capture clock when the frame was
grabbed; files ``start + ts``, where ``start`` is the camera's ``start_time:``
(``SourceOptions.start_time``) or else the time the file was opened. OpenCV exposes no
container metadata (an MP4's ``creation_time`` is not among its capture properties), so
a recording's own start time cannot be read from it; set ``start_time:`` for recordings
that calendar rules (allowed hours) must judge.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import numpy as np

from gridsight.core.errors import SourceError
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions, capture_clock
from gridsight.core.sources.sampler import FpsSampler

LIVE_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "rtmp", "http", "https")
FILE_SCHEMES: tuple[str, ...] = ("file",)
SCHEMES: tuple[str, ...] = LIVE_SCHEMES + FILE_SCHEMES

# Used when a container reports no (or an absurd) frame rate, as some MJPEG streams do.
_FALLBACK_FPS = 25.0


def uri_scheme(uri: str) -> str:
    """The lower-case scheme of ``uri``, or ``""`` for a plain path (``C:\\x`` included)."""
    if "://" not in uri:
        return ""
    return urlsplit(uri).scheme.lower()


def file_uri_to_path(uri: str) -> Path:
    """Decode a ``file://`` URI (percent-escapes, ``localhost`` host) into a local path.

    Example:
        >>> str(file_uri_to_path("file:///data/cam%201.mp4"))
        '/data/cam 1.mp4'
    """
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        # file://server/share/x.mp4 names a network share; keep the host in the path.
        return Path(url2pathname(f"//{parts.netloc}{parts.path}"))
    # url2pathname undoes the percent-escapes (once: "%2520" stays "%20").
    return Path(url2pathname(parts.path))


def handles(uri: str) -> bool:
    """Whether this source understands ``uri``: a known scheme or a plain path."""
    scheme = uri_scheme(uri)
    return scheme == "" or scheme in SCHEMES


class OpenCVSource(FrameSource):
    """A :class:`FrameSource` over ``cv2.VideoCapture`` with the FFmpeg backend.

    Args:
        uri: ``rtsp://...``, ``http(s)://...``, ``file:///...`` or a plain path.
        options: target fps (frames in between are grabbed but not decoded to BGR),
            loop at end of file, the no-frame timeout of live streams, and the
            resolution (``width`` and ``height`` both set) frames are scaled to, so that
            boxes come out in the pixels the camera's zones are drawn in.
        clock: monotonic clock for live timestamps (injectable for tests).
        wall_clock: the wall clock (timezone-aware) for live frames' capture time and a
            file's open time (injectable for tests).

    Raises:
        SourceError: the file does not exist, is not a readable video, or the stream
            cannot be opened. The message names the path/URI and what to check.
    """

    def __init__(
        self,
        uri: str,
        options: SourceOptions | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = capture_clock,
    ) -> None:
        import cv2  # heavy; imported only when a video source is really opened

        self._cv2 = cv2
        self.uri = uri
        self.options = options or SourceOptions()
        self._clock = clock
        scheme = uri_scheme(uri)
        self._live = scheme in LIVE_SCHEMES
        self._sampler = FpsSampler(self.options.fps)
        self._index = 0  # frames delivered
        self._pos = 0  # frames consumed from the container in this pass
        self._loop_offset = 0.0  # stream seconds of completed loop passes
        self._pending: np.ndarray | None = None  # first frame, read while probing
        self._end_problem: str | None = None  # set when a file stops before its end
        if self._live:
            self.path: Path | None = None
            self._cap = self._open_live(uri)
        else:
            self.path = file_uri_to_path(uri) if scheme == "file" else Path(uri)
            self._cap = self._open_file(self.path)
        self._opened_at = self._clock()
        self._wall_clock = wall_clock
        self._wall_start = self.options.start_time or wall_clock()
        native = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = native if math.isfinite(native) and 0.0 < native <= 1000.0 else _FALLBACK_FPS
        # Frames the container says it holds (0 for live streams or when it does not say).
        count = float(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        self._frame_count = int(count) if math.isfinite(count) and count > 0 else 0
        width = float(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0.0)
        height = float(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0.0)
        self._native_size: tuple[int, int] | None = (
            (int(width), int(height)) if width > 0 and height > 0 else None
        )

    # ------------------------------------------------------------------ opening
    def _open_file(self, path: Path) -> Any:
        cv2 = self._cv2
        if not path.exists():
            raise SourceError(
                f"video file not found: {path} (from {self.uri!r}); check the camera's "
                "`source` path, and that it is readable from where gridsight runs"
            )
        if not path.is_file():
            raise SourceError(f"video source {path} is not a file; point `source` at a video file")
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"cannot open video file {path}: FFmpeg does not recognise it; check that it "
                "is a complete, uncorrupted video (try `ffprobe` on it) in a supported codec"
            )
        # Probe one frame: a truncated file can open and still hold nothing decodable.
        ok, image = cap.read()
        if not ok or image is None:
            cap.release()
            raise SourceError(
                f"video file {path} has no decodable frames; it is empty, truncated or "
                "corrupt - re-export or re-copy it"
            )
        self._pending = image
        return cap

    def _open_live(self, uri: str) -> Any:
        cv2 = self._cv2
        timeout_ms = max(1, int(self.options.no_frame_timeout_s * 1000))
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            timeout_ms,
        ]
        cap = cv2.VideoCapture(uri, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"cannot open stream {_redact(uri)}: check the address, credentials and that "
                f"the camera is reachable (timeout {self.options.no_frame_timeout_s:g} s)"
            )
        return cap

    # ------------------------------------------------------------------ reading
    @property
    def fps(self) -> float:
        """Native frames per second the container or stream reports (25 if it reports none)."""
        return self._fps

    @property
    def native_size(self) -> tuple[int, int] | None:
        """``(width, height)`` the stream opened at (before scaling), if it says."""
        return self._native_size

    @property
    def is_live(self) -> bool:
        """True for network streams (reconnected on failure), False for files."""
        return self._live

    def _stream_ts(self) -> float:
        if self._live:
            return self._clock() - self._opened_at
        return self._loop_offset + self._pos / self._fps

    def _grab(self) -> bool:
        """Advance one frame in the container; at end of file, loop if asked."""
        if self._pending is not None:
            return True
        if self._cap.grab():
            return True
        if not self._live and self._stopped_early():
            return False
        if self._live or not self.options.loop or self._pos == 0:
            return False
        self._loop_offset += self._pos / self._fps
        self._pos = 0
        self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
        return bool(self._cap.grab())

    def _stopped_early(self) -> bool:
        """After a failed grab of a file: whether it stopped well before its last frame.

        FFmpeg stops at the first undecodable packet of a file damaged part-way; the
        container still says how many frames it should hold. A shortfall of more than
        5 % (container counts of some formats are estimates) is reported, not hidden as
        a normal end of file.
        """
        expected = self._frame_count
        if expected <= 0 or self._pos >= 0.95 * expected - 1:
            return False
        self._end_problem = (
            f"video file {self.path} stopped at frame {self._pos} of {expected}: it is "
            "damaged or truncated part-way (try `ffprobe` on it); re-export or re-copy it"
        )
        return True

    @property
    def end_problem(self) -> str | None:
        """Why the file ended early (damaged part-way), or None for a normal end."""
        return self._end_problem

    def read(self) -> Frame | None:
        """The next frame at the target fps, or None at end of file / when the stream drops."""
        while self._grab():
            ts = self._stream_ts()
            self._pos += 1
            if not self._sampler.keep(ts):
                self._pending = None
                continue
            if self._pending is not None:
                image, self._pending = self._pending, None
            else:
                ok, image = self._cap.retrieve()
                if not ok or image is None:
                    if not self._live:
                        self._end_problem = (
                            f"video file {self.path}: frame {self._pos - 1} cannot be "
                            "decoded; the file is damaged (try `ffprobe` on it)"
                        )
                    return None
            wall = self._wall_clock() if self._live else self._wall_start + timedelta(seconds=ts)
            frame = Frame(image=self._resize(image), ts=ts, index=self._index, wall_time=wall)
            self._index += 1
            return frame
        return None

    def _resize(self, image: np.ndarray) -> np.ndarray:
        """Scale to the configured resolution (the one the camera's zones are drawn on)."""
        width, height = self.options.width, self.options.height
        if width is None or height is None or image.shape[:2] == (height, width):
            return image
        shrink = width * height < image.shape[0] * image.shape[1]
        interp = self._cv2.INTER_AREA if shrink else self._cv2.INTER_LINEAR
        return np.asarray(self._cv2.resize(image, (width, height), interpolation=interp))

    def close(self) -> None:
        """Release the capture (idempotent)."""
        self._cap.release()

    def __repr__(self) -> str:
        return f"OpenCVSource({_redact(self.uri)!r}, live={self._live}, fps={self._fps:g})"


def _redact(uri: str) -> str:
    """The URI without its password, for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()
