"""Sinks: where hazard events go (the ``EventSink`` base, JSONL, SQLite) and the evidence
snapshots written when an event starts."""
