"""Which clock the work orders run on: the streams' or the wall's.

A live camera shows the present, so its orders run on the machine's clock. A file or a
synthetic camera shows a recorded or simulated day (``Frame.wall_time`` is the
recording's or the world's time), and in ``--fast`` any camera runs ahead of real time:
there the orders must follow the events' time of day (who is on shift, acknowledgement
time-outs, SLA clocks), i.e. a :class:`~gridsight.orders.clock.StreamClock`.

Example:
    >>> from types import SimpleNamespace as C
    >>> uses_stream_clock([C(source="synthetic://reservoir?seed=1")], realtime=True)
    True
    >>> uses_stream_clock([C(source="rtsp://10.0.0.5/live")], realtime=True)
    False
    >>> uses_stream_clock([C(source="rtsp://10.0.0.5/live")], realtime=False)
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

#: Sources that show a recorded or simulated time, not the present.
RECORDED_SCHEMES = frozenset({"", "file", "synthetic"})


def is_recorded(source: str) -> bool:
    """True for a file (path or ``file://``) or a ``synthetic://`` world."""
    text = source.strip()
    if text.isdigit():  # a local capture device (``0``): live
        return False
    scheme = urlsplit(text).scheme.lower()
    # A Windows drive letter ("C:\\clip.mp4") parses as a one-letter scheme.
    return scheme in RECORDED_SCHEMES or len(scheme) == 1


def uses_stream_clock(cameras: Iterable[Any], *, realtime: bool) -> bool:
    """Whether the orders of a pipeline over ``cameras`` run on the streams' clock.

    True in ``--fast`` (not ``realtime``) and when every camera is recorded or
    synthetic; False (the wall clock) when any camera is live and paced in real time.
    """
    return not realtime or all(is_recorded(c.source) for c in cameras)
