"""Evidence clips: H.264 around each event start, pre-roll from the ring, retention."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sinks.evidence_clips import ClipRecorder, ClipSettings, RetentionPolicy
from gridsight.core.sinks.evidence_privacy import PrivacySettings

from ..engine_helpers import BrightBoxDetector, ScriptedSourcePlugin, camera

FAST_BLUR = PrivacySettings(faces=False, people=False)  # the detector's person heads only


def _decode(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def test_an_event_start_gets_an_h264_clip_with_pre_and_post_roll(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
    cam = camera("cam-a", "scripted://a?frames=60&enter=4&leave=9")
    clips = ClipSettings(tmp_path / "clips", pre_s=1.0, post_s=2.0, privacy=FAST_BLUR)
    options = EngineOptions(keep_events=True, run_id="c", clips=clips, view_check=None)
    engine = Engine([cam], pm, options=options, detector=BrightBoxDetector())
    engine.run()
    starts = [e for e in engine.events if e.phase == "start" and e.hazard == "near_water"]
    assert len(starts) == 1
    start = starts[0]
    assert start.clip is not None and start.to_dict()["clip"] == start.clip
    path = Path(start.clip)
    assert path.is_file() and path.parent.name == "cam-a"
    assert engine.clips is not None and engine.clips.stats()["written"] == 1
    assert engine.clips.codec == "h264"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
    frames = _decode(path)
    # 5 fps: the start frame and 1 s before it (6 frames), then 2 s after it (10 frames).
    assert len(frames) == 16
    assert frames[0].shape == (360, 640, 3)
    assert not list(path.parent.glob("*.tmp.mp4"))


def test_the_person_head_is_blurred_in_every_clip_frame(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    person = Detections(xyxy=[[40, 20, 120, 200]], confidence=[0.9], class_id=[int(Role.PERSON)])
    rec = ClipRecorder(ClipSettings(tmp_path, pre_s=1.0, post_s=1.0, privacy=FAST_BLUR))
    event = None
    for i in range(12):
        frame = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), np.uint8), (3, 3), 0)
        rec.add_frame("cam-1", i * 0.2, frame, person)
        if i == 5:
            event = HazardEvent(
                id="e1",
                camera="cam-1",
                hazard="near_water",
                phase="start",
                ts=1.0,
                wall_time="2026-01-01T00:00:00+00:00",
                village="v",
                grid="g",
                confidence=0.9,
            )
            path = Path(rec.start(event))
    rec.close()
    assert event is not None and rec.written == 1
    frames = _decode(path)
    assert len(frames) == 11  # 1.0 s before the start (6 frames) and 1.0 s after (5)

    def detail(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a.astype(int), axis=1)).mean())

    for frame in frames:
        head = frame[22:55, 44:116]  # the top 22 % of the person box
        body = frame[100:180, 44:116]
        assert detail(head) < 0.3 * detail(body)


def test_retention_removes_the_oldest_first_and_counts_it(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    for k, age_days in enumerate([10, 5, 3, 1, 0]):
        path = tmp_path / f"cam-{k % 2}" / f"clip{k}.mp4"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * 400_000)
        t = now - age_days * 86400
        os.utime(path, (t, t))
    policy = RetentionPolicy(keep_days=7, keep_gb=0.001)  # 1 MB: two clips fit
    assert policy.enforce(tmp_path, now=now) == 3
    assert policy.removed == {"age": 1, "size": 2}
    left = sorted(p.name for p in tmp_path.rglob("*.mp4"))
    assert left == ["clip3.mp4", "clip4.mp4"]  # the two newest


def test_bad_clip_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="pre_s and post_s"):
        ClipSettings(Path("x"), pre_s=0, post_s=0)
    with pytest.raises(ConfigError, match="keep_gb"):
        ClipSettings(Path("x"), keep_gb=0)


@pytest.mark.parametrize("service", [False, True])
def test_run_and_serve_pass_clips_and_the_config_block_on(tmp_path: Path, service: bool) -> None:
    import yaml

    from gridsight.live import LiveOptions, build_pipeline

    from ...api.fakes import blind_engine

    root = Path(__file__).resolve().parents[3]
    doc = yaml.safe_load((root / "configs" / "jingqiao.yaml").read_text())
    doc["clips"] = {"dir": str(tmp_path / "from-config"), "pre_s": 2, "post_s": 3, "keep_gb": 1}
    config = tmp_path / "town.yaml"
    config.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    seen = []

    def factory(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["options"].clips)
        return blind_engine(*args, **kwargs)

    for given, where in ((None, "from-config"), (tmp_path / "flag", "flag")):
        opts = LiveOptions(db=str(tmp_path / f"o{where}.db"), clips=given, service=service)
        pipe = build_pipeline(config, opts, engine_factory=factory)
        if pipe.host is not None:  # serve builds its engine on the host's thread
            pipe.host.start()
            assert pipe.host.wait_built(60.0)
            pipe.host.stop()
        pipe.close(flush_s=0.0)
        clips = seen[-1]
        assert clips is not None and clips.directory == tmp_path / where
        assert (clips.pre_s, clips.post_s, clips.keep_gb) == (2, 3, 1)
