"""Camera status to the notifiers that keep it (MQTT's retained ``cameras/<id>/status``).

A camera's status is a *current value*, not an event: only the latest matters, and an
old one delivered late would be wrong. So it does not go through the outbox (whose
retries may reorder); a :class:`CameraStatusPublisher` polls the engine's status and
publishes, best effort, each camera whose state changed (and every camera again every
``refresh_s``, so a broker that restarted without persistence gets them back). On MQTT
they are retained, so a dashboard subscribing later sees every camera at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from gridsight.orders.notify.base import Notifier

log = logging.getLogger(__name__)

# The fields of a camera status that are published (counters and the state).
FIELDS = (
    "state",
    "view",
    "frames",
    "gated",
    "drops",
    "events",
    "reconnects",
    "errors",
    "fps",
    "stream_ts",
    "last_error",
)


def camera_status_payload(cam: Any) -> dict[str, Any]:
    """The notification of one ``CameraStatus``: ``{"type": "camera_status", ...}``."""
    status = {f: getattr(cam, f) for f in FIELDS if hasattr(cam, f)}
    if isinstance(status.get("fps"), float):
        status["fps"] = round(status["fps"], 2)
    return {"type": "camera_status", "camera": cam.camera, "status": status}


class CameraStatusPublisher:
    """Publishes camera states that changed to notifiers that want them.

    Args:
        notifiers: the notifiers; those whose ``camera_status`` is False are left out.
        status: returns the engine's current ``EngineStatus`` (``engine.status``).
        interval_s: how often to look.
        refresh_s: republish every camera this often even without a change.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        notifiers: Iterable[Notifier],
        status: Callable[[], Any],
        *,
        interval_s: float = 2.0,
        refresh_s: float = 300.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.notifiers = [n for n in notifiers if getattr(n, "camera_status", False)]
        self.status = status
        self.interval_s = interval_s
        self.refresh_s = refresh_s
        self.clock = clock or time.monotonic
        self.published = 0
        self.failures = 0
        self._last: dict[str, str] = {}
        self._last_refresh = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish_once(self) -> int:
        """Publish the cameras whose state changed (all of them when a refresh is due)."""
        if not self.notifiers:
            return 0
        now = self.clock()
        refresh = now - self._last_refresh >= self.refresh_s
        sent = 0
        for cam in self.status().cameras:
            # A view fault (moved, covered, blinded) is a change of status too.
            current = f"{cam.state}/{getattr(cam, 'view', 'ok')}"
            if not refresh and self._last.get(cam.camera) == current:
                continue
            payload = camera_status_payload(cam)
            ok = True
            for n in self.notifiers:
                try:
                    n.send(payload, key=f"camera-status:{cam.camera}")
                except Exception as exc:  # best effort: the next change or refresh retries
                    ok = False
                    self.failures += 1
                    log.warning("camera status of %s to %s: %s", cam.camera, n.describe(), exc)
            if ok:
                self._last[cam.camera] = current
                sent += 1
        if refresh:
            self._last_refresh = now
        self.published += sent
        return sent

    def start(self) -> CameraStatusPublisher:
        """Publish in a daemon thread every ``interval_s`` until :meth:`stop`."""
        if self._thread is None and self.notifiers:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="camera-status", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.publish_once()
            except Exception as exc:  # the engine's status failing must not end the thread
                log.warning("camera status: %s", exc)
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        """Publish the final states once more and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        try:
            self.publish_once()
        except Exception as exc:
            log.warning("camera status: %s", exc)
