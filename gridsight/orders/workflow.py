"""What follows from each change, inside the caller's transaction.

:class:`Workflow` is the service's engine room: it applies a permitted transition and
its consequences (verification -> dispatch, escalation -> redispatch, resolution ->
camera-confirmed closure, a freed worker -> queued orders retried), runs the SLA clocks
and acknowledgement time-outs, and chooses workers with the core dispatch policy over
the live roster. Every write goes through :class:`~gridsight.orders.ledger.Ledger`.
:class:`~gridsight.orders.service.OrderService` owns the transactions and the checks of
who may do what; this class assumes both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridsight.core.config import Township
from gridsight.core.dispatch import DispatchPolicy, WorkOrder, escalate
from gridsight.core.events import HazardEvent
from gridsight.orders.config import OrdersConfig
from gridsight.orders.errors import OrderError
from gridsight.orders.ledger import (
    END,
    ESCALATION,
    NEW,
    SLA_BREACH,
    UPDATE,
    Ledger,
    Record,
    Row,
    order_row_defaults,
)
from gridsight.orders.roster import Roster, record_position
from gridsight.orders.sla import clocks
from gridsight.orders.states import OPEN_STATES, QUEUED_STATES
from gridsight.orders.tables import transitions, work_orders

# Seconds between dispatch attempts of an order nobody could take (as the simulator's
# ``dispatch.retry_s``); a worker being released retries at once.
RETRY_S = 60.0


def open_key(camera: str, hazard: str) -> str:
    """The UNIQUE key an open camera order holds: ``<camera>:<hazard>``."""
    return f"{camera}:{hazard}"


class Workflow:
    """Applies changes and their consequences (see the module docstring).

    Args:
        town: the township config.
        settings: the ``orders`` settings.
        policy: the dispatch policy.
        roster: the live roster.
        ledger: the writer.
        new_id: makes order ids.
    """

    def __init__(
        self,
        town: Township,
        settings: OrdersConfig,
        policy: DispatchPolicy,
        roster: Roster,
        ledger: Ledger,
        new_id: Callable[[], str],
    ) -> None:
        self.town = town
        self.settings = settings
        self.policy = policy
        self.roster = roster
        self.ledger = ledger
        self.new_id = new_id
        self._grids = {g.id: g for g in town.grids}

    def change(self, conn: Connection, row: Row, record: Record, now: float, **values: Any) -> Row:
        """Apply one change (a transition or an annotation), then any newly breached clock."""
        after = {**row, **values}
        after["state"] = record.to_state
        c = clocks(after, now)
        breached = [
            name
            for name, old, new in (
                ("dispatch", row["sla_dispatch"], c.dispatch),
                ("close", row["sla_close"], c.close),
            )
            if new == "breached" and old != "breached"
        ]
        after["sla_dispatch"], after["sla_close"] = c.dispatch, c.close
        new = self.ledger.commit(conn, row, after, record, now)
        for name in breached:
            new = self.breach(conn, new, name, now)
        return new

    def breach(self, conn: Connection, row: Row, clock: str, now: float) -> Row:
        """Record a breached clock and tell the supervisor (an annotation, same state)."""
        sup = self.settings.supervisor
        due = row["dispatch_due_at"] if clock == "dispatch" else row["close_due_at"]
        values: dict[str, Any] = {
            "escalations": int(row["escalations"]) + 1,
            f"sla_{clock}": "breached",
            "supervisor": sup.id if sup is not None else row["supervisor"],
        }
        if row["state"] in QUEUED_STATES or row["state"] == "new":
            # Nobody took it in time: look further up the tiers from now on.
            values["tier"] = min(int(row["tier"]) + 1, len(self.policy.tiers) - 1)
        record = Record(
            row["state"],
            "system",
            "system",
            kind=SLA_BREACH,
            note=f"{clock} SLA breached: due {due - row['created_at']:.0f} s after the alarm",
            data={"event": "sla_breach", "clock": clock, "due_at": due},
            channels=(sup.channel,) if sup is not None and sup.channel else None,
            to=(sup.id,) if sup is not None else (),
        )
        return self.ledger.commit(conn, row, {**row, **values}, record, now)

    def dispatch(self, conn: Connection, row: Row, now: float, *, force: str | None = None) -> Row:
        """Choose a worker (core dispatch policy over the live roster) and notify them.

        Returns the row unchanged (plus a retry time) when nobody is available.
        """
        if force is None:
            wid = self.choose(conn, row, now)
            if wid is None and json.loads(row["tried"]):
                # As the simulator: those who did not acknowledge may be reachable now.
                wid = self.choose(conn, {**row, "tried": "[]"}, now)
                if wid is not None:
                    row = {**row, "tried": "[]"}
        else:
            wid = force
        if wid is None:
            self.ledger.housekeep(conn, row, {"ack_due_at": now + RETRY_S})
            return row
        values: dict[str, Any] = {
            "assignee": wid,
            "ack_due_at": now + self.settings.ack_timeout_s,
            "tried": row["tried"],
        }
        if row["dispatched_at"] is None:
            values["dispatched_at"] = now
        member = self.roster.get(wid)
        record = Record(
            "dispatched",
            "system" if force is None else "operator",
            "system" if force is None else "operator",
            data={"worker": wid, "tier": int(row["tier"]), "role": member.role},
            to=(wid,),
        )
        return self.change(conn, row, record, now, **values)

    def choose(self, conn: Connection, row: Row, now: float) -> str | None:
        x, y = row["x_km"], row["y_km"]
        if x is None or y is None:
            x, y = self._grids[row["grid"]].position if row["grid"] in self._grids else (0.0, 0.0)
        order = WorkOrder(
            row["id"], row["kind"], row["village"], row["grid"], float(x), float(y),
            created=row["created_at"], priority=int(row["priority"]), tier=int(row["tier"]),
            tried=frozenset(json.loads(row["tried"])),
        )  # fmt: skip
        entries = self.roster.village_entries(conn, row["village"], now)
        travel = self.roster.travel_s(order.x_km, order.y_km, entries)
        return self.policy.choose(order, [e.state() for e in entries], now, travel)

    def escalate(self, conn: Connection, row: Row, now: float, record: Record) -> Row:
        """``dispatched``/``acknowledged`` -> ``escalated`` (core escalate), then redispatch."""
        wid = row["assignee"]
        tier, tried = int(row["tier"]), json.loads(row["tried"])
        if wid is not None:
            core = escalate(
                WorkOrder(row["id"], row["kind"], row["village"], row["grid"], 0.0, 0.0,
                          tier=tier, tried=frozenset(tried)),
                wid,
                len(self.policy.tiers),
            )  # fmt: skip
            tier, tried = core.tier, sorted(core.tried)
        row = self.change(
            conn, row, record, now,
            assignee=None, ack_due_at=None, tier=tier, tried=json.dumps(tried),
            escalations=int(row["escalations"]) + 1,
        )  # fmt: skip
        return self.dispatch(conn, row, now)

    def release(self, conn: Connection, village: str, now: float) -> None:
        """A worker of ``village`` became free: queued orders there try again at once."""
        queued = conn.execute(
            sa.select(work_orders.c.id)
            .where(
                work_orders.c.village == village,
                work_orders.c.state.in_(sorted(QUEUED_STATES)),
            )
            .order_by(work_orders.c.priority.desc(), work_orders.c.created_at)
        ).scalars()
        for order_id in list(queued):
            row = Ledger.read(conn, order_id, lock=True)
            if row is not None and row["state"] in QUEUED_STATES:
                self.dispatch(conn, row, now)

    def after_verified(self, conn: Connection, row: Row, now: float) -> Row:
        return self.dispatch(conn, row, now)

    def open_camera_order(self, conn: Connection, event: HazardEvent, now: float) -> Row:
        """Create the order of a new hazard (called by intake), verified/dispatched per hazard."""
        s = self.settings
        hz = s.for_kind(event.hazard)
        x = y = None
        try:
            cam = self.town.camera(event.camera)
            x, y = self.town.camera_position(cam)
        except KeyError:
            if event.grid in self._grids:
                x, y = self._grids[event.grid].position
        row: Row = {
            **order_row_defaults(),
            "id": self.new_id(),
            "source": "camera",
            "kind": event.hazard,
            "state": "new",
            "camera": event.camera,
            "event_id": event.id,
            "village": event.village,
            "grid": event.grid,
            "x_km": x,
            "y_km": y,
            "priority": hz.priority,
            "title": f"{event.hazard} at {event.camera}",
            "description": f"camera {event.camera} ({event.village}/{event.grid}) "
            f"raised {event.hazard} with confidence {event.confidence:.2f}",
            "created_at": now,
            "dispatch_due_at": now + s.dispatch_due_s(event.hazard),
            "close_due_at": now + s.close_due_s(event.hazard),
            "open_key": open_key(event.camera, event.hazard),
            "hazard_active": True,
        }
        row = self.ledger.create(
            conn, row, Record("new", "system", "system", kind=NEW, data={"event": event.id}), now
        )
        if hz.auto_verify:
            row = self.change(
                conn, row, Record("verified", "system", "system", note="automatic"), now
            )
            row = self.after_verified(conn, row, now)
        return row

    def apply(
        self,
        conn: Connection,
        row: Row,
        to: str,
        actor: str,
        role: str,
        note: str | None,
        photo: str | None,
        now: float,
        worker: str | None,
        position: tuple[float, float] | None,
    ) -> Row:
        """Make a permitted transition, with what follows from it."""
        rec = Record(to, actor, role, note=note, photo=photo)
        current = row["state"]
        assignee = row["assignee"]
        if position is not None and assignee is not None:
            record_position(conn, assignee, float(position[0]), float(position[1]), now)
        if to == "dispatched":
            if worker is None:
                row = self.dispatch(conn, row, now)
                if row["state"] != "dispatched":
                    raise OrderError(
                        f"nobody of {row['village']!r} is available for {row['id']!r} now; "
                        "it stays queued (it is retried when a worker is free)"
                    )
                return row
            return self.dispatch_to(conn, row, worker, actor, role, note, now)
        if to == "verified":
            row = self.change(conn, row, rec, now)
            return self.after_verified(conn, row, now)
        if to == "escalated":
            return self.escalate(conn, row, now, replace(rec, kind=ESCALATION))
        if to == "acknowledged":
            rec = replace(rec, data={"worker": assignee})
            return self.change(conn, row, rec, now, acknowledged_at=now, ack_due_at=None)
        if to == "on_site":
            if position is None and assignee is not None and row["x_km"] is not None:
                record_position(conn, assignee, row["x_km"], row["y_km"], now)
            return self.change(conn, row, rec, now, on_site_at=now)
        if to == "resolved":
            row = self.change(conn, row, rec, now, resolved_at=now)
            if (
                row["source"] == "camera"
                and row["cleared_at"] is not None
                and not row["hazard_active"]
            ):
                row = self.close_by_camera(conn, row, now)
            self.release(conn, row["village"], now)
            return row
        if to == "closed":
            return self.change(conn, row, rec, now, closed_at=now, open_key=None)
        if to in ("cancelled", "rejected", "duplicate"):
            kind = END if to == "cancelled" else UPDATE
            row = self.change(conn, row, replace(rec, kind=kind), now, open_key=None)
            if current in ("dispatched", "acknowledged", "on_site"):
                self.release(conn, row["village"], now)
            return row
        if to == "reopened":
            return self.reopen(conn, row, now, rec)
        raise AssertionError(f"unhandled transition {current} -> {to}")  # pragma: no cover

    def dispatch_to(
        self,
        conn: Connection,
        row: Row,
        worker: str,
        actor: str,
        role: str,
        note: str | None,
        now: float,
    ) -> Row:
        member = self.roster.get(worker)
        values: dict[str, Any] = {
            "assignee": worker,
            "ack_due_at": now + self.settings.ack_timeout_s,
        }
        if row["dispatched_at"] is None:
            values["dispatched_at"] = now
        rec = Record(
            "dispatched", actor, role, note=note,
            data={"worker": worker, "tier": int(row["tier"]), "role": member.role,
                  "chosen_by": actor},
            to=(worker,),
        )  # fmt: skip
        return self.change(conn, row, rec, now, **values)

    def close_by_camera(self, conn: Connection, row: Row, now: float) -> Row:
        rec = Record(
            "closed", "system", "system", kind=END,
            note="the camera confirms the hazard has cleared",
            data={"event": "camera_clearance"},
        )  # fmt: skip
        return self.change(conn, row, rec, now, closed_at=now, open_key=None)

    @staticmethod
    def was_verified(conn: Connection, order_id: str) -> bool:
        """Whether the order ever reached ``verified`` (by a person or automatically).

        An order that ended before anyone verified it must not be reopened into dispatch
        when its hazard comes back: nobody has confirmed the hazard is real.
        """
        found = conn.execute(
            sa.select(transitions.c.seq)
            .where(transitions.c.order_id == order_id, transitions.c.to_state == "verified")
            .limit(1)
        ).first()
        return found is not None

    def reopen(self, conn: Connection, row: Row, now: float, rec: Record) -> Row:
        values: dict[str, Any] = {
            "assignee": None,
            "ack_due_at": None,
            "resolved_at": None,
            "closed_at": None,
            "tier": 0,
            "tried": "[]",
        }
        if row["camera"] is not None:
            values["open_key"] = open_key(row["camera"], row["kind"])
        if row["state"] == "resolved":
            self.release(conn, row["village"], now)
        row = self.change(conn, row, rec, now, **values)
        return self.dispatch(conn, row, now)

    def tick_one(self, conn: Connection, row: Row, now: float) -> Row:
        if row["state"] == "dispatched" and row["ack_due_at"] is not None:
            if row["ack_due_at"] <= now:
                rec = Record(
                    "escalated", "system", "system", kind=ESCALATION,
                    note=f"{row['assignee']} did not acknowledge within "
                    f"{self.settings.ack_timeout_s:.0f} s",
                    data={"worker": row["assignee"], "reason": "ack_timeout"},
                )  # fmt: skip
                row = self.escalate(conn, row, now, rec)
        elif row["state"] in QUEUED_STATES and (
            row["ack_due_at"] is None or row["ack_due_at"] <= now
        ):
            row = self.dispatch(conn, row, now)
        if row["state"] in OPEN_STATES:
            c = clocks(row, now)
            for name, old, new in (
                ("dispatch", row["sla_dispatch"], c.dispatch),
                ("close", row["sla_close"], c.close),
            ):
                if new == "breached" and old != "breached":
                    row = self.breach(conn, row, name, now)
        return row
