"""The evidence clip of an event: events.clip.

Revision ID: 0003_i19
Revises: 0003_i16
Create Date: 2026-12-06

``gridsight run --clips DIR`` writes an H.264 clip around each event start and the event
carries its path (``HazardEvent.clip``); the store keeps it next to the snapshot, so the
work order and its notifications can link it. Written out by hand, like 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_i19"
down_revision: str | None = "0003_i16"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the nullable events.clip column."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("clip", sa.String(512), nullable=True))


def downgrade() -> None:
    """Drop events.clip."""
    with op.batch_alter_table("events") as batch:
        batch.drop_column("clip")
