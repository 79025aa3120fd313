"""The inference backend interface (after Polygraphy's runners)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class Backend(ABC):
    """Runs one model on batches of preprocessed images.

    Heavy imports happen inside the subclass that needs them, so gridsight imports fast
    and works without them. Use as a context manager to release resources.
    """

    name: ClassVar[str]
    #: Higher is preferred by ``--backend auto`` among the available ones.
    priority: ClassVar[int] = 0

    @classmethod
    @abstractmethod
    def is_available(cls) -> bool:
        """True if this backend's libraries (and hardware) are present."""

    @abstractmethod
    def load(self, model_path: Path, **options: Any) -> None:
        """Load the model. Raises ``ModelError`` or ``BackendUnavailableError``."""

    @abstractmethod
    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run on a float32 NCHW batch; returns the model's outputs in order."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release sessions, buffers, streams."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
