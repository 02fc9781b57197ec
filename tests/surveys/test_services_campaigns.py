"""Campaigns: created against the taxonomy, with a sane window that can be opened and closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from surveys import taxonomy
from surveys.clock import utcnow
from surveys.db import read_session, write_session
from surveys.errors import NotFoundError
from surveys.instrument import Instrument
from surveys.models import Access, InstrumentVersion
from surveys.services.campaigns import (
    CampaignError,
    close_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    open_campaign,
)
from surveys.services.instruments import register_instrument
from surveys.taxonomy import TaxonomyError
from tests.surveys.conftest import add_campaign

JUNE = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def version(engine: Engine, small: Instrument) -> InstrumentVersion:
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        return register_instrument(session, small, "")


def create(engine: Engine, version: InstrumentVersion, **changes: object) -> None:
    fields: dict[str, object] = {
        "key": "spring",
        "name": "Spring survey",
        "stage": "onboarding",
        "channel": "email",
        "segment": "enterprise",
        "access": Access.INVITATION,
        "opens_at": JUNE,
        "closes_at": JUNE + timedelta(days=30),
        **changes,
    }
    with write_session(engine) as session:
        create_campaign(session, instrument_row=version, **fields)  # type: ignore[arg-type]


def test_a_campaign_is_created_with_its_window(engine: Engine, version: InstrumentVersion) -> None:
    create(engine, version)

    with read_session(engine) as session:
        campaign = get_campaign(session, "spring")
        assert campaign is not None
        assert (campaign.stage, campaign.channel, campaign.segment) == (
            "onboarding",
            "email",
            "enterprise",
        )
        assert campaign.access == Access.INVITATION
        assert campaign.instrument.key == "small"
        assert campaign.state(JUNE - timedelta(seconds=1)) == "not_open_yet"
        assert campaign.state(JUNE + timedelta(days=3)) == "open"
        assert campaign.state(JUNE + timedelta(days=30)) == "closed"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"stage": "delivery"}, NotFoundError, "unknown stage 'delivery'"),
        ({"channel": "fax"}, NotFoundError, "unknown channel 'fax'"),
        ({"segment": "students"}, NotFoundError, "unknown segment 'students'"),
        ({"key": "Spring Survey"}, TaxonomyError, "campaign key 'Spring Survey' is not a valid"),
        ({"name": "  "}, CampaignError, "give a name"),
        ({"access": "public"}, CampaignError, "access must be one of open, invitation"),
        ({"closes_at": JUNE}, CampaignError, "would close .* before it opens"),
    ],
)
def test_bad_campaigns_are_refused(
    engine: Engine,
    version: InstrumentVersion,
    changes: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        create(engine, version, **changes)
    with read_session(engine) as session:
        assert list_campaigns(session) == []


def test_campaign_keys_are_unique(engine: Engine, version: InstrumentVersion) -> None:
    create(engine, version)
    with pytest.raises(CampaignError, match="exists already"):
        create(engine, version, name="Another")


def test_closing_and_opening_set_the_window(engine: Engine, small: Instrument) -> None:
    later = add_campaign(engine, small, "later", opens_at=utcnow() + timedelta(days=5))
    now_open = add_campaign(engine, small, "now-open")

    with write_session(engine) as session:
        closed = close_campaign(session, now_open)
        never = close_campaign(session, later)
        assert closed.state() == "closed"
        assert never.state() == "closed"
        reopened = open_campaign(session, now_open, closes_at=utcnow() + timedelta(days=1))
        assert reopened.state() == "open"
        with pytest.raises(CampaignError):
            open_campaign(session, later, opens_at=JUNE, closes_at=JUNE)
        with pytest.raises(NotFoundError, match="no campaign 'gone'"):
            close_campaign(session, "gone")

    with read_session(engine) as session:
        assert [campaign.key for campaign in list_campaigns(session)] == ["later", "now-open"]
        assert get_campaign(session, "now-open").state() == "open"  # type: ignore[union-attr]
