"""indexes for the hot paths: the line of one service, and recent service times

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:00:00

ix_ticket_line (branch, status, business_day, service, priority, enqueued_at, number,
target_counter) replaces ix_ticket_waiting (its first three columns): call-next reads
the first tickets of each (service, class) group from it, and issuing counts the people
ahead of a new ticket from the index alone. ix_ticket_finished serves the rolling mean
service time (the latest completed tickets of a service).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ticket_line",
        "ticket",
        [
            "branch",
            "status",
            "business_day",
            "service",
            "priority",
            "enqueued_at",
            "number",
            "target_counter",
        ],
        unique=False,
    )
    op.drop_index("ix_ticket_waiting", table_name="ticket")
    op.create_index(
        "ix_ticket_finished", "ticket", ["branch", "service", "status", "finished_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_finished", table_name="ticket")
    op.create_index(
        "ix_ticket_waiting", "ticket", ["branch", "status", "business_day"], unique=False
    )
    op.drop_index("ix_ticket_line", table_name="ticket")
