"""A real RTSP server on loopback for the fault tests (GStreamer's gst-rtsp-server).

Runs under the SYSTEM python (``/usr/bin/python3``), which has PyGObject and the
GStreamer typelibs from Debian (``python3-gi``, ``gir1.2-gst-rtsp-server-1.0``); the
project's virtualenv has neither, so the tests start this file as a subprocess.

Mounts (each pipeline starts when the first client connects):

- ``/live``  videotestsrc (moving ball), H.264, 320x240 at ``--fps`` (shared by clients)
- ``/slow``  the same at 1 frame per second
- ``/vtest`` a recorded video file (``--video``, e.g. OpenCV's vtest.avi), decoded and
  re-encoded to H.264 in real time (one pipeline per client, from the file's start)

Commands on stdin, one per line, answered ``ok <command>`` on stdout:

- ``freeze`` / ``thaw``  stop / resume sending frames on ``/live`` (connection stays up)
- ``size W H``          change ``/live``'s resolution mid-stream
- ``auth USER PASS``    from now on accept only these credentials (basic auth)

Prints ``ready <port>`` once listening. Exits on EOF of stdin or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ENCODE = (
    "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bframes=0 threads=1 "
    "! valve name=valve drop={drop} ! rtph264pay name=pay0 pt=96 config-interval=1"
)


class LiveState:
    """What the controllable ``/live`` mount should look like (re-applied to new media)."""

    def __init__(self, fps: int) -> None:
        self.fps = fps
        self.width = 320
        self.height = 240
        self.frozen = False
        self.media: list[GstRtspServer.RTSPMedia] = []

    def caps(self) -> Gst.Caps:
        return Gst.Caps.from_string(
            f"video/x-raw,width={self.width},height={self.height},framerate={self.fps}/1"
        )

    def apply(self, media: GstRtspServer.RTSPMedia) -> None:
        element = media.get_element()
        caps = element.get_by_name("caps")
        valve = element.get_by_name("valve")
        if caps is not None:
            caps.set_property("caps", self.caps())
        if valve is not None:
            valve.set_property("drop", self.frozen)

    def apply_all(self) -> None:
        for media in list(self.media):
            self.apply(media)


def live_launch(fps: int, pattern: str = "ball") -> str:
    return (
        f"( videotestsrc is-live=true pattern={pattern} ! capsfilter name=caps "
        f"caps=video/x-raw,width=320,height=240,framerate={fps}/1 ! videoconvert ! "
        + ENCODE.format(gop=max(1, fps), drop="false")
        + " )"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fps", type=int, default=10)
    ap.add_argument("--video", help="a video file for /vtest")
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    state = LiveState(args.fps)

    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "user")
    current_basic: list[str] = []

    def set_credentials(user: str, password: str) -> None:
        for old in current_basic:
            auth.remove_basic(old)
        current_basic.clear()
        basic = GstRtspServer.RTSPAuth.make_basic(user, password)
        auth.add_basic(basic, token)
        current_basic.append(basic)

    def factory(launch: str, shared: bool) -> GstRtspServer.RTSPMediaFactory:
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch(launch)
        f.set_shared(shared)
        if args.user is not None:
            f.add_role_from_structure(
                Gst.Structure.from_string(
                    "user, media.factory.access=(boolean)true, "
                    "media.factory.construct=(boolean)true"
                )[0]
            )
        return f

    live = factory(live_launch(args.fps), shared=True)

    def on_configure(_factory: object, media: GstRtspServer.RTSPMedia) -> None:
        state.media.append(media)
        state.apply(media)
        media.connect("unprepared", lambda m: state.media.remove(m) if m in state.media else None)

    live.connect("media-configure", on_configure)
    mounts.add_factory("/live", live)
    mounts.add_factory("/slow", factory(live_launch(1, "smpte"), shared=True))
    if args.video:
        location = GLib.strescape(args.video)
        mounts.add_factory(
            "/vtest",
            factory(
                f'( filesrc location="{location}" ! decodebin ! videoconvert ! '
                + ENCODE.format(gop=10, drop="false")
                + " )",
                shared=False,
            ),
        )
    if args.user is not None:
        set_credentials(args.user, args.password or "")
        server.set_auth(auth)

    loop = GLib.MainLoop()

    def on_stdin(channel: GLib.IOChannel, condition: GLib.IOCondition) -> bool:
        if condition & (GLib.IOCondition.HUP | GLib.IOCondition.ERR):
            loop.quit()
            return False
        line = channel.readline()
        if not line:
            loop.quit()
            return False
        words = line.split()
        if not words:
            return True
        cmd = words[0]
        if cmd == "freeze":
            state.frozen = True
        elif cmd == "thaw":
            state.frozen = False
        elif cmd == "size" and len(words) == 3:
            state.width, state.height = int(words[1]), int(words[2])
        elif cmd == "auth" and len(words) == 3:
            set_credentials(words[1], words[2])
        else:
            print(f"error unknown command {line.strip()!r}", flush=True)
            return True
        state.apply_all()
        print(f"ok {line.strip()}", flush=True)
        return True

    channel = GLib.IOChannel.unix_new(sys.stdin.fileno())
    GLib.io_add_watch(channel, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    if server.attach(None) == 0:
        print(f"error cannot listen on 127.0.0.1:{args.port}", flush=True)
        return 1
    print(f"ready {args.port}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
