"""Derived per-cell sufficient statistics: the aggregate table and its watermark.

Responses and answers are append-only and the source of truth; these rows are derived from them
and can be rebuilt at any time (``analysis.store.rebuild_aggregates``). A *cell* is one
instrument version × campaign × segment × stage × channel × calendar month (UTC) of
``submitted_at``; its ``stats`` blob is the JSON form of the statistics engine's mergeable
accumulator (``analysis.sufficient.CellStats``), so an assessment reads O(cells), not O(answers).

The watermark of an instrument version is the highest ``response.id`` folded into its cells.
Because responses are only ever appended, bringing the cells up to date means folding in the
responses with ``id > last_response_id`` and moving the watermark, in one write transaction
(``analysis.store.refresh_aggregates`` explains how that stays correct under concurrent writers).

Erasure (a later feature: a respondent's right to be forgotten) is the one exception to
append-only. An accumulator cannot subtract a response exactly in every statistic, so the erase
service, in the transaction that deletes the response, sets ``stale`` on the response's cell
(the key is the response's own columns). The next refresh recomputes every stale cell from the
remaining raw rows of that key before it folds in new responses; until then a reader that finds
a stale cell refreshes first, so no assessment ever reads an erased answer.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from surveys.clock import utcnow
from surveys.db import Base

#: Length of a period key (``YYYY-MM``).
PERIOD_LENGTH = 7


def new_etag() -> int:
    """A fresh random 63-bit token (fits a signed BIGINT)."""
    return secrets.randbits(63)


class AggregateCell(Base):
    """Sufficient statistics of the responses of one cell; ``n`` is its respondent count."""

    __tablename__ = "aggregate_cell"
    # Named explicitly: the conventional name is longer than PostgreSQL's 63 characters.
    __table_args__ = (
        UniqueConstraint(
            "instrument_version_id",
            "campaign_id",
            "segment",
            "stage",
            "channel",
            "period",
            name="uq_aggregate_cell_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_version.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    segment: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(40))
    #: Calendar month of ``submitted_at`` in UTC, ``YYYY-MM``.
    period: Mapped[str] = mapped_column(String(PERIOD_LENGTH))
    n: Mapped[int]
    stats: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Set when a response of this cell was erased; the next refresh recomputes the cell.
    stale: Mapped[bool] = mapped_column(default=False)
    #: A random token drawn anew on every write, so a reader may reuse its decoding of
    #: ``stats`` exactly as long as the row is unchanged (ids alone may be reused on SQLite).
    etag: Mapped[int] = mapped_column(BigInteger, default=new_etag)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AggregateWatermark(Base):
    """The last ``response.id`` folded into an instrument version's cells."""

    __tablename__ = "aggregate_watermark"

    instrument_version_id: Mapped[int] = mapped_column(
        ForeignKey("instrument_version.id"), primary_key=True
    )
    last_response_id: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
