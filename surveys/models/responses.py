"""Responses and their answers: the append-only source of truth."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.clock import utcnow
from surveys.db import Base


class Source(StrEnum):
    WEB = "web"
    API = "api"
    IMPORT = "import"
    DEMO = "demo"


class Response(Base):
    """One submission. Holds nothing identifying: no IP address, no user agent."""

    __tablename__ = "response"
    __table_args__ = (Index("ix_response_scope", "instrument_id", "submitted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public, random identifier (the CSV's ``response_id``); unique, not ordered by time.
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instrument_version.id"))
    segment: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(40))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    duration_seconds: Mapped[int | None]
    language: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[Source] = mapped_column(String(16))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: SHA-256 of the submitted payload, to tell a retry from a reused key.
    payload_hash: Mapped[str | None] = mapped_column(String(64))

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="Answer.id"
    )


class NA:
    """Bits of ``Answer.na_mask``: which measures were answered "not applicable"."""

    EXPECTATION = 1
    PERCEPTION = 2
    IMPORTANCE = 4
    VALUE = 8


class Answer(Base):
    """One row per (response, item); an importance allocation row has the dimension's key as
    ``item`` and the points in ``importance``. Empty columns are unanswered; ``na_mask`` marks
    the not-applicable ones (both missing for analysis)."""

    __tablename__ = "answer"
    __table_args__ = (Index("ix_answer_response_item", "response_id", "item", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(64))
    expectation: Mapped[int | None] = mapped_column(SmallInteger)
    perception: Mapped[int | None] = mapped_column(SmallInteger)
    importance: Mapped[int | None] = mapped_column(SmallInteger)
    value: Mapped[int | None] = mapped_column(SmallInteger)
    text: Mapped[str | None] = mapped_column(Text)
    na_mask: Mapped[int] = mapped_column(SmallInteger, default=0)

    response: Mapped[Response] = relationship(back_populates="answers")
