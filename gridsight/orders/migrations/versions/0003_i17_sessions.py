"""Server-side browser sessions.

Revision ID: 0003_i17
Revises: 0002
Create Date: 2026-12-06

Owned by the REST API (``gridsight.api.accounts``); the table is defined at the end of
``gridsight/orders/tables.py``. A session cookie is a random token whose SHA-256 digest
is stored here, so logout, a password change or disabling the user revoke it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_i17"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the sessions table."""
    op.create_table(
        "sessions",
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
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])


def downgrade() -> None:
    """Drop the sessions table."""
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
