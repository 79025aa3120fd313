"""The one vocabulary of camera states: what a reader reports and the status table shows.

A camera's reader (``gridsight.core.sources.reader``) moves through these states, and the
engine's status board, live table, REST service and ``gridsight_camera_state`` gauge show
the same words; nothing maps one set of names onto another.

``CONNECTING`` and ``RECONNECTING`` are aliases of ``STARTING`` and ``RETRYING`` (the
same members), kept because they read better inside the reader's connection loop.

Example:
    >>> CameraState.CONNECTING is CameraState.STARTING
    True
    >>> [str(s) for s in CameraState]
    ['starting', 'running', 'retrying', 'ended', 'failed', 'stopped']
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CameraState"]


class CameraState(StrEnum):
    """Life cycle of a camera, in the status table's words.

    Members:
        STARTING: opening the source for the first time (alias ``CONNECTING``).
        RUNNING: frames are arriving.
        RETRYING: the source failed; waiting to reopen it (alias ``RECONNECTING``).
        ENDED: a finite stream (file) reached its end, or the run's duration.
        FAILED: given up after the backoff policy's ``max_attempts``.
        STOPPED: stopped on request.
    """

    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"
    ENDED = "ended"
    FAILED = "failed"
    STOPPED = "stopped"
    CONNECTING = "starting"
    RECONNECTING = "retrying"
