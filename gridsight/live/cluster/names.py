"""The names and timings of one cluster: KV buckets, the event stream, its subjects.

Every name derives from the cluster's name, so several clusters (or tests) share one
NATS server without seeing each other.

Buckets:

* ``<name>-nodes`` (TTL = the lease): a node's liveness key, ``<node id>`` -> its
  capacity, load, fps and cameras. A node is alive while its key has not expired.
* ``<name>-leader`` (TTL = the lease): the key ``assigner`` holds the elected assigner.
* ``<name>-cameras``: the desired cameras, ``<camera id>`` -> camera config (JSON).
* ``<name>-assign``: the assigner's plan, ``<camera id>`` -> ``{"node": id}``.
* ``<name>-owners``: who runs each camera, claimed by the node with a compare-and-set;
  the key's revision is the camera's **epoch** (fencing token).
* ``<name>-drain``: ``<node id>`` present = drain that node (move its cameras away).

Stream ``<name>-events``, subjects ``<name>.events.<village>.<camera>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gridsight.core.errors import ConfigError

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_TOKEN_BAD = re.compile(r"[^A-Za-z0-9_-]")

DEFAULT_CLUSTER = "gridsight"


def subject_token(value: str) -> str:
    """``value`` as one NATS subject token (no dots, wildcards or spaces)."""
    return _TOKEN_BAD.sub("_", value) or "_"


@dataclass(frozen=True, slots=True)
class ClusterNames:
    """Bucket, stream and subject names of the cluster called ``name``."""

    name: str = DEFAULT_CLUSTER

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ConfigError(f"cluster name {self.name!r}: use 1-32 letters, digits, '_' or '-'")

    @property
    def nodes(self) -> str:
        return f"{self.name}-nodes"

    @property
    def leader(self) -> str:
        return f"{self.name}-leader"

    @property
    def cameras(self) -> str:
        return f"{self.name}-cameras"

    @property
    def assign(self) -> str:
        return f"{self.name}-assign"

    @property
    def owners(self) -> str:
        return f"{self.name}-owners"

    @property
    def drain(self) -> str:
        return f"{self.name}-drain"

    @property
    def stream(self) -> str:
        return f"{self.name}-events"

    @property
    def subjects(self) -> str:
        return f"{self.name}.events.>"

    @property
    def orders_consumer(self) -> str:
        """The durable consumer every order-service replica shares."""
        return f"{self.name}-orders"

    def subject(self, village: str, camera: str) -> str:
        """The subject of ``camera``'s events."""
        return f"{self.name}.events.{subject_token(village)}.{subject_token(camera)}"


@dataclass(frozen=True, slots=True)
class Timings:
    """How fast the cluster notices a dead node, and how often it looks.

    Attributes:
        lease_s: a node's liveness key (and the assigner's lease) expires this long after
            its last renewal; a node that has not renewed for this long stops its cameras.
        renew_s: how often a node renews its key and reconciles its cameras.
        replicas: stream and bucket replicas (3 on a 3-server NATS cluster).
    """

    lease_s: float = 4.0
    renew_s: float = 0.5
    replicas: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.renew_s * 2 <= self.lease_s:
            raise ConfigError(
                f"cluster timings: renew_s ({self.renew_s}) must be positive and at most "
                f"half of lease_s ({self.lease_s})"
            )
        if self.replicas not in (1, 3, 5):
            raise ConfigError(f"cluster replicas: {self.replicas}; allowed: 1, 3, 5")


__all__ = ["DEFAULT_CLUSTER", "ClusterNames", "Timings", "subject_token"]
