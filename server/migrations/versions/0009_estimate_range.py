"""ticket.estimate_raw_s and ix_ticket_called: the record the wait range learns from

Revision ID: 0009
Revises: 0003
Create Date: 2026-12-01 12:40:00

The promise given at issue is now a range and a point calibrated from the estimate's
own record (server/queue/wait_range.py). The record needs the played-forward (raw)
estimate of each ticket next to its wait, and is read newest call first, so an index
over (branch, called_at). Nullable and additive.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ticket", sa.Column("estimate_raw_s", sa.Integer(), nullable=True))
    op.create_index("ix_ticket_called", "ticket", ["branch", "called_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_called", table_name="ticket")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("estimate_raw_s")
