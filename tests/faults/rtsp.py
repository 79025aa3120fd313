"""The loopback RTSP server and OpenCV's sample videos, for the fault and RTSP tests.

The server is ``tests/faults/rtsp_server.py`` (GStreamer's gst-rtsp-server through the
SYSTEM python's PyGObject). ``make test`` installs the Debian packages it needs and
extracts ``opencv-doc``'s sample videos into ``.cache/opencv-samples`` (see the
``test-media`` target of the Makefile). Where they are missing, the tests are skipped
with the reason locally and fail under ``CI=true`` (:func:`missing`).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, NoReturn

import pytest

from ..services import under_ci

ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = os.environ.get("GRIDSIGHT_TEST_GST_PYTHON", "/usr/bin/python3")
SAMPLES = ROOT / ".cache" / "opencv-samples" / "usr" / "share" / "doc" / "opencv-doc"
SAMPLE_DATA = SAMPLES / "examples" / "data"
SETUP_HINT = "run `make test-media` (Debian: installs the GStreamer RTSP server + opencv-doc)"


def missing(what: str) -> NoReturn:
    """Skip the test (fail under ``CI=true``): ``what`` is not installed here."""
    msg = f"{what}; {SETUP_HINT}"
    if under_ci():
        pytest.fail(f"CI=true: {msg}")
    pytest.skip(msg)


_GST_OK: str | None = None


def require_gst_rtsp() -> None:
    """Skip/fail unless the system python can import the GStreamer RTSP server."""
    global _GST_OK
    if _GST_OK is None:
        probe = (
            "import gi; gi.require_version('Gst', '1.0'); "
            "gi.require_version('GstRtspServer', '1.0'); "
            "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
            "missing = [e for e in ('videotestsrc', 'x264enc', 'rtph264pay', 'decodebin', "
            "'avdec_msmpeg4', 'valve') if Gst.ElementFactory.find(e) is None]; "
            "print(','.join(missing))"
        )
        try:
            out = subprocess.run(
                [SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            _GST_OK = f"{SYSTEM_PYTHON} cannot run ({exc})"
        else:
            if out.returncode != 0:
                tail = out.stderr.strip().splitlines()[-1:] or ["?"]
                _GST_OK = f"{SYSTEM_PYTHON} has no GStreamer RTSP server ({tail[0]})"
            elif out.stdout.strip():
                _GST_OK = f"GStreamer elements missing: {out.stdout.strip()}"
            else:
                _GST_OK = ""
    if _GST_OK:
        missing(_GST_OK)


def sample_video(name: str = "vtest.avi") -> Path:
    """One of opencv-doc's sample videos (``vtest.avi``: 768x576, 10 fps, 795 frames)."""
    path = SAMPLE_DATA / name
    if not path.is_file():
        missing(f"OpenCV sample video {path} not found")
    return path


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspServer:
    """One ``rtsp_server.py`` process; start, command, kill and restart it.

    Args:
        port: TCP port on 127.0.0.1 (the same one across restarts).
        fps: frame rate of ``/live``.
        video: a video file for ``/vtest``.
        user, password: require basic auth with these credentials.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        fps: int = 10,
        video: Path | None = None,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        require_gst_rtsp()
        self.port = port if port is not None else free_port()
        self.fps = fps
        self.video = video
        self.user = user
        self.password = password
        self.proc: subprocess.Popen[str] | None = None

    def url(self, mount: str = "live", user: str | None = None, password: str | None = None) -> str:
        """``rtsp://[user:password@]127.0.0.1:<port>/<mount>``."""
        cred = f"{user}:{password}@" if user is not None else ""
        return f"rtsp://{cred}127.0.0.1:{self.port}/{mount}"

    def start(self, timeout: float = 20.0) -> RtspServer:
        """Start the process and wait for its ``ready`` line."""
        cmd = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port), "--fps", str(self.fps)]
        if self.video is not None:
            cmd += ["--video", str(self.video)]
        if self.user is not None:
            cmd += ["--user", self.user, "--password", self.password or ""]
        # stderr to a file: GStreamer's warnings must never fill a pipe nobody reads.
        self._log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        line = self._readline(timeout)
        if not line.startswith("ready"):
            err = self._stop_and_collect()
            raise RuntimeError(f"RTSP server did not start: {line!r} {err}")
        return self

    def _readline(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        out: IO[str] = self.proc.stdout
        ready, _, _ = select.select([out], [], [], timeout)
        if not ready:
            return ""
        return out.readline().strip()

    def command(self, line: str, timeout: float = 5.0) -> None:
        """Send one stdin command (``freeze``, ``thaw``, ``size W H``, ``auth U P``)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self._readline(timeout)
        if answer != f"ok {line}":
            raise RuntimeError(f"RTSP server answered {answer!r} to {line!r}")

    def kill(self) -> None:
        """SIGKILL the server (a crashed camera: no RTSP TEARDOWN, sockets just close)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close_pipes()
        self.proc = None

    def _stop_and_collect(self) -> str:
        if self.proc is not None:
            with contextlib.suppress(Exception):
                self.proc.kill()
                self.proc.wait(5)
        self._close_pipes()
        self.proc = None
        self._log.seek(0)
        return self._log.read()[-2000:]

    def _close_pipes(self) -> None:
        if self.proc is None:
            return
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(Exception):
                if pipe is not None:
                    pipe.close()

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._close_pipes()
        self.proc = None

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(predicate, timeout: float, poll: float = 0.05) -> float | None:
    """Poll ``predicate()`` until true; the seconds it took, or None on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(poll)
    return None
