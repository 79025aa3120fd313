"""Fault matrix, file side: a recording truncated part-way, a zero-byte or non-video file.

A file camera is not live: a file damaged part-way ends the camera with the damage in its
status (nothing will make the missing frames appear, so there is no recovery to wait
for); a file that cannot be opened at all is retried with the same capped backoff as a
stream, so replacing it with a good recording brings the camera up by itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .harness import (
    assert_others_unaffected,
    faulty_camera,
    metric_now,
    observe,
    record_recovery,
    run_faulty,
    time_to_frames,
)
from .rtsp import sample_video

pytestmark = pytest.mark.slow

DURATION = 14.0
CAM = "file-cam"


def test_a_recording_truncated_part_way_ends_with_the_damage_reported(tmp_path: Path) -> None:
    video = tmp_path / "cut.avi"
    data = sample_video().read_bytes()
    video.write_bytes(data[: len(data) // 16])  # ~50 of 795 frames, no index at the end

    def scenario(engine, watch):
        observe(engine, CAM, watch, until_s=DURATION - 1.0)
        watch.notes["ended_metric"] = metric_now(
            engine, "gridsight_camera_state", camera=CAM, state="ended"
        )

    run = run_faulty([faulty_camera(CAM, str(video), fps=5.0)], scenario, DURATION)
    st = run.summary.status.camera(CAM)
    assert st.state == "ended", st
    assert st.last_error is not None and "of 795" in st.last_error and str(video) in st.last_error
    assert st.frames >= 10  # the good part was processed
    assert run.watch.notes["ended_metric"] == 1.0
    record_recovery("file truncated part-way", run.watch, "n/a: a file does not come back")
    assert_others_unaffected(run, DURATION)


@pytest.mark.parametrize("kind", ["zero-byte", "not-a-video"])
def test_an_unreadable_file_is_retried_and_recovers_when_replaced(tmp_path: Path, kind) -> None:
    video = tmp_path / "cam.avi"
    if kind == "zero-byte":
        video.write_bytes(b"")
    else:
        video.write_text("this is a log file, not a video\n" * 100)

    def scenario(engine, watch):
        observe(engine, CAM, watch, until_s=4.0)
        watch.notes["errors_before"] = engine.status().camera(CAM).errors
        good = tmp_path / "good.avi.part"
        shutil.copyfile(sample_video(), good)
        os.replace(good, video)  # atomically, as an operator's copy tool would
        watch.recovery_s = time_to_frames(engine, CAM, watch, timeout=8.0)

    run = run_faulty([faulty_camera(CAM, str(video), fps=5.0)], scenario, DURATION)
    w = run.watch
    assert "retrying" in w.states, w.states
    assert w.notes["errors_before"] >= 2
    assert any(str(video) in e for e in w.errors), w.errors
    assert w.recovery_s is not None, f"the camera never came up after the file was replaced {w}"
    assert run.summary.status.camera(CAM).frames > 0
    record_recovery(f"{kind} file", w, "replaced by a good recording at t=4 s")
    assert_others_unaffected(run, DURATION)
