"""Tracking: track ids across the frames of one camera.

``Tracker`` is the protocol the engine calls (one instance per camera); ByteTrack with a
Kalman motion model is the built-in implementation.
"""
