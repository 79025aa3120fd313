"""OrderService: what the CLI, the REST API, the engine sink and the tests call.

Every public method runs in one database transaction and every change it makes goes
through :class:`~gridsight.orders.ledger.Ledger` (order row, transition record, outbox
rows together). Changes the service makes on its own (verification of life-critical
hazards, dispatch, acknowledgement time-outs, SLA breaches, camera-confirmed clearance)
are recorded with actor ``system``.

Concurrency. Several processes may share one PostgreSQL store. Orders are changed with
optimistic concurrency (``version``); the service retries its own changes when another
writer got there first, and reports :class:`~gridsight.orders.errors.VersionConflict` to
a person who acted on an old version (``expected_version``). At most one order per
camera and hazard is open at a time (a UNIQUE ``open_key``), so two writers seeing the
same hazard attach to one order instead of opening two.

Example:
    >>> svc = OrderService(OrderStore.open(":memory:"), town, clock=lambda: 1.7e9)
    >>> order = svc.create_manual("fire_lane", "ruijia", "ruijia-g01", title="blocked lane",
    ...                           description="", actor="operator:alice")
    >>> order.state
    'dispatched'
"""

from __future__ import annotations

import builtins
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridsight.core.config import Township
from gridsight.core.dispatch import (
    BUILTIN_POLICIES,
    DispatchPolicy,
    WorkOrder,
    escalate,
)
from gridsight.core.errors import ConfigError
from gridsight.core.events import HazardEvent
from gridsight.orders import intake
from gridsight.orders.config import OrdersConfig, orders_settings
from gridsight.orders.errors import (
    IllegalTransition,
    NotPermitted,
    OrderError,
    OrderNotFound,
    VersionConflict,
)
from gridsight.orders.ledger import (
    END,
    ESCALATION,
    NEW,
    SLA_BREACH,
    UPDATE,
    Ledger,
    Record,
    Row,
    StaleVersion,
    order_row_defaults,
)
from gridsight.orders.roster import Roster, RosterEntry, record_position
from gridsight.orders.sla import clocks
from gridsight.orders.states import (
    OPEN_STATES,
    QUEUED_STATES,
    ROLES,
    allowed_targets,
    check_state,
    transition,
)
from gridsight.orders.store import OrderStore
from gridsight.orders.tables import work_orders
from gridsight.orders.views import (
    OrderFilter,
    Page,
    WorkOrderView,
    decode_cursor,
    encode_cursor,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_RETRIES = 8
# Seconds between dispatch attempts of an order nobody could take (as the simulator's
# ``dispatch.retry_s``); a worker being released retries at once.
RETRY_S = 60.0


class UnknownPlace(OrderError):
    """A village, grid or request kind that the township config does not have."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, StaleVersion | sa.exc.IntegrityError) or (
        isinstance(exc, sa.exc.OperationalError)
        and any(s in str(exc.orig).lower() for s in ("deadlock", "could not serialize"))
    )


def policy_by_name(name: str) -> DispatchPolicy:
    """A built-in dispatch policy by name (plugins: pass an instance to the service)."""
    for cls in BUILTIN_POLICIES:
        if cls.name == name:
            return cls()
    known = ", ".join(c.name for c in BUILTIN_POLICIES)
    raise ConfigError(f"orders.policy: unknown dispatch policy {name!r}; known: {known}")


def new_order_id() -> str:
    """A fresh order id (``wo-`` + 20 hex digits; unique across processes)."""
    return f"wo-{uuid.uuid4().hex[:20]}"


class OrderService:
    """The work-order loop over one store (see the module docstring).

    Args:
        store: the store.
        township: the township config (places, staff, cameras, travel; its ``orders``
            section if it is an :class:`~gridsight.orders.config.OrdersTownship`).
        policy: the dispatch policy (default: ``orders.policy`` among the built-ins).
        clock: epoch seconds now (injected in tests and replays).
        channels: notification channel names (one outbox row each per change).
        settings: the ``orders`` settings, overriding the township's.
        ack_secret: secret of the acknowledge tokens put in dispatch notifications
            (None: no tokens).
        id_factory: makes new order ids.
    """

    def __init__(
        self,
        store: OrderStore,
        township: Township,
        policy: DispatchPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
        channels: Sequence[str] = (),
        settings: OrdersConfig | None = None,
        ack_secret: str | None = None,
        id_factory: Callable[[], str] = new_order_id,
    ) -> None:
        self.store = store
        self.town = township
        self.settings = settings if settings is not None else orders_settings(township)
        self.policy = policy if policy is not None else policy_by_name(self.settings.policy)
        self.clock = clock
        self.roster = Roster(township, self.settings.staffing, self.settings.zone)
        self.new_id = id_factory
        token_maker: Callable[[str, str], str] | None = None
        if ack_secret:
            secret = ack_secret

            def token_maker(order_id: str, worker: str) -> str:
                from gridsight.orders.notify.ack import ack_token

                return ack_token(order_id, worker, secret)

        self.ledger = Ledger(channels, token_maker)
        self._villages = {v.id for v in township.villages}
        self._grids = {g.id: g for g in township.grids}

    # -- plumbing ------------------------------------------------------------------------

    def _run(self, fn: Callable[[Connection], T], *, retries: int = MAX_RETRIES) -> T:
        """Run ``fn`` in a write transaction, retrying when another writer won a race."""
        for attempt in range(retries + 1):
            try:
                with self.store.begin() as conn:
                    return fn(conn)
            except Exception as exc:
                if attempt < retries and _retryable(exc):
                    log.debug("retrying after a concurrent change: %s", exc)
                    time.sleep(0.002 * (attempt + 1))
                    continue
                if isinstance(exc, StaleVersion):
                    raise VersionConflict(exc.order_id, exc.expected, exc.actual) from None
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _now(self, now: float | None = None) -> float:
        return float(self.clock() if now is None else now)

    def _view(self, conn: Connection, row: Row, *, trail: bool = False) -> WorkOrderView:
        records = Ledger.trail(conn, row["id"]) if trail else ()
        return WorkOrderView.from_row(row, records)

    def _require(self, conn: Connection, order_id: str) -> Row:
        row = Ledger.read(conn, order_id)
        if row is None:
            raise OrderNotFound(order_id)
        return row

    def _check_place(self, village: str, grid: str) -> None:
        if village not in self._villages:
            raise UnknownPlace(
                f"unknown village {village!r}; known: {', '.join(sorted(self._villages))}"
            )
        g = self._grids.get(grid)
        if g is None or g.village != village:
            mine = ", ".join(sorted(k for k, v in self._grids.items() if v.village == village))
            raise UnknownPlace(f"grid {grid!r} is not a grid of {village!r}; its grids: {mine}")

    # -- changes -------------------------------------------------------------------------

    def _change(self, conn: Connection, row: Row, record: Record, now: float, **values: Any) -> Row:
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
            new = self._breach(conn, new, name, now)
        return new

    def _breach(self, conn: Connection, row: Row, clock: str, now: float) -> Row:
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

    def _dispatch(self, conn: Connection, row: Row, now: float, *, force: str | None = None) -> Row:
        """Choose a worker (core dispatch policy over the live roster) and notify them.

        Returns the row unchanged (plus a retry time) when nobody is available.
        """
        if force is None:
            wid = self._choose(conn, row, now)
            if wid is None and json.loads(row["tried"]):
                # As the simulator: those who did not acknowledge may be reachable now.
                wid = self._choose(conn, {**row, "tried": "[]"}, now)
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
        return self._change(conn, row, record, now, **values)

    def _choose(self, conn: Connection, row: Row, now: float) -> str | None:
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

    def _escalate(self, conn: Connection, row: Row, now: float, record: Record) -> Row:
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
        row = self._change(
            conn, row, record, now,
            assignee=None, ack_due_at=None, tier=tier, tried=json.dumps(tried),
            escalations=int(row["escalations"]) + 1,
        )  # fmt: skip
        return self._dispatch(conn, row, now)

    def _release(self, conn: Connection, village: str, now: float) -> None:
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
            row = Ledger.read(conn, order_id)
            if row is not None and row["state"] in QUEUED_STATES:
                self._dispatch(conn, row, now)

    def _after_verified(self, conn: Connection, row: Row, now: float) -> Row:
        return self._dispatch(conn, row, now)

    # -- public API: intake --------------------------------------------------------------

    def ingest_event(self, event: HazardEvent) -> WorkOrderView | None:
        """Feed one engine event: ``start`` opens or attaches, ``update`` refreshes,
        ``end`` records camera-confirmed clearance.

        Returns the order the event belongs to (None for an update/end of an event the
        store never saw start).
        """

        def run(conn: Connection) -> WorkOrderView | None:
            now = self._now()
            row = intake.ingest(self, conn, event, now)
            return None if row is None else self._view(conn, row)

        return self._run(run)

    def _open_camera_order(self, conn: Connection, event: HazardEvent, now: float) -> Row:
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
            "open_key": intake.open_key(event.camera, event.hazard),
            "hazard_active": True,
        }
        row = self.ledger.create(
            conn, row, Record("new", "system", "system", kind=NEW, data={"event": event.id}), now
        )
        if hz.auto_verify:
            row = self._change(
                conn, row, Record("verified", "system", "system", note="automatic"), now
            )
            row = self._after_verified(conn, row, now)
        return row

    def _create(
        self,
        source: str,
        kind: str,
        village: str,
        grid: str,
        *,
        title: str,
        description: str,
        actor: str,
        role: str,
        x_km: float | None,
        y_km: float | None,
        request: bool,
        verify: bool,
        data: dict[str, Any],
    ) -> WorkOrderView:
        self._check_place(village, grid)
        s = self.settings
        if request and kind not in s.requests:
            raise UnknownPlace(
                f"unknown request kind {kind!r}; kinds: {', '.join(sorted(s.requests))}"
            )
        if (x_km is None) != (y_km is None):
            raise OrderError("give both x_km and y_km, or neither (the grid centre is used)")
        if x_km is None or y_km is None:
            x_km, y_km = self._grids[grid].position
        hz = s.for_kind(kind, request=request)

        def run(conn: Connection) -> WorkOrderView:
            now = self._now()
            row: Row = {
                **order_row_defaults(),
                "id": self.new_id(),
                "source": source,
                "kind": kind,
                "state": "new",
                "village": village,
                "grid": grid,
                "x_km": float(x_km),
                "y_km": float(y_km),
                "priority": hz.priority,
                "title": title,
                "description": description,
                "created_at": now,
                "dispatch_due_at": now + s.dispatch_due_s(kind, request=request),
                "close_due_at": now + s.close_due_s(kind, request=request),
            }
            row = self.ledger.create(
                conn, row, Record("new", actor, role, kind=NEW, data=data), now
            )
            if verify or hz.auto_verify:
                who, who_role = (actor, role) if verify else ("system", "system")
                row = self._change(conn, row, Record("verified", who, who_role), now)
                row = self._after_verified(conn, row, now)
            return self._view(conn, row)

        return self._run(run)

    def create_manual(
        self,
        kind: str,
        village: str,
        grid: str,
        *,
        title: str,
        description: str = "",
        actor: str,
        x_km: float | None = None,
        y_km: float | None = None,
    ) -> WorkOrderView:
        """An order filed by an operator: verified by them and dispatched at once."""
        return self._create(
            "operator", kind, village, grid, title=title, description=description,
            actor=actor, role="operator", x_km=x_km, y_km=y_km, request=False, verify=True,
            data={},
        )  # fmt: skip

    def create_request(
        self,
        kind: str,
        village: str,
        grid: str,
        *,
        title: str,
        description: str = "",
        actor: str = "resident",
        channel: str = "qr",
        x_km: float | None = None,
        y_km: float | None = None,
    ) -> WorkOrderView:
        """A resident's request (grid QR code: ``qr_ask``, ``qr_fraud``, ``qr_service``;
        the ``hotline_12345``): ``new``, for an operator to triage (verify) unless the
        kind is set to ``auto_verify``."""
        return self._create(
            "resident", kind, village, grid, title=title, description=description,
            actor=actor, role="system", x_km=x_km, y_km=y_km, request=True, verify=False,
            data={"channel": channel},
        )  # fmt: skip

    # -- public API: transitions ---------------------------------------------------------

    def transition(
        self,
        order_id: str,
        to: str,
        *,
        actor: str,
        role: str,
        note: str | None = None,
        photo: str | None = None,
        expected_version: int | None = None,
        worker: str | None = None,
        position: tuple[float, float] | None = None,
    ) -> WorkOrderView:
        """Move an order to ``to`` as ``actor`` (of ``role``).

        Args:
            order_id: the order.
            to: the target state.
            actor: who, e.g. ``operator:alice`` or ``worker:gw-ruijia-g01``.
            role: ``system``, ``operator``, ``worker``, ``supervisor`` or ``admin``.
            note: free text for the record.
            photo: evidence path (relative to the uploads folder).
            expected_version: the version the actor saw; a different stored version is a
                :class:`VersionConflict`.
            worker: for ``dispatched`` by a person: the worker to send (else the policy
                chooses).
            position: where the worker is (an acknowledgement or on-site report).

        Raises:
            OrderNotFound, IllegalTransition, NotPermitted, VersionConflict, UnknownWorker.
        """
        check_state(to)
        if role not in ROLES:
            raise NotPermitted(role, f"-> {to}", ROLES)
        if worker is not None:
            self.roster.get(worker)

        def run(conn: Connection) -> WorkOrderView:
            now = self._now()
            row = self._require(conn, order_id)
            if expected_version is not None and int(row["version"]) != expected_version:
                raise VersionConflict(order_id, expected_version, int(row["version"]))
            current = row["state"]
            if current == to:
                last = Ledger.last_record(conn, order_id)
                if last is not None and last.to_state == to and last.actor == actor:
                    return self._view(conn, row)  # a repeated tap: nothing to do
            rule = transition(current, to)
            if rule is None:
                raise IllegalTransition(order_id, current, to, allowed_targets(current))
            if role not in rule.roles:
                raise NotPermitted(role, f"{current} -> {to}", rule.roles)
            if role == "worker" and actor.removeprefix("worker:") != row["assignee"]:
                raise NotPermitted(
                    f"worker {actor.removeprefix('worker:')!r} (not the assignee "
                    f"{row['assignee']!r})",
                    f"{current} -> {to}",
                    ("the assigned worker", "operator", "supervisor", "admin"),
                )
            row = self._apply(conn, row, to, actor, role, note, photo, now, worker, position)
            return self._view(conn, row)

        return self._run(run, retries=0 if expected_version is not None else MAX_RETRIES)

    def _apply(
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
                row = self._dispatch(conn, row, now)
                if row["state"] != "dispatched":
                    raise OrderError(
                        f"nobody of {row['village']!r} is available for {row['id']!r} now; "
                        "it stays queued (it is retried when a worker is free)"
                    )
                return row
            return self._dispatch_to(conn, row, worker, actor, role, note, now)
        if to == "verified":
            row = self._change(conn, row, rec, now)
            return self._after_verified(conn, row, now)
        if to == "escalated":
            return self._escalate(conn, row, now, replace(rec, kind=ESCALATION))
        if to == "acknowledged":
            rec = replace(rec, data={"worker": assignee})
            return self._change(conn, row, rec, now, acknowledged_at=now, ack_due_at=None)
        if to == "on_site":
            if position is None and assignee is not None and row["x_km"] is not None:
                record_position(conn, assignee, row["x_km"], row["y_km"], now)
            return self._change(conn, row, rec, now, on_site_at=now)
        if to == "resolved":
            row = self._change(conn, row, rec, now, resolved_at=now)
            if (
                row["source"] == "camera"
                and row["cleared_at"] is not None
                and not row["hazard_active"]
            ):
                row = self._close_by_camera(conn, row, now)
            self._release(conn, row["village"], now)
            return row
        if to == "closed":
            return self._change(conn, row, rec, now, closed_at=now, open_key=None)
        if to in ("cancelled", "rejected", "duplicate"):
            kind = END if to == "cancelled" else UPDATE
            row = self._change(conn, row, replace(rec, kind=kind), now, open_key=None)
            if current in ("dispatched", "acknowledged", "on_site"):
                self._release(conn, row["village"], now)
            return row
        if to == "reopened":
            return self._reopen(conn, row, now, rec)
        raise AssertionError(f"unhandled transition {current} -> {to}")  # pragma: no cover

    def _dispatch_to(
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
        return self._change(conn, row, rec, now, **values)

    def _close_by_camera(self, conn: Connection, row: Row, now: float) -> Row:
        rec = Record(
            "closed", "system", "system", kind=END,
            note="the camera confirms the hazard has cleared",
            data={"event": "camera_clearance"},
        )  # fmt: skip
        return self._change(conn, row, rec, now, closed_at=now, open_key=None)

    def _reopen(self, conn: Connection, row: Row, now: float, rec: Record) -> Row:
        values: dict[str, Any] = {
            "assignee": None,
            "ack_due_at": None,
            "resolved_at": None,
            "closed_at": None,
            "tier": 0,
            "tried": "[]",
        }
        if row["camera"] is not None:
            values["open_key"] = intake.open_key(row["camera"], row["kind"])
        if row["state"] == "resolved":
            self._release(conn, row["village"], now)
        row = self._change(conn, row, rec, now, **values)
        return self._dispatch(conn, row, now)

    # -- public API: time ----------------------------------------------------------------

    def tick(self, now: float | None = None) -> list[WorkOrderView]:
        """Run the clocks: acknowledgement time-outs (escalate), queued retries, SLA breaches.

        Returns the orders that changed.
        """
        t = self._now(now)
        wo = work_orders.c
        open_states = sorted(OPEN_STATES)
        due = sa.or_(
            sa.and_(wo.state == "dispatched", wo.ack_due_at <= t),
            sa.and_(
                wo.state.in_(sorted(QUEUED_STATES)),
                sa.or_(wo.ack_due_at.is_(None), wo.ack_due_at <= t),
            ),
            sa.and_(
                wo.sla_dispatch == "ongoing", wo.dispatch_due_at < t, wo.state.in_(open_states)
            ),
            sa.and_(wo.sla_close == "ongoing", wo.close_due_at < t, wo.state.in_(open_states)),
        )
        with self.store.read() as conn:
            ids = list(
                conn.execute(
                    sa.select(wo.id).where(due).order_by(wo.priority.desc(), wo.created_at)
                ).scalars()
            )
        changed: list[WorkOrderView] = []
        for order_id in ids:

            def run(conn: Connection, order_id: str = order_id) -> WorkOrderView | None:
                row = Ledger.read(conn, order_id)
                if row is None:
                    return None
                version = row["version"]
                row = self._tick_one(conn, row, t)
                return self._view(conn, row) if row["version"] != version else None

            view = self._run(run)
            if view is not None:
                changed.append(view)
        return changed

    def _tick_one(self, conn: Connection, row: Row, now: float) -> Row:
        if row["state"] == "dispatched" and row["ack_due_at"] is not None:
            if row["ack_due_at"] <= now:
                rec = Record(
                    "escalated", "system", "system", kind=ESCALATION,
                    note=f"{row['assignee']} did not acknowledge within "
                    f"{self.settings.ack_timeout_s:.0f} s",
                    data={"worker": row["assignee"], "reason": "ack_timeout"},
                )  # fmt: skip
                row = self._escalate(conn, row, now, rec)
        elif row["state"] in QUEUED_STATES and (
            row["ack_due_at"] is None or row["ack_due_at"] <= now
        ):
            row = self._dispatch(conn, row, now)
        if row["state"] in OPEN_STATES:
            c = clocks(row, now)
            for name, old, new in (
                ("dispatch", row["sla_dispatch"], c.dispatch),
                ("close", row["sla_close"], c.close),
            ):
                if new == "breached" and old != "breached":
                    row = self._breach(conn, row, name, now)
        return row

    # -- public API: reads ---------------------------------------------------------------

    def get(self, order_id: str) -> WorkOrderView:
        """The order with its transitions.

        Raises:
            OrderNotFound: no such order.
        """
        with self.store.read() as conn:
            return self._view(conn, self._require(conn, order_id), trail=True)

    def list(
        self, filters: OrderFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> Page[WorkOrderView]:
        """Orders matching ``filters``, newest first, ``limit`` per page."""
        f = filters or OrderFilter()
        if not 1 <= limit <= 1000:
            raise OrderError(f"limit must be within 1..1000, got {limit}")
        wo = work_orders.c
        q = sa.select(work_orders)
        for state in f.states:
            check_state(state)
        if f.states:
            q = q.where(wo.state.in_(f.states))
        if f.open_only:
            q = q.where(wo.state.in_(sorted(OPEN_STATES)))
        for col, value in (
            (wo.kind, f.kind),
            (wo.source, f.source),
            (wo.village, f.village),
            (wo.grid, f.grid),
            (wo.camera, f.camera),
            (wo.assignee, f.assignee),
        ):
            if value is not None:
                q = q.where(col == value)
        if f.since is not None:
            q = q.where(wo.created_at >= f.since)
        if f.until is not None:
            q = q.where(wo.created_at < f.until)
        if cursor is not None:
            c_at, c_id = decode_cursor(cursor)
            q = q.where(sa.or_(wo.created_at < c_at, sa.and_(wo.created_at == c_at, wo.id < c_id)))
        q = q.order_by(wo.created_at.desc(), wo.id.desc()).limit(limit + 1)
        with self.store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        more = len(rows) > limit
        rows = rows[:limit]
        items = tuple(WorkOrderView.from_row(r) for r in rows)
        nxt = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
        return Page(items, nxt)

    def iter_all(self, filters: OrderFilter | None = None) -> Iterable[WorkOrderView]:
        """Every matching order, page by page."""
        cursor: str | None = None
        while True:
            page = self.list(filters, limit=500, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def allowed(self, order_id: str, role: str) -> builtins.list[str]:
        """Next states ``role`` may move the order to."""
        with self.store.read() as conn:
            row = self._require(conn, order_id)
        return allowed_targets(row["state"], role)

    def workers_on_duty(self, now: float | None = None) -> builtins.list[RosterEntry]:
        """Everyone on shift now, with position, busy flag and load."""
        t = self._now(now)
        with self.store.read() as conn:
            return [e for e in self.roster.entries(conn, t) if e.on_duty]

    def roster_entries(self, now: float | None = None) -> builtins.list[RosterEntry]:
        """Everyone on the roster, on duty or not."""
        t = self._now(now)
        with self.store.read() as conn:
            return self.roster.entries(conn, t)
