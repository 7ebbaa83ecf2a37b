"""ix_ticket_sent: the tickets transferred to one counter, without walking the line

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-01 15:50:00

Call-next reads the heads of each (service, class) group from ix_ticket_line, and the
tickets sent to its counter. Those had no index of their own: the search stopped at
(branch, status, business_day) and walked every waiting ticket of the day (5,000 in
bench/bench_core.py). A partial index over the few transferred tickets answers it
directly; both SQLite and Postgres use it for `target_counter = :counter`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENT = sa.text("target_counter IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_ticket_sent",
        "ticket",
        ["branch", "target_counter", "status", "business_day"],
        unique=False,
        sqlite_where=SENT,
        postgresql_where=SENT,
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_sent", table_name="ticket")
