"""The command centre's verifiers as a SimPy resource: PriorityResource's events, made cheaply.

Every alarm, request triage and closure review takes one of the centre's verifiers, so
``simpy.PriorityResource`` ran thousands of times per replication, and most of its cost
is generality the model does not use (preemption, put/get queues re-sorted on every
request, a no-op callback on every grant). :class:`Centre` schedules the same events at
the same instants in the same order, so a seed's results, event count included, are
unchanged:

* a request is granted at once when a verifier is free and it is first in line (lower
  priority value first, then earlier, then in the order asked), else when a release
  reaches it; a grant is one event,
* leaving the ``with`` block frees the verifier at once and schedules one release
  event, whose processing grants the next request in line.

Example:
    >>> env = simpy.Environment()
    >>> centre = Centre(env, capacity=1)
    >>> def job(env):
    ...     with centre.request(priority=0) as req:
    ...         yield req
    ...         yield env.timeout(5)
    >>> _ = env.process(job(env)); _ = env.process(job(env)); env.run()
    >>> env.now
    10
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from itertools import count
from types import TracebackType

import simpy
from simpy.core import NORMAL
from simpy.events import PENDING


class Request(simpy.Event):
    """A request for one verifier; use it with ``with`` and yield it to wait for the grant."""

    def __init__(self, centre: Centre, priority: int) -> None:
        # simpy.Event.__init__ written out (this runs for every alarm, triage and review).
        self.env = centre.env
        self.callbacks = []
        self._value = PENDING
        self.centre = centre
        self.key = (priority, centre.env._now, next(centre.seq))
        heappush(centre.queue, (self.key, self))
        centre.grant()

    def __enter__(self) -> Request:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # As simpy's Request: no release when the generator is merely being closed.
        if exc_type is not GeneratorExit:
            self.centre.release(self)


class Centre:
    """``simpy.PriorityResource(env, capacity)`` for requests made as ``with centre.request(p)``.

    Args:
        env: the environment.
        capacity: verifiers.
    """

    __slots__ = ("capacity", "env", "queue", "seq", "users")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError('"capacity" must be > 0.')
        self.env = env
        self.capacity = capacity
        self.users = 0
        self.queue: list[tuple[tuple[int, float, int], Request]] = []
        self.seq = count()

    def request(self, priority: int = 0) -> Request:
        """Ask for a verifier (lower ``priority`` is served first)."""
        return Request(self, priority)

    def grant(self) -> None:
        """Grant the first request in line if a verifier is free (one at most, as simpy)."""
        queue = self.queue
        if queue and self.users < self.capacity:
            req = heappop(queue)[1]
            self.users += 1
            req._ok = True
            req._value = None
            self.env.schedule(req, NORMAL)

    def release(self, req: Request) -> None:
        """Free ``req``'s verifier now; the next in line is granted when the release event runs."""
        if req._value is PENDING:  # left the block before the grant: withdraw the request
            self.queue = [item for item in self.queue if item[1] is not req]
            heapify(self.queue)
        else:
            self.users -= 1
        release = simpy.Event(self.env)
        release.callbacks.append(self._on_release)
        release._ok = True
        release._value = None
        self.env.schedule(release, NORMAL)

    def _on_release(self, _event: simpy.Event) -> None:
        self.grant()
