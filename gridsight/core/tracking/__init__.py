"""Tracking: track ids across the frames of one camera.

``Tracker`` (``base.py``) is the protocol the engine calls, one instance per camera,
chosen by the camera config's ``tracker:`` (``make_tracker``); ByteTrack with a Kalman
motion model (``bytetrack.py``, ``kalman.py``) is the built-in implementation.
"""

from gridsight.core.tracking.base import TRACKERS, Tracker, make_tracker

__all__ = ["TRACKERS", "Tracker", "make_tracker"]
