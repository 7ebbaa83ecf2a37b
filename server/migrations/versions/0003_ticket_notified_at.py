"""ticket.notified_at: when the branch webhook was sent for the ticket

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 05:40:00

The webhook ("N people before you") used to remember the tickets it had sent in
process memory only, so a restart, or another process behind the Redis hub, could
send the same customer a second SMS. The column is claimed with a conditional
UPDATE (... WHERE notified_at IS NULL) before sending, so exactly one process sends.
Nullable and additive: old processes keep working during a rolling restart.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "ticket",
        sa.Column("notified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("notified_at")
