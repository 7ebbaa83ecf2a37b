"""The hall's other devices: customer ratings, staff identity, TV boards and slides,
device links

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-01 12:40:00

Ratings now come from the customer (the rating pad, the phone) and count once per
ticket: `ticket.rated_at` is claimed by a conditional UPDATE (... WHERE rated_at IS
NULL), so two pads or a pad and a phone cannot both count. A teller's figure from the
v1 `complete {rating}` goes to `teller_rating` and is never counted. Users get a staff
number and a photo; the TVs' boards and slides get tables; `device_link` says when
each device was last connected. All additive: old processes keep working.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Role is a native enum on Postgres; SQLite stores the name as text.
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'lobby'")
    op.add_column("ticket", sa.Column("rating_reasons", sa.JSON(), nullable=True))
    op.add_column("ticket", sa.Column("rated_at", _TIME(), nullable=True))
    op.add_column("ticket", sa.Column("teller_rating", sa.Integer(), nullable=True))
    op.add_column(
        "user", sa.Column("staff_no", sa.String(), nullable=False, server_default="")
    )
    op.add_column("user", sa.Column("photo", sa.String(), nullable=False, server_default=""))
    op.create_table(
        "board",
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=True),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("branch", "name"),
    )
    op.create_table(
        "slide",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("file", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_slide_branch", "slide", ["branch"])
    op.create_table(
        "devicelink",
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("device", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("connected_at", _TIME(), nullable=True),
        sa.Column("disconnected_at", _TIME(), nullable=True),
        sa.PrimaryKeyConstraint("branch", "device"),
    )


def downgrade() -> None:
    op.drop_table("devicelink")
    op.drop_index("ix_slide_branch", table_name="slide")
    op.drop_table("slide")
    op.drop_table("board")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("photo")
        batch.drop_column("staff_no")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("teller_rating")
        batch.drop_column("rated_at")
        batch.drop_column("rating_reasons")
