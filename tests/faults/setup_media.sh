#!/bin/sh
# The real RTSP server and recorded video the fault and RTSP tests stream (`make test-media`,
# run by `make test`). Debian/Ubuntu only; elsewhere, or without root/sudo for the packages,
# it says what is missing and the tests skip with that reason (they fail under CI=true).
#   - GStreamer's RTSP server for the SYSTEM python (python3-gi is not in .venv):
#     gir1.2-gst-rtsp-server-1.0 python3-gi + base/good/ugly (x264) plugins + libav (decoding)
#   - opencv-doc's sample videos (vtest.avi: pedestrians, 768x576, 10 fps, 795 frames),
#     extracted without installing the package into .cache/opencv-samples (git-ignored).
set -u
PKGS="gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-libav"
SAMPLES=.cache/opencv-samples
VTEST=$SAMPLES/usr/share/doc/opencv-doc/examples/data/vtest.avi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "test-media: not a Debian/Ubuntu system; the RTSP and fault tests will be skipped"
    exit 0
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
    if [ "$SUDO" = none ]; then
        echo "test-media: missing Debian packages:$missing (install them as root; the RTSP tests skip meanwhile)"
    else
        echo "test-media: installing$missing"
        $SUDO apt-get update -q >/dev/null && \
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null \
            || echo "test-media: apt-get install failed; the RTSP tests will skip"
    fi
fi

if [ ! -f "$VTEST" ]; then
    echo "test-media: extracting opencv-doc's sample videos into $SAMPLES"
    tmp=$(mktemp -d)
    if (cd "$tmp" && apt-get download -q opencv-doc >/dev/null 2>&1); then
        mkdir -p "$SAMPLES" && dpkg -x "$tmp"/opencv-doc_*.deb "$SAMPLES" \
            && find "$SAMPLES" -type f ! -path "*/examples/data/*" -delete \
            && find "$SAMPLES" -type d -empty -delete
    else
        echo "test-media: apt-get download opencv-doc failed; the recorded-video tests will skip"
    fi
    rm -rf "$tmp"
fi
exit 0
