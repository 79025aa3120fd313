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
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridsight.core.config import OrdersConfig, Township
from gridsight.core.dispatch import (
    BUILTIN_REGISTRY,
    DispatchPolicy,
    load_policies,
    resolve_policy,
)
from gridsight.core.events import HazardEvent
from gridsight.orders import fencing, intake
from gridsight.orders.errors import (
    IllegalTransition,
    NotPermitted,
    OrderError,
    OrderNotFound,
    VersionConflict,
)
from gridsight.orders.fencing import Admission
from gridsight.orders.ledger import (
    NEW,
    Ledger,
    Record,
    Row,
    StaleVersion,
    order_row_defaults,
)
from gridsight.orders.roster import Roster, RosterEntry, record_position

if TYPE_CHECKING:
    import pluggy
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
from gridsight.orders.workflow import Workflow

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_RETRIES = 8


class UnknownPlace(OrderError):
    """A village, grid or request kind that the township config does not have."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, StaleVersion | sa.exc.IntegrityError) or (
        isinstance(exc, sa.exc.OperationalError)
        and any(s in str(exc.orig).lower() for s in ("deadlock", "could not serialize"))
    )


def policy_by_name(name: str, plugins: pluggy.PluginManager | None = None) -> DispatchPolicy:
    """The dispatch policy called ``name``: the one lookup the simulator uses too.

    Args:
        name: the township's ``orders.policy``.
        plugins: the caller's plugin manager. Without one, a built-in name is found
            directly and any other name through a plugin manager built here (a
            plugin's policy can only come from there).

    Raises:
        ConfigError: no built-in or plugin policy has that name (the message lists the
            known ones and any plugins that failed to load).
    """
    if plugins is None and name not in BUILTIN_REGISTRY.policies:
        from gridsight.core.plugins import build_plugin_manager

        plugins = build_plugin_manager()
    registry = BUILTIN_REGISTRY if plugins is None else load_policies(plugins)
    return resolve_policy(name, registry, setting="orders.policy")()


def new_order_id() -> str:
    """A fresh order id: ``wo-`` + 12 random hex digits (48 bits: a collision is
    unlikely before millions of orders, and the primary key would refuse it anyway)."""
    return f"wo-{uuid.uuid4().hex[:12]}"


#: How long an acknowledge link stays valid (a worker may read the message late, but an
#: old link must not acknowledge forever).
ACK_TTL_S = 24 * 3600.0


class OrderService:
    """The work-order loop over one store (see the module docstring).

    Args:
        store: the store.
        township: the township config (places, staff, cameras, travel; its ``orders``
            section).
        policy: the dispatch policy (default: the one ``orders.policy`` names, built-in
            or a plugin's, looked up by :func:`policy_by_name`).
        clock: epoch seconds now (injected in tests and replays).
        channels: notification channel names (one outbox row each per change).
        settings: the ``orders`` settings, overriding the township's.
        ack_secret: secret of the acknowledge tokens put in dispatch notifications
            (None: no tokens).
        ack_ttl_s: how long an acknowledge token (the phone link) stays valid.
        id_factory: makes new order ids.
        on_change: called after each committed transaction with the view of every order
            it changed, including ones changed as a consequence (a freed worker's queued
            orders dispatched): how the REST API's live stream learns of all of them.
        plugins: the plugin manager whose dispatch policies ``orders.policy`` may name.
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
        ack_ttl_s: float = ACK_TTL_S,
        id_factory: Callable[[], str] = new_order_id,
        on_change: Callable[[WorkOrderView], None] | None = None,
        plugins: pluggy.PluginManager | None = None,
    ) -> None:
        self.on_change = on_change
        self.store = store
        self.town = township
        self.settings = settings if settings is not None else township.orders
        self.policy = (
            policy if policy is not None else policy_by_name(self.settings.policy, plugins)
        )
        self.clock = clock
        self.roster = Roster(township, self.settings.staffing, self.settings.zone)
        self.new_id = id_factory
        self.ack_secret = ack_secret
        token_maker: Callable[[str, str], str] | None = None
        if ack_secret:
            secret = ack_secret

            def token_maker(order_id: str, worker: str) -> str:
                from gridsight.orders.notify.ack import ack_token

                return ack_token(order_id, worker, secret, expires_at=clock() + ack_ttl_s)

        self.ledger = Ledger(channels, token_maker)
        self.flow = Workflow(
            township, self.settings, self.policy, self.roster, self.ledger, id_factory
        )
        self._villages = {v.id for v in township.villages}
        self._grids = {g.id: g for g in township.grids}

    # -- plumbing ------------------------------------------------------------------------

    def _run(self, fn: Callable[[Connection], T], *, retries: int = MAX_RETRIES) -> T:
        """Run ``fn`` in a write transaction, retrying when another writer won a race."""
        for attempt in range(retries + 1):
            try:
                self.ledger.begin_tracking()
                with self.store.begin() as conn:
                    result = fn(conn)
                self._notify_changes()
                return result
            except Exception as exc:
                if attempt < retries and _retryable(exc):
                    log.debug("retrying after a concurrent change: %s", exc)
                    time.sleep(random.uniform(0.0, min(0.2, 0.005 * 2**attempt)))
                    continue
                if isinstance(exc, StaleVersion):
                    raise VersionConflict(exc.order_id, exc.expected, exc.actual) from None
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _notify_changes(self) -> None:
        if self.on_change is None:
            return
        for row in self.ledger.touched().values():
            try:
                self.on_change(WorkOrderView.from_row(row))
            except Exception:  # a listener must not undo or block a committed change
                log.exception("on_change listener failed")

    def _now(self, now: float | None = None) -> float:
        return float(self.clock() if now is None else now)

    def _view(self, conn: Connection, row: Row, *, trail: bool = False) -> WorkOrderView:
        records = Ledger.trail(conn, row["id"]) if trail else ()
        return WorkOrderView.from_row(row, records)

    def _require(
        self, conn: Connection, order_id: str, *, lock: bool = False, visible_to: str | None = None
    ) -> Row:
        row = Ledger.read(conn, order_id, lock=lock)
        if row is None or (visible_to is not None and row["assignee"] != visible_to):
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

    # -- public API: intake --------------------------------------------------------------

    def ingest_event(self, event: HazardEvent) -> WorkOrderView | None:
        """Feed one engine event: ``start`` opens or attaches, ``update`` refreshes,
        ``end`` records camera-confirmed clearance.

        Returns the order the event belongs to (None for an update/end of an event the
        store never saw start).
        """

        def run(conn: Connection) -> WorkOrderView | None:
            now = self._now()
            row = intake.ingest(self.flow, conn, event, now)
            return None if row is None else self._view(conn, row)

        return self._run(run)

    def end_left_open(
        self, cameras: Iterable[str] | None = None, *, now: float | None = None
    ) -> builtins.list[WorkOrderView]:
        """End the events an earlier process left open, and reconcile their orders.

        Call on start, before the first new event of ``cameras`` (None: every camera):
        see :func:`gridsight.orders.intake.end_left_open`. ``now``: when the records are
        written (None: at each event's last known time, for a service on the streams'
        clock). Idempotent: a second call finds nothing open.

        Returns the orders changed.
        """
        wanted = None if cameras is None else builtins.list(cameras)

        def run(conn: Connection) -> builtins.list[WorkOrderView]:
            rows = intake.end_left_open(self.flow, conn, wanted, now)
            return [self._view(conn, row) for row in rows]

        return self._run(run)

    def ingest_fenced(
        self,
        event: HazardEvent,
        *,
        delivery_id: str,
        epoch: int,
        floor: int = 0,
        node: str | None = None,
    ) -> tuple[Admission, WorkOrderView | None]:
        """Feed one event that came through the cluster, exactly once and fenced.

        One transaction records the delivery (unique ``delivery_id``), checks the camera's
        ``epoch`` against the newest seen (and ``floor``) and, when admitted, applies the
        event as :meth:`ingest_event` does. See :mod:`gridsight.orders.fencing`.

        Returns:
            ``(admission, order)``: ``accepted`` with the order (or None), or
            ``duplicate`` / ``stale`` with None (nothing changed but the refusal's record).
        """

        def run(conn: Connection) -> tuple[Admission, WorkOrderView | None]:
            now = self._now()
            admission = fencing.admit(
                conn,
                delivery_id=delivery_id,
                camera=event.camera,
                epoch=epoch,
                now=now,
                floor=floor,
                node=node,
            )
            if admission != "accepted":
                return admission, None
            row = intake.ingest(self.flow, conn, event, now)
            return admission, None if row is None else self._view(conn, row)

        return self._run(run)

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
                row = self.flow.change(conn, row, Record("verified", who, who_role), now)
                row = self.flow.after_verified(conn, row, now)
            return self._view(conn, row, trail=True)

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
        visible_to: str | None = None,
    ) -> WorkOrderView:
        """Move an order to ``to`` as ``actor`` (of ``role``), in one transaction; the
        moved order with its trail.

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
            visible_to: a worker id: an order not assigned to them is an
                :class:`OrderNotFound` (a worker's app never learns of others' orders).

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
            row = self._require(conn, order_id, lock=True, visible_to=visible_to)
            if expected_version is not None and int(row["version"]) != expected_version:
                raise VersionConflict(order_id, expected_version, int(row["version"]))
            current = row["state"]
            if current == to:
                last = Ledger.last_record(conn, order_id)
                if last is not None and last.to_state == to and last.actor == actor:
                    return self._view(conn, row, trail=True)  # a repeated tap: nothing to do
            rule = transition(current, to)
            if rule is None:
                raise IllegalTransition(order_id, current, to, allowed_targets(current))
            if role not in rule.roles:
                raise NotPermitted(role, f"{current} -> {to}", rule.roles)
            if role == "worker" and actor.removeprefix("worker:") != row["assignee"]:
                raise NotPermitted(
                    "worker",
                    f"{current} -> {to} of {order_id} ({actor} is not the assignee "
                    f"{row['assignee']!r})",
                    ("the assigned worker", "operator", "supervisor", "admin"),
                )
            row = self.flow.apply(conn, row, to, actor, role, note, photo, now, worker, position)
            return self._view(conn, row, trail=True)

        return self._run(run, retries=0 if expected_version is not None else MAX_RETRIES)

    def note(
        self, order_id: str, note: str, *, actor: str, role: str, visible_to: str | None = None
    ) -> WorkOrderView:
        """Add a note to the order's trail (an annotation: the state does not change), in
        one transaction; the order with its trail. ``visible_to``: see :meth:`transition`.

        Raises:
            OrderNotFound, NotPermitted (a worker who is not the assignee; ``system``).
        """
        if role not in ROLES or role == "system":
            raise NotPermitted(role, "note", ("operator", "worker", "supervisor", "admin"))
        if not note.strip():
            raise OrderError("a note needs some text")

        def run(conn: Connection) -> WorkOrderView:
            now = self._now()
            row = self._require(conn, order_id, lock=True, visible_to=visible_to)
            if role == "worker" and actor.removeprefix("worker:") != row["assignee"]:
                raise NotPermitted(
                    "worker", f"note on {order_id} ({actor} is not the assignee)",
                    ("the assigned worker", "operator", "supervisor", "admin"),
                )  # fmt: skip
            rec = Record(row["state"], actor, role, note=note, data={"event": "note"})
            return self._view(conn, self.flow.change(conn, row, rec, now), trail=True)

        return self._run(run)

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
                row = Ledger.read(conn, order_id, lock=True)
                if row is None:
                    return None
                version = row["version"]
                row = self.flow.tick_one(conn, row, t)
                return self._view(conn, row) if row["version"] != version else None

            view = self._run(run)
            if view is not None:
                changed.append(view)
        return changed

    # -- public API: reads ---------------------------------------------------------------

    def get(self, order_id: str, *, visible_to: str | None = None) -> WorkOrderView:
        """The order with its transitions (``visible_to``: see :meth:`transition`).

        Raises:
            OrderNotFound: no such order.
        """
        with self.store.read() as conn:
            row = self._require(conn, order_id, visible_to=visible_to)
            return self._view(conn, row, trail=True)

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
        if f.overdue_at is not None:
            t = f.overdue_at
            q = q.where(
                wo.state.in_(sorted(OPEN_STATES)),
                sa.or_(
                    sa.and_(wo.dispatched_at.is_(None), wo.dispatch_due_at < t),
                    wo.close_due_at < t,
                ),
            )
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

    def report_position(self, worker_id: str, x_km: float, y_km: float) -> RosterEntry:
        """Record where a worker is (an older report never overwrites a newer one); their
        roster entry after it, from the same transaction.

        Raises:
            UnknownWorker: not on the roster.
        """
        member = self.roster.get(worker_id)

        def run(conn: Connection) -> RosterEntry:
            now = self._now()
            record_position(conn, worker_id, x_km, y_km, now)
            return self.roster.entries(conn, now, [member])[0]

        return self._run(run)
