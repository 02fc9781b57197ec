"""Aggregate cells get an ``etag``: a random token drawn on every write, so a reader can reuse
its decoding of a cell's statistics for as long as the row is unchanged.

The aggregates are derived data, rebuilt from the append-only responses at any time, so this
revision empties them (cells and watermarks) instead of inventing tokens for existing rows; the
next refresh rebuilds them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM aggregate_cell"))
    op.execute(sa.text("DELETE FROM aggregate_watermark"))
    with op.batch_alter_table("aggregate_cell") as batch:
        batch.add_column(sa.Column("etag", sa.BigInteger(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("aggregate_cell") as batch:
        batch.drop_column("etag")
