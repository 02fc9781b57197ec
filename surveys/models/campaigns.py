"""Campaigns (one fielding of one instrument version) and their one-time invitations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.clock import as_utc, utcnow
from surveys.db import Base
from surveys.models.instruments import InstrumentVersion


class Access(StrEnum):
    OPEN = "open"  # anyone with the link /s/<key>
    INVITATION = "invitation"  # only /i/<token>


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instrument_version.id"), index=True)
    stage: Mapped[str] = mapped_column(ForeignKey("stage.key"))
    channel: Mapped[str] = mapped_column(ForeignKey("channel.key"))
    #: Segment of every respondent of an open-link campaign, unless a classification item says.
    segment: Mapped[str | None] = mapped_column(ForeignKey("segment.key"))
    access: Mapped[Access] = mapped_column(String(16), default=Access.OPEN)
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    instrument: Mapped[InstrumentVersion] = relationship(lazy="joined")

    def state(self, now: datetime | None = None) -> str:
        """``open``, ``not_open_yet`` or ``closed`` at ``now``."""
        return window_state(self.opens_at, self.closes_at, now)


def window_state(opens_at: datetime, closes_at: datetime | None, now: datetime | None) -> str:
    """``open``, ``not_open_yet`` or ``closed`` at ``now`` (default: now) for a campaign open
    from ``opens_at`` until ``closes_at``."""
    now = as_utc(now or utcnow())
    if now < as_utc(opens_at):
        return "not_open_yet"
    if closes_at is not None and now >= as_utc(closes_at):
        return "closed"
    return "open"


class Invitation(Base):
    """A personal link. Only the SHA-256 of the token is stored; the token is shown once."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    segment: Mapped[str] = mapped_column(ForeignKey("segment.key"))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    campaign: Mapped[Campaign] = relationship()
