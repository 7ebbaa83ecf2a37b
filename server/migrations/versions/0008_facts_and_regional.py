"""ticket facts, sealed days, and the regional role

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-01 12:40:00

ticket_fact holds one row per ticket folded from its events and fact_day one row per
sealed (branch, day) with the day's counts: reports over months and the overview of
hundreds of branches read these instead of folding the whole event log
(server/stats/facts.py). Both are derived: `lobbyq rebuild-facts` rewrites them from
the log. user.branches names the branches a `regional` user oversees; the role enum
of Postgres gets the value (SQLite stores the name as text).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'regional'")
    op.add_column("user", sa.Column("branches", sa.JSON(), nullable=True))
    op.create_table(
        "ticket_fact",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("issued_at", UTC_DATETIME(), nullable=False),
        sa.Column("enqueued_at", UTC_DATETIME(), nullable=False),
        sa.Column("issue_service", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=32), nullable=False),
        sa.Column("estimated_wait_s", sa.Integer(), nullable=True),
        sa.Column("first_call_at", UTC_DATETIME(), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("counter", sa.String(length=32), nullable=True),
        sa.Column("teller", sa.String(length=32), nullable=True),
        sa.Column("service_s", sa.Float(), nullable=True),
        sa.Column("transferred", sa.Boolean(), nullable=False),
        sa.Column("transfer_wait_s", sa.Float(), nullable=True),
        sa.Column("recalls", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_ticket_fact_issued", "ticket_fact", ["branch", "issued_at"])
    op.create_table(
        "fact_day",
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sealed_at", UTC_DATETIME(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("no_show", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("called", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("branch", "day"),
    )


def downgrade() -> None:
    op.drop_table("fact_day")
    op.drop_index("ix_ticket_fact_issued", table_name="ticket_fact")
    op.drop_table("ticket_fact")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("branches")
