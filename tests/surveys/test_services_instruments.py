"""Stored instrument versions: canonical JSON with its hash, and immutable once answered."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Engine, func, select

from surveys.answers import parse_answers
from surveys.db import read_session, write_session
from surveys.errors import InstrumentImmutableError
from surveys.instrument import Instrument
from surveys.models import InstrumentVersion
from surveys.services.instruments import (
    get_instrument,
    instrument_of,
    list_instruments,
    register_instrument,
)
from surveys.services.responses import submit_response
from tests.surveys.conftest import SMALL_YAML, add_campaign, small_instrument


def versions(engine: Engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(InstrumentVersion)) or 0


def test_a_version_is_stored_with_canonical_json_hash_and_source(engine: Engine) -> None:
    small = small_instrument()
    with write_session(engine) as session:
        row = register_instrument(session, small, SMALL_YAML)

    with read_session(engine) as session:
        stored = get_instrument(session, "small", 1)
        assert stored is not None
        assert stored.id == row.id
        assert stored.definition == small.to_json()
        assert stored.content_hash == small.content_hash
        assert stored.source == SMALL_YAML
        assert stored.title == "Small survey"
        assert instrument_of(stored) == small


def test_loading_the_same_content_again_is_a_no_op(engine: Engine) -> None:
    with write_session(engine) as session:
        first = register_instrument(session, small_instrument(), SMALL_YAML)
    with write_session(engine) as session:
        again = register_instrument(session, small_instrument(), "# reformatted\n" + SMALL_YAML)

    assert again.id == first.id
    assert again.source == SMALL_YAML
    assert versions(engine) == 1


def test_changed_content_replaces_a_version_nobody_answered(engine: Engine) -> None:
    with write_session(engine) as session:
        first = register_instrument(session, small_instrument(), SMALL_YAML)
    changed = small_instrument(title="Small survey, reworded")
    with write_session(engine) as session:
        replaced = register_instrument(session, changed, "changed")

    assert replaced.id == first.id
    assert replaced.content_hash == changed.content_hash != first.content_hash
    assert replaced.title == "Small survey, reworded"
    assert versions(engine) == 1


def test_a_version_with_responses_is_immutable(engine: Engine) -> None:
    small = small_instrument()
    key = add_campaign(engine, small)
    answers = parse_answers(small, {"rel_a__expectation": "4", "rel_a__perception": "2"})
    submit_response(engine, campaign_key=key, answers=answers, source="web")

    with (
        write_session(engine) as session,
        pytest.raises(InstrumentImmutableError, match=r"new version number \(version: 2\)"),
    ):
        register_instrument(session, small_instrument(title="Edited"), "edited")

    with read_session(engine) as session:
        stored = get_instrument(session, "small", 1)
        assert stored is not None
        assert stored.content_hash == small.content_hash
    with write_session(engine) as session:
        assert register_instrument(session, small, SMALL_YAML).content_hash == small.content_hash
        assert register_instrument(session, small_instrument(2, "Edited"), "v2").version == 2


def test_the_latest_version_is_found_and_all_are_listed(engine: Engine) -> None:
    with write_session(engine) as session:
        for version in (2, 1, 3):
            register_instrument(session, small_instrument(version), SMALL_YAML)

    with read_session(engine) as session:
        latest = get_instrument(session, "small")
        assert latest is not None
        assert latest.version == 3
        assert get_instrument(session, "small", 7) is None
        assert get_instrument(session, "other") is None
        assert [(row.key, row.version) for row in list_instruments(session)] == [
            ("small", 1),
            ("small", 2),
            ("small", 3),
        ]


def test_loaded_instruments_are_cached_by_content_hash(engine: Engine) -> None:
    with write_session(engine) as session:
        row = register_instrument(session, small_instrument(), SMALL_YAML)

    assert instrument_of(row) is instrument_of(row)


def test_instruments_hash_cheaply_and_agree_with_equality(small: Instrument) -> None:
    """Equal instruments hash alike (their cached forms and rules are shared); a changed copy
    is unequal and has its own slots, not the original's worked-out ones."""
    twin = small_instrument()
    assert twin == small
    assert hash(twin) == hash(small)
    assert twin.slots() is twin.slots()  # worked out once
    fewer = dataclasses.replace(small, items=small.items[:1])
    assert fewer != small
    assert [slot.item for slot in fewer.slots() if slot.item] == [small.items[0].key] * len(
        small.items[0].measures
    )
    assert len(small.slots()) > len(fewer.slots())
