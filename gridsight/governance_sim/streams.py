"""Random streams: one SeedSequence per replication, one Generator per stable name.

Each stochastic source of the model draws only from its own generator, derived from the
replication's SeedSequence and a hash of the source's *name* (not its position in a
list). Arrivals go further: each (camera, hazard) pair and each request kind has its own
substream (``occurrences/<camera>/<hazard>``, ``false_alarms/<camera>/<hazard>``,
``requests/<kind>``), so adding a camera, removing a hazard or changing a rate leaves
every other pair's numbers where they were, and two scenarios run with the same seed
see the same hazard occurrences (common random numbers): the AI-vs-patrol, sweep,
compare and staffing comparisons are paired.
"""

from __future__ import annotations

import hashlib

import numpy as np

# The per-source streams of the model (one generator each, keyed by name).
STREAMS: tuple[str, ...] = (
    "verify",  # command-centre verification and review times
    "ack",  # acknowledgement delays and no-acks
    "travel",  # travel-time variability
    "handling",  # on-site handling and report-back times
    "requests",  # residents' requests: handling and triage times
    "visits",  # workers' daily household visits
    "patrol",  # manual patrol rounds and residents' reports (baseline)
)


def stable_key(name: str) -> int:
    """A 64-bit integer of ``name`` that is the same on every machine and Python run."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Independent SeedSequences for replications ``0 .. replications-1`` of a run."""
    return np.random.SeedSequence(seed).spawn(replications)


def substream(seq: np.random.SeedSequence, name: str) -> np.random.Generator:
    """The PCG64 generator called ``name`` of the replication ``seq``.

    ``seq`` is not consumed: the child is derived from its entropy, its spawn key and
    the name's :func:`stable_key`, so equal sequences and names give equal generators.
    """
    child = np.random.SeedSequence(
        seq.entropy, spawn_key=(*seq.spawn_key, stable_key(name)), pool_size=seq.pool_size
    )
    return np.random.Generator(np.random.PCG64(child))


class Streams(dict[str, np.random.Generator]):
    """The replication's per-source generators by name, and its named substreams."""

    def __init__(self, seq: np.random.SeedSequence) -> None:
        super().__init__((name, substream(seq, name)) for name in STREAMS)
        self.seq = seq

    def sub(self, name: str) -> np.random.Generator:
        """A fresh generator for ``name`` (e.g. ``occurrences/cam-01/ebike``)."""
        return substream(self.seq, name)


def named_generators(seq: np.random.SeedSequence) -> Streams:
    """One PCG64 generator per name in :data:`STREAMS`, derived from ``seq``, plus
    :meth:`Streams.sub` for the arrivals' per-pair substreams."""
    return Streams(seq)
