"""Fielding progress of a campaign: responses by segment and by day (UTC), and invitations
issued and used. Plain counts for the researcher running the campaign, who may export every row
anyway; statistics with a minimum cell size live in the reliability view and the insights."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from surveys.models import Invitation, Response

#: Most recent days with responses listed.
DAYS = 14


@dataclass(frozen=True)
class Fielding:
    total: int
    by_segment: tuple[tuple[str, int], ...]
    by_day: tuple[tuple[str, int], ...]  # newest first, at most ``DAYS``
    invitations: int
    invitations_used: int

    @property
    def busiest_day(self) -> int:
        return max((count for _, count in self.by_day), default=0)


def _day(session: Session) -> ColumnElement[str]:
    """``YYYY-MM-DD`` of ``submitted_at`` in UTC, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Response.submitted_at), "YYYY-MM-DD")
    return func.date(Response.submitted_at)  # SQLite keeps UTC times as ISO text


def fielding(session: Session, campaign_id: int) -> Fielding:
    mine = Response.campaign_id == campaign_id
    by_segment = session.execute(
        select(Response.segment, func.count())
        .where(mine)
        .group_by(Response.segment)
        .order_by(Response.segment)
    ).all()
    day = _day(session).label("day")
    by_day = session.execute(
        select(day, func.count()).where(mine).group_by(day).order_by(day.desc()).limit(DAYS)
    ).all()
    issued, used = session.execute(
        select(func.count(), func.count(Invitation.used_at)).where(
            Invitation.campaign_id == campaign_id
        )
    ).one()
    return Fielding(
        total=sum(int(count) for _, count in by_segment),
        by_segment=tuple((str(segment), int(count)) for segment, count in by_segment),
        by_day=tuple((str(day_), int(count)) for day_, count in by_day),
        invitations=int(issued),
        invitations_used=int(used),
    )
