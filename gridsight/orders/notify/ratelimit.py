"""Per-channel rate limits: a token bucket, and digests for what exceeds it.

Chat bots cap how often they may be called (DingTalk and WeCom group bots: about 20
messages a minute; beyond that they answer with an error and drop the message). A
channel with a limit gets a :class:`TokenBucket`; each send takes a token. When more
notifications are due than there are tokens, the relay sends what the tokens allow and
folds the rest into **one digest** (:func:`digest_payload`), which it stores as an outbox
row of its own and sends with the next token: nothing is dropped, and the digest is
retried and dead-lettered like any other row.

The bucket holds ``capacity`` tokens and gains ``refill_per_s`` a second; with
``capacity + refill_per_s * window <= messages`` (how :class:`~gridsight.core.config.
notify.RateLimit` sizes it) no window ever sees more than ``messages`` sends.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

from gridsight.core.config.notify import RateLimit


class TokenBucket:
    """A token bucket with an injectable clock (thread-safe).

    Args:
        capacity: most tokens held (sends allowed at once).
        refill_per_s: tokens gained per second.
        clock: seconds, monotonic (``time.monotonic`` by default in the relay).

    Example:
        >>> t = [0.0]
        >>> b = TokenBucket(2, 0.5, clock=lambda: t[0])
        >>> b.take(), b.take(), b.take()
        (True, True, False)
        >>> t[0] = 2.0; b.take()
        True
    """

    def __init__(self, capacity: int, refill_per_s: float, *, clock: Callable[[], float]) -> None:
        if capacity < 1 or refill_per_s <= 0:
            raise ValueError(f"need capacity >= 1 and refill > 0, got {capacity}, {refill_per_s}")
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self._clock = clock
        self._tokens = float(capacity)
        self._at = clock()
        self._lock = threading.Lock()

    @classmethod
    def from_limit(cls, limit: RateLimit, *, clock: Callable[[], float]) -> TokenBucket:
        """The bucket of a config ``rate_limit``."""
        return cls(limit.capacity, limit.refill_per_s, clock=clock)

    def _refill(self) -> None:
        now = self._clock()
        if now > self._at:
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.refill_per_s)
        self._at = max(self._at, now)

    def available(self) -> int:
        """Whole tokens available now."""
        with self._lock:
            self._refill()
            return math.floor(self._tokens + 1e-9)

    def take(self) -> bool:
        """Take one token if there is one."""
        with self._lock:
            self._refill()
            if self._tokens + 1e-9 >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def wait_s(self) -> float:
        """Seconds until the next whole token (0 if one is available)."""
        with self._lock:
            self._refill()
            missing = 1.0 - self._tokens
            return 0.0 if missing <= 1e-9 else missing / self.refill_per_s


def digest_key(channel: str, keys: Sequence[str]) -> str:
    """The idempotency key of a digest of ``keys`` (the same for the same set)."""
    h = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:20]
    return f"digest:{channel}:{h}"


def digest_payload(
    channel: str, items: Sequence[tuple[str, dict[str, Any]]], *, now: float
) -> dict[str, Any]:
    """One notification standing for several: ``{"type": "digest", "items": [...]}``.

    Args:
        channel: the channel the digest goes to.
        items: ``(idempotency key, payload)`` of each folded notification, oldest first.
        now: when the digest was made (epoch s).

    Each item keeps its own key and full payload, so a receiver can process (and dedupe)
    the folded notifications one by one.
    """
    keys = [k for k, _ in items]
    orders = sorted({str(p["order"]["id"]) for _, p in items if isinstance(p.get("order"), dict)})
    return {
        "type": "digest",
        "channel": channel,
        "count": len(items),
        "created_at": now,
        "orders": orders,
        "items": [{"key": k, "payload": p} for k, p in items],
        "idempotency_key": digest_key(channel, keys),
    }
