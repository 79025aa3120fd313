"""The figures of a periodic report, computed from the store.

The period is a local calendar day, an ISO week (Monday to Sunday) or a calendar month
in the township's time zone; orders belong to it by their creation (alarm) time.

SLA attainment is a share of orders, each of which met or breached a clock: its 95%
interval is the Wilson score interval for a binomial proportion, which stays inside
[0, 1] and is honest for small counts and shares near 0 or 1. (The simulator's
t-interval, ``gridsight.governance_sim.stats.t_interval``, is for means over
independent replications; over 0/1 outcomes it would give a zero-width interval for
a day where every order met its clock.) Orders whose clock is still ``ongoing`` or
``void`` (rejected, duplicate, cancelled before dispatch) are not counted.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from scipy import stats

from gridsight.orders.store import OrderStore
from gridsight.orders.store_clock import read_clock
from gridsight.orders.tables import transitions, work_orders

Period = Literal["daily", "weekly", "monthly"]
PERIODS: tuple[str, ...] = ("daily", "weekly", "monthly")


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion ``k / n`` (None, None when ``n`` is 0)."""
    if n <= 0:
        return None, None
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def period_bounds(kind: str, day: date, zone: ZoneInfo) -> tuple[float, float, str]:
    """Epoch bounds ``[start, end)`` and a label of the period containing ``day``."""
    if kind == "daily":
        first, last = day, day + timedelta(days=1)
        label = day.isoformat()
    elif kind == "weekly":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
        iso = first.isocalendar()
        label = f"{iso.year}-W{iso.week:02d}"
    elif kind == "monthly":
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
        label = f"{first.year}-{first.month:02d}"
    else:
        raise ValueError(f"unknown period {kind!r}; periods: {', '.join(PERIODS)}")

    def at(d: date) -> float:
        return datetime(d.year, d.month, d.day, tzinfo=zone).timestamp()

    return at(first), at(last), label


@dataclass(frozen=True, slots=True)
class Attainment:
    """One SLA clock over a set of orders."""

    met: int
    breached: int

    @property
    def n(self) -> int:
        """Orders whose clock was decided."""
        return self.met + self.breached

    @property
    def share(self) -> float | None:
        """Share met (None without decided orders)."""
        return self.met / self.n if self.n else None

    @property
    def ci95(self) -> tuple[float | None, float | None]:
        """Wilson 95% interval of the share."""
        return wilson(self.met, self.n)


@dataclass
class WorkerLoad:
    """What one worker did in the period."""

    notified: int = 0
    acknowledged: int = 0
    resolved: int = 0
    timed_out: int = 0
    ack_s: list[float] = field(default_factory=list)


@dataclass
class Report:
    """Everything a periodic report shows."""

    kind: str
    label: str
    start: float
    end: float
    township: str
    timezone: str
    orders: int
    by_source: dict[str, int]
    by_state: dict[str, int]
    by_kind: dict[str, int]
    by_village: dict[str, int]
    by_grid: dict[str, int]
    dispatch: Attainment
    close: Attainment
    dispatch_by_kind: dict[str, Attainment]
    close_by_kind: dict[str, Attainment]
    dispatch_s: list[float]
    closure_min: list[float]
    close_target_min: float
    dispatch_target_s: float
    repeats: list[tuple[str, str, int, int]]  # (place, kind, orders, reopenings)
    workers: dict[str, WorkerLoad]
    escalations: int
    breaches: int
    #: The run's last stream time when the store was written on a stream's clock.
    stream_time: float | None = None


def _attain(rows: list[dict[str, Any]], col: str) -> Attainment:
    c = Counter(r[col] for r in rows)
    return Attainment(c.get("met", 0), c.get("breached", 0))


