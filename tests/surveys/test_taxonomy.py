"""Segments, stages and channels: the design.md defaults as data, editable, never removed while
in use."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from surveys import taxonomy
from surveys.answers import parse_answers
from surveys.db import read_session, write_session
from surveys.errors import NotFoundError
from surveys.instrument import Instrument
from surveys.services.responses import submit_response
from surveys.taxonomy import TaxonomyError
from tests.surveys.conftest import add_campaign


def terms(engine: Engine, kind: str) -> list[tuple[str, str]]:
    with read_session(engine) as session:
        return [(term.key, term.label) for term in taxonomy.list_terms(session, kind)]


def test_defaults_are_those_of_the_design(engine: Engine) -> None:
    with write_session(engine) as session:
        assert taxonomy.ensure_defaults(session) == 12

    assert terms(engine, "segment") == [
        ("consumer", "Consumer"),
        ("small_business", "Small business"),
        ("enterprise", "Enterprise"),
    ]
    assert terms(engine, "stage") == [
        ("pre_sales", "Pre-sales"),
        ("purchase", "Purchase"),
        ("onboarding", "Onboarding"),
        ("after_sales", "After-sales support"),
        ("renewal", "Renewal"),
    ]
    assert [key for key, _ in terms(engine, "channel")] == ["web", "hotline", "store", "email"]


def test_defaults_do_not_come_back_once_edited(engine: Engine) -> None:
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        taxonomy.remove_term(session, "channel", "email")
        taxonomy.rename_term(session, "segment", "consumer", "Private customer")

    with write_session(engine) as session:
        assert taxonomy.ensure_defaults(session) == 0

    assert "email" not in dict(terms(engine, "channel"))
    assert dict(terms(engine, "segment"))["consumer"] == "Private customer"


def test_added_terms_come_last_and_labels_are_tidied(engine: Engine) -> None:
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        taxonomy.add_term(session, "channel", "chat", "  Live   chat ")

    assert terms(engine, "channel")[-1] == ("chat", "Live chat")


@pytest.mark.parametrize(
    "key", ["Big", "two words", "-lead", "trail_", "", "ü", "a" * 41, "semi;colon"]
)
def test_keys_must_be_slugs(engine: Engine, key: str) -> None:
    with write_session(engine) as session, pytest.raises(TaxonomyError, match="segment"):
        taxonomy.add_term(session, "segment", key, "Label")


def test_bad_additions_and_edits_are_refused(engine: Engine) -> None:
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        with pytest.raises(TaxonomyError, match="exists already"):
            taxonomy.add_term(session, "stage", "renewal", "Again")
        with pytest.raises(TaxonomyError, match="label is empty"):
            taxonomy.add_term(session, "stage", "delivery", "   ")
        with pytest.raises(TaxonomyError, match="unknown kind"):
            taxonomy.add_term(session, "region", "north", "North")
        with pytest.raises(NotFoundError, match=r"unknown stage 'delivery'.*pre_sales"):
            taxonomy.rename_term(session, "stage", "delivery", "Delivery")
        with pytest.raises(NotFoundError):
            taxonomy.remove_term(session, "channel", "fax")


def test_a_term_in_use_cannot_be_removed(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small, stage="purchase", channel="store", segment=None)
    submit_response(
        engine,
        campaign_key=key,
        answers=parse_answers(
            small, {"rel_a__expectation": "3", "kind": "company"}, require_complete=False
        ),
        source="web",
    )

    with write_session(engine) as session:
        with pytest.raises(TaxonomyError, match="used by 1 campaign and 1 response;"):
            taxonomy.remove_term(session, "stage", "purchase")
        with pytest.raises(TaxonomyError, match="used by 1 response;"):
            taxonomy.remove_term(session, "segment", "enterprise")
        taxonomy.remove_term(session, "stage", "renewal")

    assert "purchase" in dict(terms(engine, "stage"))
    assert "renewal" not in dict(terms(engine, "stage"))
