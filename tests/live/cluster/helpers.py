"""Shared pieces of the cluster tests: a recording camera runner, names, waiting."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from gridsight.core.config.camera import CameraConfig
from gridsight.live.cluster.names import ClusterNames

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "configs" / "jingqiao.yaml"


def fresh_names() -> ClusterNames:
    """A cluster name no other test run uses (buckets and stream of their own)."""
    return ClusterNames(f"t{uuid.uuid4().hex[:12]}")


def town_cameras() -> list[CameraConfig]:
    """The 12 synthetic cameras of the bundled township."""
    from gridsight.core.config import load_township

    return list(load_township(CONFIG).cameras)


class RecordingRunner:
    """A camera runner that runs nothing and records what it was asked (thread-safe)."""

    def __init__(self) -> None:
        self.running: dict[str, CameraConfig] = {}
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def start(self, configs: Sequence[CameraConfig]) -> None:
        with self._lock:
            for cfg in configs:
                self.running[cfg.id] = cfg
                self.log.append(("start", cfg.id))

    def update(self, config: CameraConfig) -> None:
        with self._lock:
            self.running[config.id] = config
            self.log.append(("update", config.id))

    def stop(self, camera_id: str) -> None:
        with self._lock:
            self.running.pop(camera_id, None)
            self.log.append(("stop", camera_id))

    def camera_status(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {c: {"state": "running", "fps": 5.0} for c in self.running}

    def close(self) -> None:
        with self._lock:
            self.running.clear()


async def until(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    timeout: float = 30.0,
    every: float = 0.1,
    what: str = "condition",
) -> float:
    """Poll ``check`` until true; the seconds it took. Fails after ``timeout``."""
    start = time.monotonic()
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def small_config(path: Path, cameras: int = 4, fps: int = 2) -> Path:
    """The bundled township with only its first ``cameras`` cameras, at ``fps``."""
    import re

    import yaml

    data = yaml.safe_load(CONFIG.read_text())
    kept = data["cameras"][:cameras]
    for cam in kept:
        cam["fps"] = fps
        cam["source"] = re.sub(r"fps=\d+", f"fps={fps}", cam["source"])
    data["cameras"] = kept
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path
