"""Campaigns: one fielding of one instrument version for a stage and channel, open between two
times, by open link or by invitation only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from surveys.clock import as_utc, utcnow
from surveys.driver_sql import driver_statement
from surveys.errors import NotFoundError, SurveysError
from surveys.models import Access, Campaign, InstrumentVersion
from surveys.models.campaigns import window_state
from surveys.taxonomy import check_key, get_term

KEY_LENGTH = 64
NAME_LENGTH = 200


class CampaignError(SurveysError):
    """A campaign that cannot be created or changed as asked."""


def create_campaign(
    session: Session,
    *,
    key: str,
    name: str,
    instrument_row: InstrumentVersion,
    stage: str,
    channel: str,
    segment: str | None = None,
    access: Access | str = Access.OPEN,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Campaign:
    """A new campaign of ``instrument_row``; open from ``opens_at`` (default now) until
    ``closes_at`` (default never). Stage, channel and segment must be terms of the taxonomy."""
    check_key(key, "campaign key", KEY_LENGTH)
    if get_campaign(session, key) is not None:
        raise CampaignError(f"a campaign with key {key!r} exists already")
    cleaned = " ".join(str(name).split())
    if not cleaned or len(cleaned) > NAME_LENGTH:
        raise CampaignError(f"campaign {key!r}: give a name of 1 to {NAME_LENGTH} characters")
    get_term(session, "stage", stage)
    get_term(session, "channel", channel)
    if segment is not None:
        get_term(session, "segment", segment)
    try:
        access = Access(access)
    except ValueError:
        choices = ", ".join(member.value for member in Access)
        raise CampaignError(f"campaign {key!r}: access must be one of {choices}") from None
    opens, closes = _window(key, opens_at or utcnow(), closes_at)
    campaign = Campaign(
        key=key,
        name=cleaned,
        instrument_id=instrument_row.id,
        instrument=instrument_row,
        stage=stage,
        channel=channel,
        segment=segment,
        access=access,
        opens_at=opens,
        closes_at=closes,
    )
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, key: str) -> Campaign | None:
    """The campaign ``key`` (the survey pages and intake read ``campaign_facts`` instead)."""
    return session.scalar(select(Campaign).where(Campaign.key == key))


def campaign_or_error(session: Session, key: str) -> Campaign:
    campaign = get_campaign(session, key)
    if campaign is None:
        raise NotFoundError(f"no campaign {str(key)[:80]!r}")
    return campaign


@dataclass(frozen=True, slots=True)
class CampaignFacts:
    """What the survey pages and intake need of a campaign, as plain values: read with one
    Core query (``campaign_facts``), so it can be kept between requests and sessions."""

    id: int
    key: str
    instrument_id: int
    content_hash: str
    stage: str
    channel: str
    segment: str | None
    access: Access
    opens_at: datetime
    closes_at: datetime | None

    def state(self, now: datetime | None = None) -> str:
        """``open``, ``not_open_yet`` or ``closed`` at ``now`` (``Campaign.state``)."""
        return window_state(self.opens_at, self.closes_at, now)

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignFacts:
        return cls(
            campaign.id,
            campaign.key,
            campaign.instrument_id,
            campaign.instrument.content_hash,
            campaign.stage,
            campaign.channel,
            campaign.segment,
            Access(campaign.access),
            campaign.opens_at,
            campaign.closes_at,
        )


_FACTS = (
    select(
        Campaign.id,
        Campaign.key,
        Campaign.instrument_id,
        InstrumentVersion.content_hash,
        Campaign.stage,
        Campaign.channel,
        Campaign.segment,
        Campaign.access,
        Campaign.opens_at,
        Campaign.closes_at,
    )
    .join(InstrumentVersion, InstrumentVersion.id == Campaign.instrument_id)
    .where(Campaign.key == bindparam("key"))
)


def campaign_facts(bind: Connection | Session, key: str) -> CampaignFacts | None:
    """The facts of campaign ``key`` (None if there is none), in the caller's transaction (a
    driver statement: the intake reads them inside its write lock)."""
    connection = bind.connection() if isinstance(bind, Session) else bind
    values = driver_statement(_FACTS, connection.dialect).first(connection, {"key": key})
    if values is None:
        return None
    return CampaignFacts(*values[:7], Access(values[7]), *values[8:])


def list_campaigns(
    session: Session, *, instrument_row: InstrumentVersion | None = None
) -> list[Campaign]:
    """Every campaign (or those of one instrument version), by key."""
    query = select(Campaign).order_by(Campaign.key)
    if instrument_row is not None:
        query = query.where(Campaign.instrument_id == instrument_row.id)
    return list(session.scalars(query))


def open_campaign(
    session: Session,
    key: str,
    *,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Campaign:
    """Set the campaign's window: open from ``opens_at`` (default now) until ``closes_at``
    (default never)."""
    campaign = campaign_or_error(session, key)
    campaign.opens_at, campaign.closes_at = _window(key, opens_at or utcnow(), closes_at)
    session.flush()
    return campaign


def close_campaign(session: Session, key: str, *, at: datetime | None = None) -> Campaign:
    """Close the campaign at ``at`` (default now); a campaign not open yet then never opens."""
    campaign = campaign_or_error(session, key)
    closes = as_utc(at or utcnow())
    campaign.opens_at = min(as_utc(campaign.opens_at), closes)
    campaign.closes_at = closes
    session.flush()
    return campaign


def _window(
    key: str, opens_at: datetime, closes_at: datetime | None
) -> tuple[datetime, datetime | None]:
    opens = as_utc(opens_at)
    if closes_at is None:
        return opens, None
    closes = as_utc(closes_at)
    if closes <= opens:
        raise CampaignError(
            f"campaign {key!r}: it would close ({closes:%Y-%m-%d %H:%M} UTC) before it opens "
            f"({opens:%Y-%m-%d %H:%M} UTC)"
        )
    return opens, closes
