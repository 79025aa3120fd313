"""Built-in sinks plugin: where hazard events are written.

Registered through the ``gridsight`` entry-point group like any third-party plugin.
Each built-in sink module is imported lazily, when the registry is first asked for.
"""

from __future__ import annotations

from gridsight.core.hookspecs import hookimpl
from gridsight.core.sinks.base import EventSink


@hookimpl
def gridsight_register_sinks() -> list[type[EventSink]]:
    """The built-in sinks, each with a unique ``name`` (``jsonl``, ``sqlite``, ...)."""
    from gridsight.core.sinks.jsonl import JsonlSink
    from gridsight.core.sinks.sqlite import SqliteSink

    sinks: list[type[EventSink]] = [JsonlSink, SqliteSink]
    return sinks
