"""Test doubles for engine tests: a scripted camera source plugin and a box-finding detector.

``scripted://<name>?frames=N&fps=F&enter=A&leave=B[&period=P]`` renders a dark 640x360
frame with one white "person" box that stands in the water-edge zone (bottom of the
image) from second A to second B and above it otherwise; with a period, that repeats
every P seconds of stream time. :class:`BrightBoxDetector` finds white
boxes by thresholding, so the whole engine downstream of the detector (batcher,
tracker, rules, lifecycle, sinks, hooks) runs for real on a known truth.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from gridsight.core.config.camera import CameraConfig
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.hookspecs import hookimpl
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions

T = TypeVar("T")

W, H = 640, 360
WATER = [[0, 220], [640, 220], [640, 360], [0, 360]]


class ScriptedSource(FrameSource):
    def __init__(self, uri: str) -> None:
        self.uri = uri
        q = {k: v[0] for k, v in parse_qs(urlsplit(uri).query).items()}
        self.n = int(q.get("frames", 50))
        self._fps = float(q.get("fps", 5))
        self.enter = float(q.get("enter", 2))
        self.leave = float(q.get("leave", 6))
        self.period = float(q.get("period", 0))
        self.i = 0

    @property
    def fps(self) -> float:
        return self._fps

    def read(self) -> Frame | None:
        if self.i >= self.n:
            return None
        ts = self.i / self._fps
        img = np.full((H, W, 3), 30, np.uint8)
        t = ts % self.period if self.period > 0 else ts
        y = 250 if self.enter <= t < self.leave else 60  # feet at y+80: in/out of zone
        img[y : y + 80, 300:330] = 255
        frame = Frame(image=img, ts=ts, index=self.i)
        self.i += 1
        return frame


class ScriptedSourcePlugin:
    @hookimpl
    def gridsight_open_source(self, uri: str, options: SourceOptions) -> FrameSource | None:
        return ScriptedSource(uri) if uri.startswith("scripted://") else None

    @hookimpl
    def gridsight_register_source_schemes(self) -> list[str]:
        return ["scripted"]


class BrightBoxDetector:
    """Duck-types :class:`gridsight.core.detection.detector.Detector`: white blobs become people."""

    def __init__(self) -> None:
        self.closed = False
        self.batches = 0

    def preprocess(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[Any]]:
        return np.stack(images), [None] * len(images)

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        self.batches += 1
        return [batch]

    def postprocess(self, outputs: Sequence[np.ndarray], infos: Sequence[Any]) -> list[Detections]:
        out = []
        for img in outputs[0]:
            mask = (img[:, :, 0] > 200).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            boxes = [[x, y, x + w, y + h] for x, y, w, h, area in stats[1:n].tolist() if area > 50]
            k = len(boxes)
            out.append(
                Detections(
                    xyxy=np.array(boxes, np.float32).reshape(k, 4),
                    confidence=np.full(k, 0.9, np.float32),
                    class_id=np.full(k, int(Role.PERSON)),
                )
            )
        return out

    def close(self) -> None:
        self.closed = True


def by_camera(events: Iterable[T], key: Callable[[T], str] | None = None) -> dict[str, list[T]]:
    """Events camera by camera, each camera's in the order they came.

    This is the order the engine promises: one camera's frames are judged in stream
    order, so its events come in order; how two cameras' events interleave depends on
    the batcher and the threads, and a test must not compare it.

    Args:
        events: :class:`HazardEvent` objects, or anything ``key`` maps to a camera id
            (e.g. ``lambda e: e["camera"]`` for JSONL dicts).
    """
    out: dict[str, list[T]] = defaultdict(list)
    for ev in events:
        out[key(ev) if key is not None else ev.camera].append(ev)  # type: ignore[attr-defined]
    return dict(out)


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` after a generous ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def camera(cam_id: str, source: str, **hazard: Any) -> CameraConfig:
    settings = {"zone": "water_edge", "confirm_s": 0.4, "end_after_s": 1.0, "cooldown_s": 1.0}
    settings.update(hazard)
    return CameraConfig.model_validate(
        {
            "id": cam_id,
            "name": f"test {cam_id}",
            "village": "ruijia",
            "grid": "ruijia-g01",
            "source": source,
            "fps": 5,
            "resolution": [W, H],
            "zones": [{"name": "water_edge", "kind": "polygon", "points": WATER}],
            "hazards": {"near_water": settings},
        }
    )


class LetterboxedBrightBoxDetector(BrightBoxDetector):
    """Like :class:`BrightBoxDetector`, but takes the engine's letterboxed float batches.

    Having ``input_size`` makes the engine letterbox itself and infer on its worker
    thread (the overlapped path), exactly as with the real ``Detector``.
    """

    input_size = (H, W)

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        self.batches += 1
        return [batch.copy()]

    def postprocess(self, outputs: Sequence[np.ndarray], infos: Sequence[Any]) -> list[Detections]:
        # NCHW float RGB in [0, 1] (same size as the frames: the letterbox is the identity).
        images = [(chw.transpose(1, 2, 0)[:, :, ::-1] * 255).astype(np.uint8) for chw in outputs[0]]
        return super().postprocess([np.stack(images)], infos)
