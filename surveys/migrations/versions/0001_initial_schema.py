"""Initial schema: every table of surveys.models as of the first release.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 01:33:03.675743
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_channel")),
    )
    op.create_table(
        "instrument_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instrument_version")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_instrument_version_key_version")),
    )
    op.create_index(op.f("ix_instrument_version_key"), "instrument_version", ["key"], unique=False)
    op.create_table(
        "segment",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_segment")),
    )
    op.create_table(
        "stage",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stage")),
    )
    op.create_table(
        "target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("instrument_key", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target")),
        sa.UniqueConstraint("key", name=op.f("uq_target_key")),
    )
    op.create_index(op.f("ix_target_instrument_key"), "target", ["instrument_key"], unique=False)
    op.create_table(
        "aggregate_watermark",
        sa.Column("instrument_version_id", sa.Integer(), nullable=False),
        sa.Column("last_response_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_version_id"],
            ["instrument_version.id"],
            name=op.f("fk_aggregate_watermark_instrument_version_id_instrument_version"),
        ),
        sa.PrimaryKeyConstraint("instrument_version_id", name=op.f("pk_aggregate_watermark")),
    )
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("segment", sa.String(length=40), nullable=True),
        sa.Column("access", sa.String(length=16), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel"], ["channel.key"], name=op.f("fk_campaign_channel_channel")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instrument_version.id"],
            name=op.f("fk_campaign_instrument_id_instrument_version"),
        ),
        sa.ForeignKeyConstraint(
            ["segment"], ["segment.key"], name=op.f("fk_campaign_segment_segment")
        ),
        sa.ForeignKeyConstraint(["stage"], ["stage.key"], name=op.f("fk_campaign_stage_stage")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("key", name=op.f("uq_campaign_key")),
    )
    op.create_index(op.f("ix_campaign_instrument_id"), "campaign", ["instrument_id"], unique=False)
    op.create_table(
        "aggregate_cell",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_version_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_aggregate_cell_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_version_id"],
            ["instrument_version.id"],
            name=op.f("fk_aggregate_cell_instrument_version_id_instrument_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregate_cell")),
        sa.UniqueConstraint(
            "instrument_version_id",
            "campaign_id",
            "segment",
            "stage",
            "channel",
            "period",
            name="uq_aggregate_cell_key",
        ),
    )
    op.create_index(
        op.f("ix_aggregate_cell_campaign_id"), "aggregate_cell", ["campaign_id"], unique=False
    )
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=40), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_invitation_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["segment"], ["segment.key"], name=op.f("fk_invitation_segment_segment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    op.create_index(op.f("ix_invitation_campaign_id"), "invitation", ["campaign_id"], unique=False)
    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_response_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instrument_version.id"],
            name=op.f("fk_response_instrument_id_instrument_version"),
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"], ["invitation.id"], name=op.f("fk_response_invitation_id_invitation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_response_idempotency_key")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_response_invitation_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_response_uid")),
    )
    op.create_index(op.f("ix_response_campaign_id"), "response", ["campaign_id"], unique=False)
    op.create_index(
        "ix_response_scope", "response", ["instrument_id", "submitted_at"], unique=False
    )
    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("expectation", sa.SmallInteger(), nullable=True),
        sa.Column("perception", sa.SmallInteger(), nullable=True),
        sa.Column("importance", sa.SmallInteger(), nullable=True),
        sa.Column("value", sa.SmallInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("na_mask", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_answer_response_id_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer")),
    )
    op.create_index("ix_answer_response_item", "answer", ["response_id", "item"], unique=True)


def downgrade() -> None:
    op.drop_table("answer")
    op.drop_table("response")
    op.drop_table("invitation")
    op.drop_table("aggregate_cell")
    op.drop_table("campaign")
    op.drop_table("aggregate_watermark")
    op.drop_table("target")
    op.drop_table("stage")
    op.drop_table("segment")
    op.drop_table("instrument_version")
    op.drop_table("channel")
