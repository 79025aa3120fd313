"""OpenCV video source, URI handling, open_source through the hook, fps sampling."""

from __future__ import annotations

import math
from pathlib import Path
from urllib.request import pathname2url

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.errors import ConfigError, SourceError
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sources import FpsSampler, SourceOptions, known_schemes, open_source
from gridsight.core.sources.base import Frame, FrameSource
from gridsight.core.sources.opencv_source import OpenCVSource, file_uri_to_path, uri_scheme
from gridsight.plugins import sources as sources_plugin

W, H = 64, 48


def write_video(path: Path, n: int, fps: float = 10.0) -> None:
    """A short mp4 whose frame i is uniformly grey at level 8 * i (recognisable after codec)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
    assert writer.isOpened(), "mp4v writer unavailable in this OpenCV build"
    for i in range(n):
        writer.write(np.full((H, W, 3), 8 * i, np.uint8))
    writer.release()


def grey_level(frame: Frame) -> int:
    """Which written frame this is, from its mean grey level."""
    return round(float(frame.image.mean()) / 8)


def read_all(src: FrameSource, limit: int = 10_000) -> list[Frame]:
    out = []
    while len(out) < limit:
        f = src.read()
        if f is None:
            break
        out.append(f)
    return out


@pytest.fixture
def pm():
    return build_plugin_manager(load_entrypoints=False, plugins=[sources_plugin])


# ---------------------------------------------------------------------- sampler
def test_sampler_exact_split_25_to_5():
    s = FpsSampler(5.0)
    assert [i for i in range(50) if s.keep(i / 25)] == list(range(0, 50, 5))
    assert (s.kept, s.skipped) == (10, 40)


def test_sampler_30_to_7_keeps_the_target_rate():
    s = FpsSampler(7.0)
    kept = [i / 30 for i in range(300) if s.keep(i / 30)]
    assert len(kept) == 70
    # Never closer than one target interval minus one source period.
    assert min(np.diff(kept)) >= 1 / 7 - 1 / 30 - 1e-9


def test_sampler_none_keeps_all_and_gap_restarts():
    assert all(FpsSampler(None).keep(t) for t in (0.0, 0.0, 5.0))
    s = FpsSampler(2.0)  # interval 0.5 s
    assert s.keep(0.0) and not s.keep(0.1)
    # A 10-second gap: keep the next frame, then continue from it (no burst of catch-up).
    assert s.keep(10.0) and not s.keep(10.1) and s.keep(10.5)
    # A timestamp going backwards (new stream) restarts the schedule.
    assert s.keep(1.0)


def test_sampler_rejects_negative_fps():
    with pytest.raises(ConfigError, match="fps"):
        FpsSampler(-1.0)


@settings(max_examples=60, deadline=None)
@given(src=st.floats(1.0, 120.0), target=st.floats(0.5, 60.0), seconds=st.integers(2, 20))
def test_sampler_rate_property(src, target, seconds):
    s = FpsSampler(target)
    n = int(seconds * src)
    kept = [i / src for i in range(n) if s.keep(i / src)]
    expected = min(target, src) * n / src
    assert abs(len(kept) - expected) <= 1.0 + 1e-9
    if len(kept) > 1:
        assert min(np.diff(kept)) >= min(1 / target, 1 / src) - 1 / src - 1e-9


# ---------------------------------------------------------------------- URIs
def test_uri_scheme_and_file_uri_decoding(tmp_path):
    assert uri_scheme("RTSP://cam/1") == "rtsp"
    assert uri_scheme("/data/a.mp4") == ""
    assert uri_scheme("C:\\videos\\a.mp4") == ""
    assert file_uri_to_path("file:///data/cam%201%20north.mp4") == Path("/data/cam 1 north.mp4")
    assert file_uri_to_path("file://localhost/data/a.mp4") == Path("/data/a.mp4")
    # Decoded exactly once: an escaped percent sign stays a percent sign.
    assert file_uri_to_path("file:///data/100%2525.mp4") == Path("/data/100%25.mp4")


# ---------------------------------------------------------------------- files
def test_real_mp4_round_trip(tmp_path, pm):
    path = tmp_path / "clip.mp4"
    write_video(path, 30, fps=10.0)
    with open_source(str(path), SourceOptions(), pm) as src:
        assert isinstance(src, OpenCVSource)
        assert not src.is_live and src.fps == pytest.approx(10.0)
        frames = read_all(src)
    assert len(frames) == 30
    assert [f.index for f in frames] == list(range(30))
    assert [f.ts for f in frames] == pytest.approx([i / 10 for i in range(30)])
    assert [grey_level(f) for f in frames] == list(range(30))
    assert frames[0].image.shape == (H, W, 3) and frames[0].image.dtype == np.uint8


def test_file_uri_with_spaces_and_sampling(tmp_path, pm):
    path = tmp_path / "north gate cam #1.mp4"
    write_video(path, 30, fps=10.0)
    uri = "file://" + pathname2url(str(path))
    assert "%20" in uri and "%23" in uri
    with open_source(uri, SourceOptions(fps=2.5), pm) as src:
        frames = read_all(src)
    assert [grey_level(f) for f in frames] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert [f.ts for f in frames] == pytest.approx([0.4 * k for k in range(8)])
    assert [f.index for f in frames] == list(range(8))


def test_loop_restarts_with_continuing_timestamps(tmp_path, pm):
    path = tmp_path / "loop.mp4"
    write_video(path, 10, fps=10.0)
    with open_source(str(path), SourceOptions(loop=True), pm) as src:
        frames = read_all(src, limit=25)
    assert len(frames) == 25
    assert [f.ts for f in frames] == pytest.approx([i / 10 for i in range(25)])
    assert [grey_level(f) for f in frames] == [i % 10 for i in range(25)]


def test_end_of_file_returns_none_repeatedly(tmp_path, pm):
    path = tmp_path / "short.mp4"
    write_video(path, 3)
    with open_source(str(path), None, pm) as src:
        assert len(read_all(src)) == 3
        assert src.read() is None and src.read() is None


def test_missing_file_names_the_path(tmp_path, pm):
    missing = tmp_path / "nowhere" / "cam.mp4"
    with pytest.raises(SourceError, match=r"not found: .*nowhere/cam\.mp4.*check"):
        open_source(str(missing), SourceOptions(), pm)


def test_corrupt_file_is_a_source_error(tmp_path, pm):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match=r"cannot open video file .*x\.mp4"):
        open_source(str(bad), SourceOptions(), pm)


def test_truncated_file_is_a_source_error(tmp_path, pm):
    path = tmp_path / "t.mp4"
    write_video(path, 10)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(SourceError, match=r"cut\.mp4"):
        open_source(str(cut), SourceOptions(), pm)


def damage_middle(path: Path, n: int = 40) -> None:
    """A noisy ``n``-frame mp4 at ``path`` whose bytes from 30 % to 50 % are zeroed.

    It opens and decodes its first frames, then FFmpeg stops: a file damaged part-way.
    """
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (W, H))
    for _ in range(n):
        writer.write(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    start, size = int(len(data) * 0.3), len(data) // 5
    data[start : start + size] = bytes(size)
    path.write_bytes(bytes(data))


def test_file_damaged_part_way_reports_why_it_ended(tmp_path, pm):
    path = tmp_path / "damaged.mp4"
    damage_middle(path)
    with open_source(str(path), SourceOptions(), pm) as src:
        frames = read_all(src)
        assert 0 < len(frames) < 36
        assert src.end_problem is not None
        assert "damaged.mp4" in src.end_problem and "of 40" in src.end_problem


def test_complete_file_ends_without_a_problem(tmp_path, pm):
    path = tmp_path / "ok.mp4"
    write_video(path, 12)
    with open_source(str(path), SourceOptions(fps=5.0), pm) as src:
        assert len(read_all(src)) == 6
        assert src.end_problem is None


def test_directory_is_not_a_video(tmp_path, pm):
    with pytest.raises(SourceError, match="not a file"):
        open_source(str(tmp_path), SourceOptions(), pm)


# ---------------------------------------------------------------------- registry
def test_unknown_scheme_lists_known_schemes(pm):
    with pytest.raises(SourceError, match=r"foo://.*known schemes: .*file://.*rtsp://"):
        open_source("foo://bar", SourceOptions(), pm)
    assert {"rtsp", "file", "http"} <= set(known_schemes(pm))


def test_builtin_plugin_declines_other_schemes():
    assert (
        sources_plugin.gridsight_open_source("synthetic://reservoir?seed=1", SourceOptions())
        is None
    )


def test_open_source_uses_a_third_party_plugin():
    class Fake(FrameSource):
        uri = "fake://x"

        def read(self) -> Frame | None:
            return None

        @property
        def fps(self) -> float:
            return 1.0

    class FakePlugin:
        @hookimpl
        def gridsight_register_source_schemes(self):
            return ["fake"]

        @hookimpl
        def gridsight_open_source(self, uri, options):
            return Fake() if uri.startswith("fake://") else None

    pm = build_plugin_manager(load_entrypoints=False, plugins=[sources_plugin, FakePlugin()])
    assert isinstance(open_source("fake://x", SourceOptions(), pm), Fake)
    assert "fake" in known_schemes(pm)


def test_a_plugin_crash_becomes_a_source_error_naming_the_uri():
    class Broken:
        @hookimpl
        def gridsight_open_source(self, uri, options):
            raise RuntimeError("boom")

    pm = build_plugin_manager(load_entrypoints=False, plugins=[Broken()])
    with pytest.raises(SourceError, match=r"'weird://1'.*boom"):
        open_source("weird://1", SourceOptions(), pm)


def test_unreachable_stream_is_a_source_error(pm):
    # Port 9 on loopback: nothing listens, FFmpeg fails fast with connection refused.
    with pytest.raises(SourceError, match=r"cannot open stream rtsp://user:\*\*\*@127\.0\.0\.1"):
        open_source("rtsp://user:secret@127.0.0.1:9/live", SourceOptions(no_frame_timeout_s=2), pm)


def test_native_fps_fallback_is_finite(tmp_path, pm):
    path = tmp_path / "a.mp4"
    write_video(path, 2, fps=12.0)
    with open_source(str(path), None, pm) as src:
        assert math.isfinite(src.fps) and src.fps == pytest.approx(12.0)


# ---------------------------------------------------------------------- live (loopback HTTP)
@pytest.fixture
def http_dir(tmp_path):
    """Serve ``tmp_path`` over HTTP on loopback (FFmpeg reads it as a live stream)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_stream_is_live_with_clock_timestamps(http_dir, pm):
    folder, base = http_dir
    write_video(folder / "live.mp4", 20, fps=10.0)
    with open_source(f"{base}/live.mp4", SourceOptions(no_frame_timeout_s=5), pm) as src:
        assert src.is_live
        frames = read_all(src)
    assert [grey_level(f) for f in frames] == list(range(20))
    ts = [f.ts for f in frames]
    assert ts == sorted(ts) and ts[0] >= 0.0  # time since the stream was opened


