"""Cluster fencing: the deliveries and camera_epochs tables.

Revision ID: 0003_i16
Revises: 0002
Create Date: 2026-12-06

Owned by the cluster (``gridsight.live.cluster``); the tables are defined in the marked
block at the end of ``gridsight/orders/tables.py`` and used by
``gridsight/orders/fencing.py``. Written out by hand, like 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_i16"
down_revision: str | None = "0003_i20"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the deliveries and camera_epochs tables."""
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("camera", sa.String(64), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("node", sa.String(64), nullable=True),
        sa.Column("at", sa.Double, nullable=False),
    )
    op.create_index("ix_deliveries_camera", "deliveries", ["camera"])
    op.create_table(
        "camera_epochs",
        sa.Column("camera", sa.String(64), primary_key=True),
        sa.Column("epoch", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the cluster fencing tables."""
    op.drop_table("camera_epochs")
    op.drop_index("ix_deliveries_camera", table_name="deliveries")
    op.drop_table("deliveries")
