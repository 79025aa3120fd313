"""Warnings that repeat, logged once and then at most once per interval with a count.

A rule that raises on every frame must not write a warning per frame (149 lines in 15 s
of a 10 fps camera): the first occurrence is logged in full (with its traceback, which
``-v`` shows), then one line per ``interval_s`` says how many more there were.

Example:
    >>> import logging
    >>> limiter = RateLimitedLog(logging.getLogger("demo"), interval_s=60.0)
    >>> limiter.warning("rule:cam-1:smoke", "rule failed: %s", "KeyError")   # logged
    True
    >>> limiter.warning("rule:cam-1:smoke", "rule failed: %s", "KeyError")   # counted
    False
    >>> limiter.counts["rule:cam-1:smoke"]
    2
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any


class RateLimitedLog:
    """Logs each key's warning the first time, then once per ``interval_s`` with a count.

    Args:
        logger: where the warnings go.
        interval_s: the least time between two lines of one key.
        clock: a monotonic clock in seconds (tests pass their own).
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = float(interval_s)
        self.clock = clock
        #: Every occurrence of every key, logged or not.
        self.counts: Counter[str] = Counter()
        self._last: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def warning(
        self, key: str, msg: str, *args: Any, exc_info: BaseException | None = None
    ) -> bool:
        """Log (or count) one occurrence of ``key``; True when a line was written.

        The first line carries ``exc_info`` (its traceback shows at ``-v``); a later one
        says how many occurrences it stands for.
        """
        now = self.clock()
        with self._lock:
            self.counts[key] += 1
            total = self.counts[key]
            last = self._last.get(key)
            if last is not None and now - last[0] < self.interval_s:
                return False
            self._last[key] = (now, total)
        if last is None:
            self.logger.warning(msg, *args, exc_info=exc_info)
        else:
            since = total - last[1]
            self.logger.warning(
                msg + " (%d times in the last %.0f s, %d in all)",
                *args,
                since,
                now - last[0],
                total,
            )
        return True
