"""user.token_version: ends a user's tokens at once, in every process

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:40:00

A staff token carries the user's token_version at issue; every request compares it
with the users table (one indexed lookup by username), so raising the number on
logout, a new password or role, or disabling the user refuses every older token in
every process at once, whatever the hub. Additive with a server default: old rows
start at 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user",
        sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("token_version")
