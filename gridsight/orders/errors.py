"""Errors of the work-order service (all :class:`~gridsight.core.errors.GridsightError`).

Each carries the values a caller needs (the REST API maps them to 404/409/403/422 and
puts the attributes in the body) and a message a person can act on.
"""

from __future__ import annotations

from collections.abc import Sequence

from gridsight.core.errors import GridsightError


class OrderError(GridsightError):
    """Base of the work-order errors."""


class StoreError(OrderError):
    """The store cannot be opened or migrated (bad URL, unreachable server, bad schema)."""


class OrderNotFound(OrderError):
    """No work order has this id."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"work order {order_id!r} does not exist")


class IllegalTransition(OrderError):
    """The order cannot move to ``to`` from its current state."""

    def __init__(self, order_id: str, current: str, to: str, allowed: Sequence[str]) -> None:
        self.order_id = order_id
        self.current = current
        self.to = to
        self.allowed = list(allowed)
        nxt = ", ".join(self.allowed) if self.allowed else "none (a final state)"
        super().__init__(
            f"work order {order_id!r} is {current!r}: it cannot become {to!r}; allowed: {nxt}"
        )


class VersionConflict(OrderError):
    """Someone else changed the order since the caller read it (optimistic concurrency)."""

    def __init__(self, order_id: str, expected: int, actual: int) -> None:
        self.order_id = order_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"work order {order_id!r} was changed by someone else: expected version "
            f"{expected}, it is now {actual}; reload it and try again"
        )


class NotPermitted(OrderError):
    """The role may not make this transition (the transition itself is legal)."""

    def __init__(self, role: str, transition: str, allowed_roles: Sequence[str] = ()) -> None:
        self.role = role
        self.transition = transition
        self.allowed_roles = list(allowed_roles)
        who = ", ".join(self.allowed_roles) or "nobody"
        super().__init__(f"role {role!r} may not make the transition {transition}; allowed: {who}")


class UnknownWorker(OrderError):
    """No worker of the roster has this id."""

    def __init__(self, worker_id: str, known: Sequence[str] = ()) -> None:
        self.worker_id = worker_id
        hint = ""
        if known:
            shown = ", ".join(sorted(known)[:8])
            hint = f"; known: {shown}" + (f", ... ({len(known)} in all)" if len(known) > 8 else "")
        super().__init__(f"worker {worker_id!r} is not on the roster{hint}")
