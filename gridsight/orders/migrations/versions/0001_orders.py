"""Work orders: events, work_orders, transitions, outbox, workers_live.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Written out by hand (not generated from ``tables.py`` at run time) so that a later change
to the tables needs a new revision; ``tests/orders/test_migrations.py`` checks that the
migrated schema matches ``gridsight.orders.tables``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the five tables of the work-order loop."""
    op.create_table(
        "events",
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
        sa.Column("order_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_events_started_at", "events", ["started_at"])
    op.create_index("ix_events_camera_hazard", "events", ["camera", "hazard"])
    op.create_index("ix_events_order_id", "events", ["order_id"])

    op.create_table(
        "work_orders",
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
        sa.Column("open_key", sa.String(160), nullable=True),
        sa.Column("ack_due_at", sa.Double, nullable=True),
        sa.Column("escalations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("supervisor", sa.String(64), nullable=True),
        sa.Column("hazard_active", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("open_key", name="uq_work_orders_open_key"),
        sa.UniqueConstraint("event_id", name="uq_work_orders_event_id"),
    )
    op.create_index("ix_work_orders_state", "work_orders", ["state"])
    op.create_index("ix_work_orders_created_at", "work_orders", ["created_at", "id"])
    op.create_index("ix_work_orders_camera_kind", "work_orders", ["camera", "kind"])
    op.create_index("ix_work_orders_assignee", "work_orders", ["assignee"])

    op.create_table(
        "transitions",
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
    )
    op.create_index("ix_transitions_at", "transitions", ["at"])

    op.create_table(
        "outbox",
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
    )
    op.create_index("ix_outbox_pending", "outbox", ["delivered_at", "dead_at", "next_attempt_at"])

    op.create_table(
        "workers_live",
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("x_km", sa.Double, nullable=False),
        sa.Column("y_km", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    """Drop the five tables."""
    for name in ("workers_live", "outbox", "transitions", "work_orders", "events"):
        op.drop_table(name)