def test_reader_reconnects_a_dropped_http_stream(http_dir, pm):
    import time

    from gridsight.core.sources import BackoffPolicy, CameraReader, CameraState

    folder, base = http_dir
    write_video(folder / "live.mp4", 5, fps=10.0)
    reader = CameraReader(
        "cam-http",
        f"{base}/live.mp4",
        SourceOptions(no_frame_timeout_s=5),
        pm=pm,
        queue_size=1000,
        backoff=BackoffPolicy(initial_s=0.01, max_s=0.01),
    )
    reader.start()  # each connection ends after 5 frames: a dropped stream, reconnected
    deadline = time.monotonic() + 20.0
    while reader.snapshot().frames_queued < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.stop(timeout=10.0)
    snap = reader.snapshot()
    assert snap.reconnects >= 2 and snap.state is CameraState.STOPPED
    assert "stopped delivering" in (snap.last_error or "")
    frames = list(iter(reader.queue.get_nowait, None))
    assert len(frames) == snap.frames_queued >= 15
    assert [grey_level(f) for f in frames[:15]] == [0, 1, 2, 3, 4] * 3
    assert bool(np.all(np.diff([f.ts for f in frames]) > 0))  # stream time goes on


def test_frames_are_scaled_to_the_configured_resolution(tmp_path, pm):
    path = tmp_path / "small.mp4"
    write_video(path, 3)
    with open_source(str(path), SourceOptions(width=128, height=72), pm) as src:
        frames = read_all(src)
    assert [f.image.shape for f in frames] == [(72, 128, 3)] * 3
    assert [grey_level(f) for f in frames] == [0, 1, 2]
    with open_source(str(path), SourceOptions(width=128), pm) as src:  # both or none
        assert src.read().image.shape == (H, W, 3)
