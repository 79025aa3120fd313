"""Test doubles for the API tests."""

from __future__ import annotations

from typing import Any

from gridsight.core.detection.detections import Detections
from gridsight.core.engine import LiveEngine


class BlindDetector:
    """Detects nothing, instantly (keeps the engine's loop real but cheap)."""

    input_size = None

    def preprocess(self, images: list[Any]) -> tuple[None, list[None]]:
        return None, [None] * len(images)

    def infer(self, tensor: Any) -> list[Any]:
        return []

    def postprocess(self, outputs: Any, infos: list[None]) -> list[Detections]:
        return [Detections.empty() for _ in infos]

    def close(self) -> None:
        pass


def blind_engine(*args: Any, **kwargs: Any) -> LiveEngine:
    kwargs.pop("backend", None)
    kwargs.pop("model", None)
    return LiveEngine(*args, detector=BlindDetector(), **kwargs)
