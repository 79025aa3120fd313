"""Event sinks: where hazard events go (JSONL file, SQLite, webhook, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from gridsight.core.events import HazardEvent


class EventSink(ABC):
    """Receives hazard events. One sink failing never stops the engine or the other sinks.

    Subclasses set ``name`` (used in configs) and take their options as keyword arguments.
    """

    name: ClassVar[str]

    @abstractmethod
    def write(self, event: HazardEvent) -> None:
        """Persist or forward one event."""

    def close(self) -> None:  # noqa: B027 - optional for sinks without resources
        """Flush and release resources."""

    def __enter__(self) -> EventSink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
