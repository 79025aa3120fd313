"""The clock of the run that wrote the store: store_clock.

Revision ID: 0003_i20
Revises: 0002
Create Date: 2026-12-06

One row saying whether the run that last wrote the store ran on the streams' clock or
the machine's, and its latest stream time (``gridsight.orders.store_clock``). Written out
by hand, like 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_i20"
down_revision: str | None = "0003_i17"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the store_clock table."""
    op.create_table(
        "store_clock",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("stream_time", sa.Double, nullable=True),
        sa.Column("recorded_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    """Drop the store_clock table."""
    op.drop_table("store_clock")
