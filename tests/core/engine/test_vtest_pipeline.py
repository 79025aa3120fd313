"""Real footage through the whole pipeline: OpenCV's vtest.avi, two ONNX models, a clip.

Two cameras play the recorded street (pedestrians, 768x576, 10 fps) sampled at 5 fps:
one on the bundled detector (an ONNX file registered as ``bundled``), one on the genuine
Ultralytics YOLO11n export of the test fixtures given by its path and checked against
its 80 class names at load. A near-water zone over the lower road makes people walking
there an event; each event start must come with an evidence JPEG and an H.264 clip whose
frames had faces and people blurred by the anonymizer (HOG + face cascades, whatever
either model saw).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from gridsight.core.config.camera import CameraConfig
from gridsight.core.config.detector import DetectorConfig
from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sinks.evidence_clips import ClipSettings
from gridsight.core.sinks.evidence_privacy import Anonymizer

from ...faults.rtsp import sample_video

pytestmark = pytest.mark.slow  # two cameras of real video, HOG on every clip frame

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "yolo11n-160.onnx"
ROAD = [[0, 230], [768, 230], [768, 576], [0, 576]]


def _camera(cam_id: str, video: Path, detector: DetectorConfig | None) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": cam_id,
            "name": f"vtest {cam_id}",
            "village": "ruijia",
            "grid": "ruijia-g01",
            "source": str(video),
            "fps": 5,
            "resolution": [768, 576],
            "zones": [{"name": "road", "kind": "polygon", "points": ROAD}],
            "hazards": {
                "near_water": {
                    "zone": "road",
                    "confirm_s": 0.4,
                    "end_after_s": 2.0,
                    "cooldown_s": 30.0,
                    "min_confidence": 0.3,
                }
            },
            **({"detector": detector.model_dump(exclude_unset=True)} if detector else {}),
        }
    )


def test_vtest_through_two_models_gives_events_snapshots_and_blurred_clips(
    tmp_path: Path,
) -> None:
    video = sample_video("vtest.avi")
    cams = [
        _camera("vtest-bundled", video, None),
        _camera("vtest-yolo", video, DetectorConfig(model=str(FIXTURE), iou=0.7)),
    ]
    options = EngineOptions(
        duration_s=14.0,
        keep_events=True,
        run_id="vt",
        snapshots_dir=tmp_path / "snapshots",
        clips=ClipSettings(tmp_path / "clips", pre_s=1.0, post_s=1.0),
        view_check=None,
    )
    engine = Engine(cams, build_plugin_manager(), options=options)
    assert engine.pool is not None and len(engine.pool.detectors) == 2
    assert len(engine.pool.for_camera("vtest-yolo").class_names) == 80
    summary = engine.run()
    assert {c.camera: c.frames for c in summary.status.cameras}["vtest-bundled"] >= 60
    starts = [e for e in engine.events if e.phase == "start" and e.camera == "vtest-bundled"]
    assert starts, "the bundled detector raised no near_water event on vtest.avi's road"
    start = starts[0]
    assert start.snapshot is not None and Path(start.snapshot).is_file()
    assert start.clip is not None and Path(start.clip).is_file()
    assert engine.clips is not None and engine.clips.codec == "h264"
    cap = cv2.VideoCapture(start.clip)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert 8 <= len(frames) <= 11  # 1 s of pre-roll and 1 s of post-roll at 5 fps
    # The raw frame of the start, re-read from the video, has people the anonymizer finds
    # on its own; in the clip those regions lost their detail.
    raw = cv2.VideoCapture(str(video))
    raw.set(cv2.CAP_PROP_POS_MSEC, start.ts * 1000.0)
    ok, original = raw.read()
    assert ok
    regions = Anonymizer().regions(original, None)
    assert len(regions) >= 2
    start_frame = frames[min(len(frames) - 1, round(1.0 * 5))]

    def detail(img: np.ndarray) -> float:
        return float(np.abs(np.diff(img.astype(int), axis=1)).mean())

    blurred = [detail(start_frame[y1:y2, x1:x2]) for x1, y1, x2, y2 in regions]
    clear = [detail(original[y1:y2, x1:x2]) for x1, y1, x2, y2 in regions]
    assert np.median(blurred) < 0.6 * np.median(clear)
