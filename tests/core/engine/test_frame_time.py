"""Time travels with the frame: the same synthetic run at two machine times, same events.

Two street cameras of the synthetic world (the vending scene), one whose world clock is
10:00 (outside vending's allowed 06:00-08:00: a stall set up there alerts) and one at
06:30 (inside: the same stall must not alert), run through the whole engine (reader,
queue, batcher, tracker, rules, lifecycle, sink) with the world's truth boxes as the
detector. The machine's clock is frozen at 09:00 and then at 16:54 (the hour that made
a vendor inside the allowed hours alert before frames carried their time): the events
must be identical, wall times included, and be the world's, not the machine's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from gridsight.core.config.camera import CameraConfig
from gridsight.core.detection.detections import Detections
from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.hazards import lifecycle
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sources.base import Frame, FrameSource, SourceOptions, capture_clock
from gridsight.simulator.source import SyntheticSource
from gridsight.simulator.world import open_world

from ..engine_helpers import by_camera

OUTSIDE = "synthetic://street?seed=5&fps=2&w=320&h=180&clock=10:00"
INSIDE = "synthetic://street?seed=5&fps=2&w=320&h=180&clock=06:30"
DURATION_S = 200.0  # the stall is set up at ~33 s; the 120 s dwell ends at ~152 s


class _Oracle:
    """Truth boxes of the frames the oracle sources delivered, found by image identity."""

    def __init__(self) -> None:
        self.truth: dict[int, tuple[np.ndarray, Detections]] = {}

    def remember(self, image: np.ndarray, dets: Detections) -> None:
        self.truth[id(image)] = (image, dets)

    def lookup(self, image: np.ndarray) -> Detections:
        kept, dets = self.truth.pop(id(image))
        assert kept is image
        return dets


class _OracleSource(FrameSource):
    def __init__(self, uri: str, options: SourceOptions, oracle: _Oracle) -> None:
        self.uri = uri
        self.inner = SyntheticSource(uri.replace("oracle://", "synthetic://"), options)
        self.oracle = oracle

    @property
    def fps(self) -> float:
        return self.inner.fps

    def read(self) -> Frame | None:
        frame = self.inner.read()
        truth = self.inner.last_truth
        assert frame is not None and truth is not None
        k = len(truth.roles)
        self.oracle.remember(
            frame.image,
            Detections(
                xyxy=truth.boxes,
                confidence=np.full(k, 0.9, np.float32),
                class_id=truth.roles,
            ),
        )
        return frame


class _OraclePlugin:
    def __init__(self, oracle: _Oracle) -> None:
        self.oracle = oracle

    @hookimpl
    def gridsight_open_source(self, uri: str, options: SourceOptions) -> FrameSource | None:
        return _OracleSource(uri, options, self.oracle) if uri.startswith("oracle://") else None

    @hookimpl
    def gridsight_register_source_schemes(self) -> list[str]:
        return ["oracle"]


class _OracleDetector:
    """Duck-types the engine's detector: the world's truth boxes, perfectly detected."""

    def __init__(self, oracle: _Oracle) -> None:
        self.oracle = oracle

    def preprocess(self, images: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[Any]]:
        return list(images), [None] * len(images)

    def infer(self, batch: list[np.ndarray]) -> list[np.ndarray]:
        return batch

    def postprocess(self, outputs: Sequence[np.ndarray], infos: Sequence[Any]) -> list[Detections]:
        return [self.oracle.lookup(img) for img in outputs]

    def close(self) -> None:
        pass


def _camera(cam_id: str, uri: str) -> CameraConfig:
    world = open_world(uri)
    return CameraConfig.model_validate(
        {
            "id": cam_id,
            "name": cam_id,
            "village": "ruijia",
            "grid": "ruijia-g01",
            "source": uri.replace("synthetic://", "oracle://"),
            "fps": 2,
            "resolution": [320, 180],
            "zones": world.zones,
            "hazards": {"vending": {}},
        }
    )


@pytest.fixture
def machine_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Freeze the machine's wall clock (datetime.now/utcnow in gridsight, and time.time)."""

    def freeze(at: datetime) -> None:
        class Frozen(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
                return at if tz is None else at.astimezone(tz)

            @classmethod
            def utcnow(cls) -> datetime:  # type: ignore[override]
                return at.replace(tzinfo=None)

        for name, module in list(sys.modules.items()):
            found = getattr(module, "datetime", None) if name.startswith("gridsight") else None
            if isinstance(found, type) and issubclass(found, datetime):
                monkeypatch.setattr(module, "datetime", Frozen)
        monkeypatch.setattr(time, "time", lambda: at.timestamp())

    yield freeze


def _camera_of(event: dict[str, Any]) -> str:
    return str(event["camera"])


def _run() -> list[dict[str, Any]]:
    oracle = _Oracle()
    pm = build_plugin_manager(plugins=[_OraclePlugin(oracle)])
    cams = [_camera("cam-outside", OUTSIDE), _camera("cam-inside", INSIDE)]
    options = EngineOptions(duration_s=DURATION_S, keep_events=True, run_id="same")
    engine = Engine(cams, pm, options=options, detector=_OracleDetector(oracle))
    engine.run()
    return [e.to_dict() for e in engine.events]


@pytest.mark.slow
def test_two_machine_times_give_identical_events(machine_clock: Any) -> None:
    machine_clock(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))  # 09:00 in Jingqiao
    morning = _run()
    assert lifecycle.utc_now().hour == 1 and capture_clock().hour == 1  # the freeze holds
    machine_clock(datetime(2026, 12, 1, 8, 54, tzinfo=UTC))  # 16:54 in Jingqiao
    afternoon = _run()
    # Each camera's events, in order (the two cameras may interleave differently).
    assert by_camera(morning, key=_camera_of) == by_camera(afternoon, key=_camera_of)

    starts = [e for e in morning if e["phase"] == "start"]
    # Outside the allowed hours the stall alerts once its dwell is done (~152 s, 10:02:32
    # on the world's clock); inside them (06:30) it never does, whatever the machine says.
    assert [e["camera"] for e in starts] == ["cam-outside"]
    assert 140.0 <= starts[0]["ts"] <= 170.0
    assert starts[0]["extra"]["time_of_day"].startswith("10:02")
    # Every event's wall time is the world's (2026-03-02, UTC+8), never the machine's.
    world = open_world(OUTSIDE)
    for e in morning:
        assert e["wall_time"] == world.wall_time(e["ts"]).isoformat(timespec="milliseconds")
