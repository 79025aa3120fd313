"""Fencing for events that arrive through the cluster: exactly once, never from a stale owner.

An engine node publishes each event with the camera's **epoch**: the revision of the
camera's owner key in the cluster's KV store when the node claimed the camera. Revisions
only rise, so a node that lost the camera (it was paused past its lease and another node
claimed it) carries an older epoch than the camera's current owner. :func:`admit` runs
inside the transaction that applies the event to the work orders and decides:

* ``duplicate``: this message id was delivered before (a redelivery after a crash
  between commit and acknowledgement, or a node that re-sent an unacknowledged event);
  nothing changes.
* ``stale``: the event's epoch is older than the newest epoch seen for its camera
  (from earlier events, or ``floor``: the owner key's revision the consumer read when
  the event arrived); the refusal is recorded and nothing else changes.
* ``accepted``: the delivery is recorded, the camera's newest epoch raised; the caller
  applies the event in the same transaction.

The message id's row is the unique key that makes the effect happen once, the camera's
epoch row is the resource-side check Kleppmann's fencing tokens need: the order store
does not trust a node's belief that it still owns a camera.
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridsight.orders.tables import camera_epochs, deliveries

Admission = Literal["accepted", "duplicate", "stale"]


def admit(
    conn: Connection,
    *,
    delivery_id: str,
    camera: str,
    epoch: int,
    now: float,
    floor: int = 0,
    node: str | None = None,
) -> Admission:
    """Record one delivery and say whether its event may take effect (see the module)."""
    seen = conn.execute(sa.select(deliveries.c.id).where(deliveries.c.id == delivery_id))
    if seen.first() is not None:
        return "duplicate"
    row = conn.execute(
        sa.select(camera_epochs.c.epoch).where(camera_epochs.c.camera == camera).with_for_update()
    ).first()
    newest = max(int(row.epoch) if row is not None else 0, int(floor))
    outcome: Admission = "stale" if epoch < newest else "accepted"
    conn.execute(
        sa.insert(deliveries).values(
            id=delivery_id, camera=camera, epoch=int(epoch), outcome=outcome, node=node, at=now
        )
    )
    top = max(newest, int(epoch))
    if row is None:
        # Two consumers inserting the first row race on the primary key; the loser's
        # transaction is retried by the service and then finds the row.
        conn.execute(sa.insert(camera_epochs).values(camera=camera, epoch=top))
    elif top != int(row.epoch):
        conn.execute(
            sa.update(camera_epochs).where(camera_epochs.c.camera == camera).values(epoch=top)
        )
    return outcome


def delivery_counts(conn: Connection) -> dict[str, int]:
    """``{outcome: deliveries}`` over the whole store (for status and the run checker)."""
    rows = conn.execute(
        sa.select(deliveries.c.outcome, sa.func.count()).group_by(deliveries.c.outcome)
    )
    return {str(outcome): int(n) for outcome, n in rows}


__all__ = ["Admission", "admit", "delivery_counts"]
