"""The engine raises a ``camera_fault`` event and shows ``view`` when a camera is covered.

A file camera plays OpenCV's recorded street (vtest.avi); from stream second 12 on its
frames are covered (dark and blurred, as by a hand over the lens), from second 24 on
they are clear again. The engine runs in --fast mode with the test detector.
"""

from __future__ import annotations

import cv2
import numpy as np

from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions
from gridsight.core.sources.opencv_source import OpenCVSource
from gridsight.core.sources.view_check import CAMERA_FAULT, ViewCheckSettings

from ..core.engine_helpers import BrightBoxDetector, camera
from .harness import healthy_cameras
from .rtsp import sample_video

COVER_FROM, COVER_UNTIL = 12.0, 24.0


class CoveredStreet(FrameSource):
    def __init__(self, options: SourceOptions) -> None:
        self.uri = "covered://street"
        self.inner = OpenCVSource(str(sample_video()), options)

    @property
    def fps(self) -> float:
        return self.inner.fps

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is None or not COVER_FROM <= frame.ts < COVER_UNTIL:
            return frame
        dark = (cv2.GaussianBlur(frame.image, (51, 51), 0) * 0.15).astype(np.uint8)
        return Frame(image=dark, ts=frame.ts, index=frame.index, wall_time=frame.wall_time)

    def close(self) -> None:
        self.inner.close()


class CoveredPlugin:
    @hookimpl
    def gridsight_open_source(self, uri: str, options: SourceOptions) -> FrameSource | None:
        return CoveredStreet(options) if uri.startswith("covered://") else None

    @hookimpl
    def gridsight_register_source_schemes(self) -> list[str]:
        return ["covered"]


def test_a_covered_camera_raises_camera_fault_and_shows_in_the_status() -> None:
    from .harness import BlinkPlugin

    pm = build_plugin_manager(plugins=[CoveredPlugin(), BlinkPlugin()])
    street = camera("street", "covered://street")  # frames scaled to 640x360
    options = EngineOptions(
        duration_s=36.0,
        keep_events=True,
        run_id="view",
        view_check=ViewCheckSettings(interval_s=2.0, confirm=2, learn=3),
    )
    engine = Engine([street, *healthy_cameras()], pm, options=options, detector=BrightBoxDetector())
    states = []
    engine.listeners.append(lambda ev: states.append(engine.status().camera("street").view))
    summary = engine.run()
    faults = [e for e in engine.events if e.hazard == CAMERA_FAULT]
    assert [(e.camera, e.phase, e.extra["view"]) for e in faults] == [
        ("street", "start", "covered"),
        ("street", "end", "ok"),
    ]
    start, end = faults
    # Confirmed on the 2nd check after the cover (checks every 2 s), ended likewise.
    assert COVER_FROM < start.ts <= COVER_FROM + 2 * 2.0 + 0.5
    assert COVER_UNTIL < end.ts <= COVER_UNTIL + 2 * 2.0 + 0.5
    assert start.id == end.id and start.id.endswith("@view")
    assert "covered" in states  # the status showed it while the event was open
    assert summary.status.camera("street").view == "ok"
    # The healthy blink cameras never looked tampered with (featureless: moved unjudged).
    assert all(e.camera == "street" for e in faults)
    assert summary.status.to_dict()["cameras"][0]["view"] == "ok"
