"""Random streams: one SeedSequence per replication, one named Generator per source.

Each stochastic source of the model draws only from its own generator, spawned from
the replication's SeedSequence at a fixed position. Adding a source at the end of
:data:`STREAMS` therefore changes nobody else's numbers, and two scenarios run with the
same seed see the same hazard occurrences (common random numbers), which is what makes
the AI-vs-patrol and sweep comparisons paired.
"""

from __future__ import annotations

import numpy as np

# Order matters: a stream's position decides its child seed. Append only.
STREAMS: tuple[str, ...] = (
    "occurrences",  # hazard onsets, cameras, durations
    "detection",  # whether and when the AI raises the alarm
    "false_alarms",  # false alarms: times and cameras
    "verify",  # command-centre verification and review times
    "ack",  # acknowledgement delays and no-acks
    "travel",  # travel-time variability
    "handling",  # on-site handling and report-back times
    "requests",  # residents' QR / 12345 requests
    "visits",  # workers' daily household visits
    "patrol",  # manual patrol rounds and residents' reports (baseline)
)


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Independent SeedSequences for replications ``0 .. replications-1`` of a run."""
    return np.random.SeedSequence(seed).spawn(replications)


def named_generators(seq: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One PCG64 generator per name in :data:`STREAMS`, spawned from ``seq``.

    ``seq`` is not consumed: children are derived from its entropy and spawn key, so
    calling this twice with equal sequences gives equal generators.
    """
    children = [
        np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, i), pool_size=seq.pool_size)
        for i in range(len(STREAMS))
    ]
    return {
        name: np.random.Generator(np.random.PCG64(c))
        for name, c in zip(STREAMS, children, strict=True)
    }
