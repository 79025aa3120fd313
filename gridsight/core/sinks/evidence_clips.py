"""Evidence clips: a short H.264 MP4 around each event start, written off the engine's thread.

Per camera a ring buffer keeps the last ``pre_s`` seconds of the frames the engine
already sampled (no second decode of the stream). When an event starts, the clip's path
is fixed at once (so the event, and the work order made from it, can link it), the ring
is the pre-roll, and the camera's next ``post_s`` seconds of frames the post-roll; then
the frames go to one writer thread, which blurs them (the same
:class:`~gridsight.core.sinks.evidence_privacy.Anonymizer` as the snapshots: faces and
people found on every frame, whatever the detector) and encodes them.

Encoder. OpenCV's pip wheels carry no H.264 encoder (``VideoWriter`` with ``avc1`` fails:
their FFmpeg has only the ``h264_v4l2m2m`` hardware encoder), so clips are encoded with
PyAV's bundled FFmpeg and ``libx264`` (``pip install 'gridsight[clips]'``). Without PyAV
the writer falls back to OpenCV's MPEG-4 Part 2 (``mp4v``) and says so once
(:attr:`ClipRecorder.codec`): browsers will not play those.

Disk use is bounded by a retention policy: clips older than ``keep_days`` go, then the
oldest while the folder holds more than ``keep_gb``; every removal is counted.

Example:
    >>> rec = ClipRecorder(ClipSettings(Path("clips"), pre_s=5, post_s=5))   # doctest: +SKIP
    >>> rec.add_frame("cam-1", ts, image, detections)   # every processed frame
    >>> path = rec.start(event, zones)                   # on an event start
    >>> rec.close()                                      # writes what is pending
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from gridsight.core.detection.detections import Detections
from gridsight.core.errors import ConfigError, DataError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.evidence_privacy import Anonymizer, PrivacySettings

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class ClipSettings:
    """Where clips go, how long they are and how long they are kept.

    Attributes:
        directory: clips go to ``<directory>/<camera>/<event id>.mp4``.
        pre_s: seconds of frames before the event start (the ring buffer's length).
        post_s: seconds of frames after it.
        keep_days: clips older than this are removed (None: no age limit).
        keep_gb: the oldest clips are removed while the folder holds more (None: no limit).
        blur: blur faces and people on every frame (see ``evidence_privacy``).
        privacy: what the blur covers.
        max_frames: at most this many frames buffered per camera (memory bound).
    """

    directory: Path
    pre_s: float = 5.0
    post_s: float = 5.0
    keep_days: float | None = 7.0
    keep_gb: float | None = 10.0
    blur: bool = True
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    max_frames: int = 300

    def __post_init__(self) -> None:
        if self.pre_s < 0 or self.post_s < 0 or self.pre_s + self.post_s <= 0:
            raise ConfigError(
                f"clips: pre_s and post_s must be >= 0 and not both 0, got "
                f"{self.pre_s}, {self.post_s}"
            )
        for name in ("keep_days", "keep_gb"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"clips: {name} must be > 0 (or unset), got {value}")


@dataclass(slots=True)
class _Pending:
    event: HazardEvent
    path: Path
    end_ts: float
    frames: list[tuple[float, np.ndarray, Detections | None]]


class RetentionPolicy:
    """Removes clips older than ``keep_days``, then the oldest while over ``keep_gb``.

    Attributes:
        removed: clips removed so far, by reason (``age``, ``size``).
    """

    def __init__(self, keep_days: float | None, keep_gb: float | None) -> None:
        self.keep_days = keep_days
        self.keep_gb = keep_gb
        self.removed: dict[str, int] = {"age": 0, "size": 0}

    def enforce(self, directory: Path, now: float | None = None) -> int:
        """Apply the policy to the ``*.mp4`` files under ``directory``; return removals."""
        now = time.time() if now is None else now
        files = []
        for path in directory.rglob("*.mp4"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime, st.st_size, path))
        files.sort()  # oldest first
        count = 0
        if self.keep_days is not None:
            cutoff = now - self.keep_days * 86400.0
            while files and files[0][0] < cutoff:
                _, _, path = files.pop(0)
                path.unlink(missing_ok=True)
                self.removed["age"] += 1
                count += 1
        if self.keep_gb is not None:
            limit = self.keep_gb * 1e9
            total = sum(size for _, size, _ in files)
            while files and total > limit:
                _, size, path = files.pop(0)
                path.unlink(missing_ok=True)
                total -= size
                self.removed["size"] += 1
                count += 1
        return count


def _even(image: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even width and height: crop the odd last row/column."""
    h, w = image.shape[:2]
    return image[: h - h % 2, : w - w % 2]


def encode_mp4(
    path: Path, frames: Sequence[tuple[float, np.ndarray]], fps_hint: float = 5.0
) -> str:
    """Write BGR frames with their stream times to an MP4; return the codec used.

    Frame times are kept (a sampled or gated camera's frames are not evenly spaced), in
    milliseconds. H.264 (libx264) through PyAV where installed, else OpenCV's ``mp4v``.

    Raises:
        DataError: no frames, or the encoder failed.
    """
    if not frames:
        raise DataError(f"clip {path}: no frames to write")
    t0 = frames[0][0]
    try:
        import av
    except ImportError:
        return _encode_mp4v(path, frames, fps_hint)
    first = _even(frames[0][1])
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=max(1, round(fps_hint)))
        stream.width, stream.height = first.shape[1], first.shape[0]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "veryfast", "crf": "26"}
        last = -1
        for ts, image in frames:
            pts = max(last + 1, round((ts - t0) * 1000))
            last = pts
            frame = av.VideoFrame.from_ndarray(_even(image), format="bgr24")
            frame.pts = pts
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return "h264"


