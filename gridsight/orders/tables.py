"""The work-order store's tables (SQLAlchemy 2 Core): one ``metadata`` for every table.

The same definitions run on SQLite (the embedded default) and PostgreSQL. Times are
epoch seconds as double-precision floats (``started_ts`` is stream time); JSON values are
stored as text so both databases read them the same way. The Alembic migrations under
``gridsight/orders/migrations/versions`` create exactly these tables; a test compares the
migrated schema with this module, so a change here without a migration fails.

Tables (the contract in the work-order notes; columns beyond it are marked *ext*):

* ``events``: one row per hazard event (keyed by the id of its ``start``), its latest
  phase and, *ext*, the ``order_id`` it opened or attached to.
* ``work_orders``: the orders. ``version`` is the optimistic-concurrency counter (also
  the ``seq`` of the order's latest transition). *ext*: ``open_key`` is
  ``"<camera>:<hazard>"`` while a camera order is open and NULL otherwise; its UNIQUE
  constraint is what lets several engine processes attach repeats to one open order
  instead of opening two. ``ack_due_at`` is the acknowledgement deadline of the current
  notification, ``escalations`` counts escalations, ``supervisor`` the person told of a
  breach, ``hazard_active`` whether the camera still sees the hazard.
* ``transitions``: the append-only audit trail; ``(order_id, seq)`` is unique.
* ``outbox``: notifications written in the same transaction as the change they report.
* ``workers_live``: last known position of each worker (the roster is the config).
* ``store_clock``: the clock of the run that last wrote the store (one row).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("camera", sa.String(64), nullable=False),
    sa.Column("hazard", sa.String(64), nullable=False),
    sa.Column("village", sa.String(64), nullable=False),
    sa.Column("grid", sa.String(64), nullable=False),
    sa.Column("started_ts", sa.Double, nullable=False),
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("last_phase", sa.String(8), nullable=False),
    sa.Column("last_at", sa.Double, nullable=False),
    sa.Column("ended_at", sa.Double, nullable=True),
    sa.Column("confidence", sa.Double, nullable=False),
    sa.Column("boxes", sa.Text, nullable=False, server_default="[]"),
    sa.Column("track_ids", sa.Text, nullable=False, server_default="[]"),
    sa.Column("snapshot", sa.String(512), nullable=True),
    sa.Column("extra", sa.Text, nullable=False, server_default="{}"),
    sa.Column("order_id", sa.String(64), nullable=True),  # ext
    sa.Column("clip", sa.String(512), nullable=True),  # 0003_i19: the evidence clip
    sa.Index("ix_events_started_at", "started_at"),
    sa.Index("ix_events_camera_hazard", "camera", "hazard"),
    sa.Index("ix_events_order_id", "order_id"),
)

work_orders = sa.Table(
    "work_orders",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("camera", sa.String(64), nullable=True),
    sa.Column("event_id", sa.String(128), nullable=True),
    sa.Column("village", sa.String(64), nullable=False),
    sa.Column("grid", sa.String(64), nullable=False),
    sa.Column("x_km", sa.Double, nullable=True),
    sa.Column("y_km", sa.Double, nullable=True),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("tier", sa.Integer, nullable=False, server_default="0"),
    sa.Column("assignee", sa.String(64), nullable=True),
    sa.Column("tried", sa.Text, nullable=False, server_default="[]"),
    sa.Column("title", sa.String(200), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("dispatched_at", sa.Double, nullable=True),
    sa.Column("acknowledged_at", sa.Double, nullable=True),
    sa.Column("on_site_at", sa.Double, nullable=True),
    sa.Column("resolved_at", sa.Double, nullable=True),
    sa.Column("closed_at", sa.Double, nullable=True),
    sa.Column("dispatch_due_at", sa.Double, nullable=False),
    sa.Column("close_due_at", sa.Double, nullable=False),
    sa.Column("sla_dispatch", sa.String(8), nullable=False, server_default="ongoing"),
    sa.Column("sla_close", sa.String(8), nullable=False, server_default="ongoing"),
    sa.Column("cleared_at", sa.Double, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("open_key", sa.String(160), nullable=True),  # ext
    sa.Column("ack_due_at", sa.Double, nullable=True),  # ext
    sa.Column("escalations", sa.Integer, nullable=False, server_default="0"),  # ext
    sa.Column("supervisor", sa.String(64), nullable=True),  # ext
    sa.Column("hazard_active", sa.Boolean, nullable=False, server_default=sa.false()),  # ext
    sa.UniqueConstraint("open_key", name="uq_work_orders_open_key"),
    sa.UniqueConstraint("event_id", name="uq_work_orders_event_id"),
    sa.Index("ix_work_orders_state", "state"),
    sa.Index("ix_work_orders_created_at", "created_at", "id"),
    sa.Index("ix_work_orders_camera_kind", "camera", "kind"),
    sa.Index("ix_work_orders_assignee", "assignee"),
)

transitions = sa.Table(
    "transitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "order_id",
        sa.String(64),
        sa.ForeignKey("work_orders.id", name="fk_transitions_order_id"),
        nullable=False,
    ),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("from_state", sa.String(16), nullable=True),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("actor_role", sa.String(16), nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("photo", sa.String(512), nullable=True),
    sa.Column("data", sa.Text, nullable=True),
    sa.UniqueConstraint("order_id", "seq", name="uq_transitions_order_seq"),
    sa.Index("ix_transitions_at", "at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("topic", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("delivered_at", sa.Double, nullable=True),
    sa.Column("dead_at", sa.Double, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.UniqueConstraint("key", name="uq_outbox_key"),
    sa.Index("ix_outbox_pending", "delivered_at", "dead_at", "next_attempt_at"),
)

workers_live = sa.Table(
    "workers_live",
    metadata,
    sa.Column("worker_id", sa.String(64), primary_key=True),
    sa.Column("x_km", sa.Double, nullable=False),
    sa.Column("y_km", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

# The clock of the run that last wrote the store (revision 0003, see
# :mod:`gridsight.orders.store_clock`): one row, ``kind`` ``stream`` (the events' time:
# files, the synthetic world, ``--fast``) or ``wall`` (the machine's), the run's latest
# ``stream_time`` (epoch s, NULL on the wall clock) and when it was recorded (``recorded_at``,
# machine epoch s). Readers of a stream-clock store read its orders on that time.
store_clock = sa.Table(
    "store_clock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("stream_time", sa.Double, nullable=True),
    sa.Column("recorded_at", sa.Double, nullable=False),
)

# -- API tables (revision 0002, owned by the API helper) go below this line. -------------

# Accounts of the REST service (revision 0002). ``users``: people and automation that log
# in; ``role`` is viewer | operator | admin | worker (a worker account is tied to a roster
# ``worker_id`` and sees and moves only its own orders); ``password_hash`` is scrypt (NULL
# for token-only accounts). ``api_tokens``: bearer tokens, stored only as their SHA-256
# hex digest; ``revoked_at`` set = no longer accepted.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("worker_id", sa.String(64), nullable=True),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("name", name="uq_users_name"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", name="fk_api_tokens_user_id"),
        nullable=False,
    ),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("label", sa.String(128), nullable=False, server_default=""),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Column("last_used_at", sa.Double, nullable=True),
    sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    sa.Index("ix_api_tokens_user_id", "user_id"),
)

# Browser sessions (revision 0003_i17): the cookie holds a random token, the table only
# its SHA-256 digest; logout, a password change and disabling the user set ``revoked_at``,
# so a cookie captured earlier stops working at once.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", name="fk_sessions_user_id"),
        nullable=False,
    ),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    sa.Index("ix_sessions_user_id", "user_id"),
)

# -- Cluster fencing tables (revision 0003_i16, owned by gridsight.live.cluster). ----------

# Events that came through the cluster's JetStream stream (see gridsight/orders/fencing.py).
# ``deliveries``: one row per delivered message id (``<event id>/<phase>/<ts ms>``), with
# the ``(camera, epoch)`` it carried and whether it was ``accepted`` or refused as
# ``stale``; the primary key is what makes a redelivered message change nothing.
# ``camera_epochs``: the newest epoch (fencing token: the revision of the camera's owner
# key in the cluster's KV) seen for each camera.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("camera", sa.String(64), nullable=False),
    sa.Column("epoch", sa.BigInteger, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("node", sa.String(64), nullable=True),
    sa.Column("at", sa.Double, nullable=False),
    sa.Index("ix_deliveries_camera", "camera"),
)

camera_epochs = sa.Table(
    "camera_epochs",
    metadata,
    sa.Column("camera", sa.String(64), primary_key=True),
    sa.Column("epoch", sa.BigInteger, nullable=False),
)