def build_report(
    store: OrderStore,
    kind: str,
    day: date,
    zone: ZoneInfo,
    *,
    township: str = "",
    close_target_min: float = 55.0,
    dispatch_target_s: float = 60.0,
) -> Report:
    """Compute the report of the ``kind`` period containing ``day``."""
    start, end, label = period_bounds(kind, day, zone)
    recorded = read_clock(store)
    wo = work_orders.c
    with store.read() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(work_orders)
                .where(wo.created_at >= start, wo.created_at < end)
                .order_by(wo.created_at)
            )
        ]
        ids = [r["id"] for r in rows]
        recs: list[dict[str, Any]] = []
        for k in range(0, len(ids), 500):  # IN lists of bounded size
            recs.extend(
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(transitions)
                    .where(transitions.c.order_id.in_(ids[k : k + 500]))
                    .order_by(transitions.c.order_id, transitions.c.seq)
                )
            )
    by_kind_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_kind_rows[r["kind"]].append(r)
    created = {r["id"]: r["created_at"] for r in rows}
    workers: dict[str, WorkerLoad] = defaultdict(WorkerLoad)
    reopen: Counter[str] = Counter()
    escalations = breaches = 0
    notified_at: dict[tuple[str, str], float] = {}
    for t in recs:
        data = json.loads(t["data"]) if t["data"] else {}
        to, oid = t["to_state"], t["order_id"]
        if to == "dispatched" and data.get("worker"):
            workers[data["worker"]].notified += 1
            notified_at[(oid, data["worker"])] = t["at"]
        elif to == "acknowledged" and data.get("worker"):
            w = data["worker"]
            workers[w].acknowledged += 1
            if (oid, w) in notified_at:
                workers[w].ack_s.append(t["at"] - notified_at[(oid, w)])
        elif to == "escalated":
            escalations += 1
            if data.get("reason") == "ack_timeout" and data.get("worker"):
                workers[data["worker"]].timed_out += 1
        elif to == "reopened":
            reopen[oid] += 1
        if data.get("event") == "sla_breach":
            breaches += 1
    for r in rows:
        if r["resolved_at"] is not None and r["assignee"]:
            workers[r["assignee"]].resolved += 1
    places: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        place = r["camera"] or r["grid"]
        places[(place, r["kind"])].append(r["id"])
    repeats = sorted(
        (
            (place, k, len(o), sum(reopen[i] for i in o))
            for (place, k), o in places.items()
            if len(o) > 1 or any(reopen[i] for i in o)
        ),
        key=lambda x: (-(x[2] + x[3]), x[0], x[1]),
    )
    return Report(
        kind=kind,
        label=label,
        start=start,
        end=end,
        township=township,
        timezone=zone.key,
        orders=len(rows),
        by_source=dict(Counter(r["source"] for r in rows).most_common()),
        by_state=dict(Counter(r["state"] for r in rows).most_common()),
        by_kind=dict(Counter(r["kind"] for r in rows).most_common()),
        by_village=dict(Counter(r["village"] for r in rows).most_common()),
        by_grid=dict(Counter(r["grid"] for r in rows).most_common()),
        dispatch=_attain(rows, "sla_dispatch"),
        close=_attain(rows, "sla_close"),
        dispatch_by_kind={k: _attain(v, "sla_dispatch") for k, v in sorted(by_kind_rows.items())},
        close_by_kind={k: _attain(v, "sla_close") for k, v in sorted(by_kind_rows.items())},
        dispatch_s=[
            r["dispatched_at"] - created[r["id"]] for r in rows if r["dispatched_at"] is not None
        ],
        closure_min=[
            (r["closed_at"] - created[r["id"]]) / 60.0
            for r in rows
            if r["state"] == "closed" and r["closed_at"] is not None
        ],
        close_target_min=close_target_min,
        dispatch_target_s=dispatch_target_s,
        repeats=repeats,
        workers=dict(sorted(workers.items(), key=lambda kv: (-kv[1].notified, kv[0]))),
        escalations=escalations,
        breaches=breaches,
        stream_time=recorded.stream_time if recorded is not None and recorded.is_stream else None,
    )


def order_days(store: OrderStore, zone: ZoneInfo) -> list[tuple[date, int]]:
    """The local days (in ``zone``) that have orders, newest first, with their counts."""
    with store.read() as conn:
        created = conn.execute(sa.select(work_orders.c.created_at)).scalars().all()
    days = Counter(datetime.fromtimestamp(t, zone).date() for t in created)
    return sorted(days.items(), reverse=True)