def _encode_mp4v(path: Path, frames: Sequence[tuple[float, np.ndarray]], fps_hint: float) -> str:
    """OpenCV's MPEG-4 Part 2 writer: the fallback where PyAV is not installed."""
    import cv2

    first = frames[0][1]
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps_hint, (first.shape[1], first.shape[0])
    )
    if not writer.isOpened():
        raise DataError(f"clip {path}: no video encoder available (install PyAV)")
    for _, image in frames:
        writer.write(image)
    writer.release()
    return "mp4v"


class ClipRecorder:
    """Ring buffers per camera, pending clips, and the writer thread.

    ``add_frame`` and ``start`` are called on the engine's thread and only append to
    lists; blurring, encoding and retention run on the writer thread.

    Attributes:
        written: clips written.
        failed: clips that could not be written (the error is logged).
        codec: ``h264``, or ``mp4v`` where PyAV is missing (``-`` before the first clip).
        retention: the retention policy (its ``removed`` counts).
    """

    def __init__(self, settings: ClipSettings) -> None:
        self.settings = settings
        self.directory = Path(settings.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.retention = RetentionPolicy(settings.keep_days, settings.keep_gb)
        self.anonymizer = Anonymizer(settings.privacy) if settings.blur else None
        self._rings: dict[str, deque[tuple[float, np.ndarray, Detections | None]]] = {}
        self._pending: dict[str, list[_Pending]] = {}
        self._jobs: queue.Queue[_Pending | None] = queue.Queue()
        self.written = 0
        self.failed = 0
        self.codec = "-"
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="gridsight-clips", daemon=True)
        self._thread.start()

    def path_for(self, event: HazardEvent) -> Path:
        camera = _SAFE_NAME.sub("_", event.camera) or "camera"
        return self.directory / camera / f"{_SAFE_NAME.sub('_', event.id)}.mp4"

    def add_frame(
        self, camera: str, ts: float, image: np.ndarray, detections: Detections | None = None
    ) -> None:
        """One processed frame of ``camera`` (engine thread): into its ring and its clips."""
        ring = self._rings.get(camera)
        if ring is None:
            ring = self._rings[camera] = deque(maxlen=self.settings.max_frames)
        item = (ts, image, detections)
        ring.append(item)
        while ring and ts - ring[0][0] > self.settings.pre_s:
            ring.popleft()
        pending = self._pending.get(camera)
        if not pending:
            return
        still = []
        for clip in pending:
            if clip.frames and ts <= clip.frames[-1][0]:
                still.append(clip)  # the frame that started it is already in
                continue
            if ts > clip.end_ts:
                self._jobs.put(clip)
                continue
            clip.frames.append(item)
            if len(clip.frames) >= self.settings.max_frames or ts >= clip.end_ts:
                self._jobs.put(clip)
            else:
                still.append(clip)
        self._pending[camera] = still

    def start(self, event: HazardEvent) -> str:
        """An event started (engine thread): its clip's path, written once the post-roll
        is in (or at :meth:`close`)."""
        path = self.path_for(event)
        frames = list(self._rings.get(event.camera, ()))
        clip = _Pending(event, path, event.ts + self.settings.post_s, frames)
        if self.settings.post_s <= 0:
            self._jobs.put(clip)
        else:
            self._pending.setdefault(event.camera, []).append(clip)
        return str(path)

    def _work(self) -> None:
        while True:
            clip = self._jobs.get()
            if clip is None:
                return
            try:
                self._write(clip)
            except Exception as exc:
                self.failed += 1
                log.warning("clip %s could not be written: %s", clip.path, exc, exc_info=exc)

    def _write(self, clip: _Pending) -> None:
        frames = []
        for ts, image, dets in clip.frames:
            if self.anonymizer is not None:
                image = self.anonymizer.apply(image, dets)
            frames.append((ts, image))
        clip.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = clip.path.with_name(clip.path.stem + ".tmp.mp4")
        span = frames[-1][0] - frames[0][0] if len(frames) > 1 else 0.0
        fps = (len(frames) - 1) / span if span > 0 else 5.0
        codec = encode_mp4(tmp, frames, fps)
        if codec != "h264" and self.codec != codec:
            log.warning("clips: PyAV is not installed; writing MPEG-4 Part 2 (mp4v), not H.264")
        self.codec = codec
        tmp.replace(clip.path)  # a reader never sees half a clip
        self.written += 1
        removed = self.retention.enforce(self.directory)
        if removed:
            log.info("clips: removed %d old clip(s) (%s)", removed, self.retention.removed)

    def close(self, timeout: float = 120.0) -> None:
        """Write every pending clip (with the post-roll it has) and stop the writer."""
        if self._closed:
            return
        self._closed = True
        for pending in self._pending.values():
            for clip in pending:
                self._jobs.put(clip)
        self._pending.clear()
        self._jobs.put(None)
        self._thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        """Counters for the end-of-run summary and the status board."""
        return {
            "written": self.written,
            "failed": self.failed,
            "codec": self.codec,
            "removed": dict(self.retention.removed),
        }
