"""Invitations: unguessable tokens stored only as SHA-256, respondents from a CSV all or nothing,
and a links file safe to open in a spreadsheet (security.md T12, S12, T8)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io

import pytest
from sqlalchemy import Engine, func, select, text

from surveys.db import read_session, write_session
from surveys.errors import ImportRowsError, NotFoundError
from surveys.instrument import Instrument
from surveys.models import Campaign, Invitation
from surveys.services.campaigns import get_campaign
from surveys.services.invitations import (
    InvitationError,
    IssuedInvitation,
    find_invitation,
    invitations_from_csv,
    issue_invitations,
    lookup_hash,
    write_invitation_links,
)
from tests.surveys.conftest import add_campaign


@pytest.fixture
def campaign_key(engine: Engine, small: Instrument) -> str:
    return add_campaign(engine, small, "invited")


def campaign(session: object, key: str) -> Campaign:
    found = get_campaign(session, key)  # type: ignore[arg-type]
    assert found is not None
    return found


def invitation_count(engine: Engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(Invitation)) or 0


def test_tokens_are_long_random_and_stored_only_hashed(engine: Engine, campaign_key: str) -> None:
    with write_session(engine) as session:
        issued = issue_invitations(
            session, campaign(session, campaign_key), 50, "enterprise", {"region": "north"}
        )

    tokens = [invitation.token for invitation in issued]
    assert len(set(tokens)) == 50
    assert all(len(base64.urlsafe_b64decode(token + "==")) >= 16 for token in tokens)
    with read_session(engine) as session:
        dump = " ".join(
            str(value) for row in session.execute(text("SELECT * FROM invitation")) for value in row
        )
        hashes = set(session.scalars(select(Invitation.token_hash)))
        found = find_invitation(session, tokens[7])
        assert found is not None
        assert (found.segment, found.attributes, found.used_at) == (
            "enterprise",
            {"region": "north"},
            None,
        )
    assert not any(token in dump for token in tokens)
    assert hashes == {hashlib.sha256(token.encode()).hexdigest() for token in tokens}


def test_unknown_and_absurd_tokens_find_nothing(engine: Engine, campaign_key: str) -> None:
    with read_session(engine) as session:
        assert find_invitation(session, "not-a-token") is None
        assert find_invitation(session, "") is None
        assert find_invitation(session, "x" * 10_000) is None
        assert find_invitation(session, None) is None
    assert lookup_hash("x" * 10_000) is None
    assert lookup_hash("") is None
    assert lookup_hash("abc") == hashlib.sha256(b"abc").hexdigest()


@pytest.mark.parametrize(
    ("count", "segment", "attributes", "error"),
    [
        (0, "consumer", None, InvitationError),
        (1, "students", None, NotFoundError),
        (1, "consumer", {"link": "x"}, InvitationError),
        (1, "consumer", {"region": "x" * 501}, InvitationError),
    ],
)
def test_bad_requests_issue_nothing(
    engine: Engine,
    campaign_key: str,
    count: int,
    segment: str,
    attributes: dict[str, str] | None,
    error: type[Exception],
) -> None:
    with write_session(engine) as session, pytest.raises(error):
        issue_invitations(session, campaign(session, campaign_key), count, segment, attributes)
    assert invitation_count(engine) == 0


def test_respondents_from_a_csv_keep_their_attributes(engine: Engine, campaign_key: str) -> None:
    source = io.StringIO("segment,region,product\r\nconsumer,north,mobile\r\nenterprise,,=cmd\r\n")
    with write_session(engine) as session:
        issued = invitations_from_csv(session, campaign(session, campaign_key), source)

    assert [(i.segment, dict(i.attributes)) for i in issued] == [
        ("consumer", {"region": "north", "product": "mobile"}),
        ("enterprise", {"product": "=cmd"}),
    ]
    with read_session(engine) as session:
        stored = find_invitation(session, issued[1].token)
        assert stored is not None
        assert stored.attributes == {"product": "=cmd"}


def test_a_respondents_csv_with_problems_issues_nothing(engine: Engine, campaign_key: str) -> None:
    source = io.BytesIO(
        b"segment,region,region\nconsumer,n,s\nstudents,n,s\n,n,s\nconsumer,n\nconsumer,\xe9,s\n"
    )
    with write_session(engine) as session, pytest.raises(ImportRowsError) as error:
        invitations_from_csv(session, campaign(session, campaign_key), source)

    assert [(p.row, p.column) for p in error.value.problems] == [
        (1, "region"),
        (3, "segment"),
        (4, "segment"),
        (5, None),
        (6, "region"),
    ]
    assert "unknown segment 'students'" in error.value.problems[1].message
    assert invitation_count(engine) == 0


def test_a_respondents_csv_needs_a_segment_column(engine: Engine, campaign_key: str) -> None:
    with write_session(engine) as session, pytest.raises(ImportRowsError) as error:
        invitations_from_csv(session, campaign(session, campaign_key), io.StringIO("region\nn\n"))
    assert str(error.value) == "row 1, column segment: the segment column is missing"


def test_the_links_file_has_personal_links_and_neutralised_cells() -> None:
    issued = [
        IssuedInvitation("tok1", "consumer", {"region": "north"}),
        IssuedInvitation("tok2", "enterprise", {"product": '=HYPERLINK("x")', "region": "+1"}),
    ]
    stream = io.StringIO()

    assert write_invitation_links(issued, "https://survey.example/", stream) == 2

    rows = list(csv.reader(io.StringIO(stream.getvalue(), newline="")))
    assert rows == [
        ["link", "segment", "region", "product"],
        ["https://survey.example/i/tok1", "consumer", "north", ""],
        ["https://survey.example/i/tok2", "enterprise", "'+1", '\'=HYPERLINK("x")'],
    ]
