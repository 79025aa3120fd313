"""The outbox relay: delivers the ``outbox`` table's rows through their channels' notifiers.

The order service writes a notification into the ``outbox`` table in the same
transaction as the state change it reports (the transactional outbox), so a crash can
never leave a change without its notification. This relay then delivers the rows:

1. **Claim** due rows of one channel (``next_attempt_at <= now``, neither delivered nor
   dead) by moving their ``next_attempt_at`` a lease ahead, in one short transaction.
   On PostgreSQL the rows are read ``FOR UPDATE SKIP LOCKED``, so several relays split
   the work without waiting on each other; on SQLite the store's write transactions are
   ``BEGIN IMMEDIATE`` (one writer at a time). Either way each claim is a compare-and-set
   on ``next_attempt_at``, so two relays never both claim a row.
2. **Send** each claimed row through the channel's notifier, outside any transaction (a
   slow receiver holds no lock), and mark the sent rows delivered (one transaction for
   the batch, written before a failure is recorded and at the batch's end).
3. On **failure**, count the attempt and schedule the next one after an exponential
   backoff with jitter (``base * factor ** (n - 1)``, capped, of which a ``jitter``
   share is drawn at random from the relay's RNG, which tests seed); after
   ``max_attempts`` (or at once when the receiver's answer is permanent, e.g. HTTP 400)
   the row becomes a **dead letter**: ``dead_at`` and ``last_error`` set, kept for
   inspection, never deleted.

A relay that crashes between sending and marking leaves the rows claimed; when the lease
runs out they are due again and are resent with the **same idempotency key** (the
row's ``key``), so receivers can drop the duplicates. Nothing is lost.

Each channel is served by a thread of its own (:meth:`OutboxRelay.start`): a webhook
that hangs costs its own channel one timeout per attempt and holds up neither the other
channels nor the engine. Rows of a rate-limited channel beyond what its token bucket
allows are folded into one ``digest`` row (see :mod:`gridsight.orders.notify.ratelimit`):
the folded rows are marked delivered with ``last_error = "folded into <digest key>"``
and the digest row carries all of them, so nothing is dropped.

A channel's filters (villages, hazards, types) hold at delivery too: a row its channel
does not accept is marked done unsent (``last_error = "not sent: ..."``).

Delivery order is not guaranteed under retries; work-order notifications carry the
transition's ``seq`` for receivers that need order.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gridsight.core.config.notify import RateLimit, RetrySettings
from gridsight.orders.notify.base import DeliveryError, Notifier
from gridsight.orders.notify.channels import Channel
from gridsight.orders.notify.ratelimit import TokenBucket, digest_payload

log = logging.getLogger(__name__)

# Most rows folded into one digest (the rest wait for the next one).
MAX_DIGEST_ITEMS = 500
# How long last_error may get in the table.
MAX_ERROR_CHARS = 2000


def backoff_delay(attempt: int, retry: RetrySettings, rng: random.Random) -> float:
    """Seconds to wait after the ``attempt``-th failed send (1-based), jitter included.

    ``d = min(max_s, base_s * factor ** (attempt - 1))``; the result is drawn uniformly
    from ``[d * (1 - jitter), d]``, so relays that failed together do not retry together.
    """
    d = min(retry.max_s, retry.base_s * retry.factor ** max(0, attempt - 1))
    return d * (1.0 - retry.jitter * rng.random())


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    key: str
    kind: str
    payload: str
    attempts: int
    due: float  # next_attempt_at before the claim (restored on release)


class OutboxRelay:
    """Delivers outbox rows (see the module docstring).

    Args:
        engine: the store's SQLAlchemy engine.
        notifiers: ``{channel name: Notifier}``; rows of other channels are left alone.
        clock: epoch seconds (inject a fake for tests).
        rng: the jitter source (inject ``random.Random(seed)`` for reproducible tests).
        retry: retry settings, one for all or ``{channel: RetrySettings}``.
        limits: ``{channel: RateLimit}`` for rate-limited channels.
        filters: ``{channel: accepts(payload)}``; a row its channel does not accept (by
            village, hazard or type) is not sent: it is marked delivered with
            ``last_error = "not sent: ..."``. Whoever writes outbox rows may filter
            already; this makes a channel's filters hold whatever wrote the row.
        table: the outbox table (default ``gridsight.orders.tables.outbox``).
        batch: most rows claimed at once per channel.
        lease_s: how long a claim lasts before another relay may take the row; raised
            to cover ``batch`` sends of the slowest timeout.
        poll_s: how often the threads look for due rows when not woken.
        ack_url: base of acknowledge links: a payload with an ``ack_token`` is sent with
            ``ack_url = <base>?token=<token>`` added (the same on every resend).

    Example:
        >>> relay = OutboxRelay(store.engine, {"webhook-1": notifier})  # doctest: +SKIP
        >>> relay.run_once()    # deliver what is due now, in this thread
        3
        >>> relay.start(); ...; relay.stop()   # or in the background
    """

    def __init__(
        self,
        engine: Engine,
        notifiers: Mapping[str, Notifier],
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        retry: RetrySettings | Mapping[str, RetrySettings] | None = None,
        limits: Mapping[str, RateLimit] | None = None,
        filters: Mapping[str, Callable[[dict[str, Any]], bool]] | None = None,
        table: sa.Table | None = None,
        batch: int = 10,
        lease_s: float = 60.0,
        poll_s: float = 0.5,
        ack_url: str | None = None,
    ) -> None:
        if table is None:
            from gridsight.orders.tables import outbox

            table = outbox
        self.engine = engine
        self.table: sa.Table = table
        self.notifiers = dict(notifiers)
        self.clock = clock
        self.rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        default = retry if isinstance(retry, RetrySettings) else RetrySettings()
        per = dict(retry) if isinstance(retry, Mapping) else {}
        self.retry = {ch: per.get(ch, default) for ch in self.notifiers}
        self.filters = dict(filters or {})
        self.buckets = {
            ch: TokenBucket.from_limit(lim, clock=clock) for ch, lim in (limits or {}).items()
        }
        self.batch = max(1, batch)
        slowest = max((n.timeout_s for n in self.notifiers.values()), default=5.0)
        self.lease_s = max(lease_s, 2.0 * slowest * self.batch)
        self.poll_s = poll_s
        self.ack_url = ack_url
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self.stats: dict[str, Counter[str]] = {ch: Counter() for ch in self.notifiers}
        self.last_error: dict[str, str | None] = dict.fromkeys(self.notifiers)
        self._stop = threading.Event()
        self._wake: dict[str, threading.Event] = {ch: threading.Event() for ch in self.notifiers}
        self._threads: list[threading.Thread] = []

    @classmethod
    def for_channels(
        cls, engine: Engine, channels: Iterable[Channel], **kwargs: Any
    ) -> OutboxRelay:
        """A relay over built channels (their notifiers, retries and rate limits)."""
        chans = list(channels)
        return cls(
            engine,
            {c.name: c.notifier for c in chans},
            retry={c.name: c.retry for c in chans},
            limits={c.name: c.rate_limit for c in chans if c.rate_limit is not None},
            filters={c.name: c.accepts for c in chans if c.villages or c.hazards or c.types},
            **kwargs,
        )

    # -- one pass ------------------------------------------------------------------------

    def run_once(self, channel: str | None = None) -> int:
        """Deliver the rows due now (one batch per channel); return how many were delivered."""
        names = [channel] if channel is not None else list(self.notifiers)
        return sum(self._run_channel(name) for name in names)

    def _pending(self, channel: str, now: float) -> sa.ColumnElement[bool]:
        t = self.table.c
        return sa.and_(
            t.channel == channel,
            t.delivered_at.is_(None),
            t.dead_at.is_(None),
            t.next_attempt_at <= now,
        )

    def _run_channel(self, channel: str) -> int:
        notifier = self.notifiers[channel]
        bucket = self.buckets.get(channel)
        limit = self.batch
        if bucket is not None:
            tokens = bucket.available()
            if tokens < 1:
                return 0
            self._fold(channel, tokens, self.clock())
            limit = min(limit, tokens)
        rows = self._claim(channel, self.clock(), limit)
        with self._inflight_lock:
            self._inflight += len(rows)
        try:
            return self._send_claimed(channel, notifier, bucket, rows)
        finally:
            with self._inflight_lock:
                self._inflight -= len(rows)

    @property
    def inflight(self) -> int:
        """Rows claimed by this relay and not yet marked (being sent now)."""
        with self._inflight_lock:
            return self._inflight

    def _payload(self, row: _Row) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(row.payload)
        token = payload.get("ack_token")
        if self.ack_url and token and not payload.get("ack_url"):
            from gridsight.orders.notify.ack import ack_link

            payload["ack_url"] = ack_link(self.ack_url, str(token))
        return payload

    def _send_claimed(
        self, channel: str, notifier: Notifier, bucket: TokenBucket | None, rows: list[_Row]
    ) -> int:
        delivered = 0
        sent: list[tuple[_Row, float]] = []  # marked together: one transaction per batch
        skipped: list[_Row] = []
        accepts = self.filters.get(channel)
        try:
            for i, row in enumerate(rows):
                payload = self._payload(row)
                if accepts is not None and row.kind != "digest" and not accepts(payload):
                    skipped.append(row)
                    continue
                if bucket is not None and not bucket.take():
                    self._release(rows[i:])
                    break
                try:
                    notifier.send(payload, key=row.key)
                except Exception as exc:
                    permanent = isinstance(exc, DeliveryError) and exc.permanent
                    delivered += self._delivered(channel, sent)
                    sent = []
                    self._failed(channel, row, exc)
                    if not permanent:
                        # The destination is failing: leave the rest for the next pass
                        # instead of spending one timeout on each of them now.
                        self._release(rows[i + 1 :])
                        break
                else:
                    sent.append((row, self.clock()))
        finally:
            delivered += self._delivered(channel, sent)
            self._skip(channel, skipped)
        return delivered

    def _skip(self, channel: str, rows: list[_Row]) -> None:
        """Mark rows the channel's filters reject as done without sending them."""
        if not rows:
            return
        t = self.table.c
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(self.table)
                .where(t.id.in_([r.id for r in rows]), t.delivered_at.is_(None))
                .values(
                    delivered_at=self.clock(),
                    last_error=f"not sent: filtered out by channel {channel}'s filters",
                )
            )
        self.stats[channel]["filtered"] += len(rows)

    def _claim(self, channel: str, now: float, limit: int) -> list[_Row]:
        t = self.table.c
        query = (
            sa.select(t.id, t.key, t.kind, t.payload, t.attempts, t.next_attempt_at)
            .where(self._pending(channel, now))
            .order_by(t.next_attempt_at, t.id)
            .limit(limit)
        )
        if self.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        lease = now + self.lease_s
        with self.engine.begin() as conn:
            found = conn.execute(query).all()
            if not found:
                return []
            # Claim = move the lease ahead, only where the row is still due and open (a
            # compare-and-set: a row another relay claimed meanwhile is not due any more).
            still_open = sa.and_(
                t.next_attempt_at <= now, t.delivered_at.is_(None), t.dead_at.is_(None)
            )
            if self.engine.dialect.update_returning:
                got = set(
                    conn.execute(
                        sa.update(self.table)
                        .where(t.id.in_([r.id for r in found]), still_open)
                        .values(next_attempt_at=lease)
                        .returning(t.id)
                    ).scalars()
                )
            else:
                got = {
                    r.id
                    for r in found
                    if conn.execute(
                        sa.update(self.table)
                        .where(t.id == r.id, still_open)
                        .values(next_attempt_at=lease)
                    ).rowcount
                    == 1
                }
        return [
            _Row(r.id, r.key, r.kind, r.payload, r.attempts, r.next_attempt_at)
            for r in found
            if r.id in got
        ]

    def _release(self, rows: Iterable[_Row]) -> None:
        rows = list(rows)
        if not rows:
            return
        t = self.table.c
        with self.engine.begin() as conn:
            for row in rows:
                conn.execute(
                    sa.update(self.table)
                    .where(t.id == row.id, t.delivered_at.is_(None), t.dead_at.is_(None))
                    .values(next_attempt_at=row.due)
                )

    def _delivered(self, channel: str, sent: list[tuple[_Row, float]]) -> int:
        """Mark sent rows delivered (one transaction); return how many."""
        if not sent:
            return 0
        t = self.table.c
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(self.table)
                .where(t.id == sa.bindparam("b_id"), t.delivered_at.is_(None))
                .values(
                    delivered_at=sa.bindparam("b_at"), attempts=t.attempts + 1, last_error=None
                ),
                [{"b_id": row.id, "b_at": at} for row, at in sent],
            )
        self.stats[channel]["delivered"] += len(sent)
        self.last_error[channel] = None
        return len(sent)

    def _failed(self, channel: str, row: _Row, exc: BaseException) -> None:
        now = self.clock()
        attempt = row.attempts + 1
        retry = self.retry[channel]
        message = (str(exc) or type(exc).__name__)[:MAX_ERROR_CHARS]
        if not isinstance(exc, DeliveryError):
            message = f"{type(exc).__name__}: {message}"
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        values: dict[str, Any] = {"attempts": attempt, "last_error": message}
        if permanent or attempt >= retry.max_attempts:
            values["dead_at"] = now
            self.stats[channel]["dead"] += 1
            log.warning(
                "outbox %s: %s is a dead letter after %d attempt(s): %s",
                channel,
                row.key,
                attempt,
                message,
            )
        else:
            with self._rng_lock:
                delay = backoff_delay(attempt, retry, self.rng)
            if isinstance(exc, DeliveryError) and exc.retry_after_s is not None:
                delay = max(delay, min(exc.retry_after_s, retry.max_s))
            values["next_attempt_at"] = now + delay
            self.stats[channel]["failed"] += 1
        t = self.table.c
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(self.table)
                .where(t.id == row.id, t.delivered_at.is_(None), t.dead_at.is_(None))
                .values(**values)
            )
        self.last_error[channel] = message

    def _fold(self, channel: str, tokens: int, now: float) -> None:
        """Fold what exceeds ``tokens`` into one digest row (one transaction)."""
        t = self.table.c
        with self.engine.begin() as conn:
            n_digests = conn.execute(
                sa.select(sa.func.count())
                .select_from(self.table)
                .where(self._pending(channel, now), t.kind == "digest")
            ).scalar_one()
            query = (
                sa.select(t.id, t.key, t.topic, t.payload)
                .where(self._pending(channel, now), t.kind != "digest")
                .order_by(t.id)
                .limit(MAX_DIGEST_ITEMS + tokens)
            )
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            due = conn.execute(query).all()
            accepts = self.filters.get(channel)
            if accepts is not None:
                due = [r for r in due if accepts(json.loads(r.payload))]
            if n_digests + len(due) <= tokens:
                return
            keep = max(0, tokens - 1 - n_digests)
            fold = due[keep : keep + MAX_DIGEST_ITEMS]
            if len(fold) < 2:
                return
            self._insert_digest(conn, channel, fold, now)

    def _insert_digest(
        self, conn: Connection, channel: str, fold: Sequence[Any], now: float
    ) -> None:
        t = self.table.c
        payload = digest_payload(channel, [(r.key, json.loads(r.payload)) for r in fold], now=now)
        key = payload["idempotency_key"]
        topics = {r.topic for r in fold}
        conn.execute(
            sa.insert(self.table).values(
                key=key,
                channel=channel,
                topic=topics.pop() if len(topics) == 1 else "digest",
                kind="digest",
                order_id=None,
                payload=json.dumps(payload, ensure_ascii=False),
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )
        conn.execute(
            sa.update(self.table)
            .where(t.id.in_([r.id for r in fold]), t.delivered_at.is_(None))
            .values(delivered_at=now, last_error=f"folded into {key}")
        )
        self.stats[channel]["folded"] += len(fold)
        log.info("outbox %s: rate limit reached, %d rows folded into %s", channel, len(fold), key)

    # -- background threads ----------------------------------------------------------------

    def start(self) -> OutboxRelay:
        """Start one daemon thread per channel (idempotent)."""
        if self._threads:
            return self
        self._stop.clear()
        for channel in self.notifiers:
            th = threading.Thread(
                target=self._loop, args=(channel,), name=f"outbox-{channel}", daemon=True
            )
            th.start()
            self._threads.append(th)
        return self

    def wake(self, channel: str | None = None) -> None:
        """Look for due rows now (call after committing new outbox rows)."""
        for name, ev in self._wake.items():
            if channel is None or name == channel:
                ev.set()

    def _loop(self, channel: str) -> None:
        wake = self._wake[channel]
        pause = self.poll_s
        while not self._stop.is_set():
            wake.clear()
            try:
                n = self._run_channel(channel)
                pause = self.poll_s
            except Exception as exc:  # a database hiccup must not kill the thread
                n = 0
                self.last_error[channel] = f"{type(exc).__name__}: {exc}"
                self.stats[channel]["errors"] += 1
                log.warning("outbox %s: %s", channel, exc)
                pause = min(30.0, max(pause, self.poll_s) * 2)
            if n >= self.batch:
                continue  # more may be due
            wait = pause
            bucket = self.buckets.get(channel)
            if bucket is not None and bucket.available() < 1:
                wait = min(pause, max(bucket.wait_s(), 0.01))
            wake.wait(wait)

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop the threads, waiting for a send in progress (at most its timeout)."""
        self._stop.set()
        for ev in self._wake.values():
            ev.set()
        limit = (
            timeout_s
            if timeout_s is not None
            else max((n.timeout_s for n in self.notifiers.values()), default=5.0) + 2.0
        )
        for th in self._threads:
            th.join(limit)
        self._threads = [th for th in self._threads if th.is_alive()]

    def close(self) -> None:
        """Stop the threads and close the notifiers."""
        self.stop()
        for notifier in self.notifiers.values():
            notifier.close()

    def __enter__(self) -> OutboxRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inspection ----------------------------------------------------------------------

    def counts(self, channel: str | None = None) -> dict[str, int]:
        """``{"pending", "delivered", "dead"}`` row counts (of one channel or all)."""
        t = self.table.c
        where = [t.channel == channel] if channel is not None else []
        state = sa.case(
            (t.dead_at.is_not(None), "dead"),
            (t.delivered_at.is_not(None), "delivered"),
            else_="pending",
        )
        out = {"pending": 0, "delivered": 0, "dead": 0}
        with self.engine.connect() as conn:
            for name, n in conn.execute(
                sa.select(state, sa.func.count()).where(*where).group_by(state)
            ).all():
                out[str(name)] = int(n)
        return out

    def dead_letters(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The dead rows: key, channel, attempts, dead_at, last_error."""
        t = self.table.c
        query = (
            sa.select(t.key, t.channel, t.attempts, t.dead_at, t.last_error)
            .where(t.dead_at.is_not(None))
            .order_by(t.id)
        )
        if channel is not None:
            query = query.where(t.channel == channel)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]


def requeue_dead(
    engine: Engine,
    *,
    channel: str | None = None,
    keys: Iterable[str] = (),
    now: float | None = None,
    table: sa.Table | None = None,
) -> int:
    """Give dead letters another round of attempts (after the receiver was fixed).

    Args:
        engine: the store's engine.
        channel: only this channel's dead rows.
        keys: only these idempotency keys (empty: every dead row that matches ``channel``).
        now: when they are due again (default now).
        table: the outbox table (default ``gridsight.orders.tables.outbox``).

    Returns:
        How many rows were requeued (``attempts`` back to 0, ``dead_at`` cleared; the
        last error is kept until the next attempt overwrites it).
    """
    if table is None:
        from gridsight.orders.tables import outbox

        table = outbox
    t = table.c
    where: list[sa.ColumnElement[bool]] = [t.dead_at.is_not(None)]
    if channel is not None:
        where.append(t.channel == channel)
    wanted = list(keys)
    if wanted:
        where.append(t.key.in_(wanted))
    due = time.time() if now is None else now
    with engine.begin() as conn:
        res = conn.execute(
            sa.update(table).where(*where).values(dead_at=None, attempts=0, next_attempt_at=due)
        )
    return int(res.rowcount)
