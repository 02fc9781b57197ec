"""Factories for storage tests: instruments loaded through the real loader, and rows made through
the real services (taxonomy defaults, a stored instrument version, a campaign)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from surveys import taxonomy
from surveys.clock import utcnow
from surveys.db import read_session, write_session
from surveys.instrument import Instrument
from surveys.instrument_loader import load_instrument_file, load_instrument_text
from surveys.models import Access, Answer, Response
from surveys.services.campaigns import create_campaign
from surveys.services.instruments import register_instrument

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CSV_DIR = DATA_DIR / "csv"
SERVQUAL_PATH = DATA_DIR / "instruments" / "servqual-240.yaml"

#: A small instrument with every kind of slot: a gap pair with "not applicable", an optional
#: pair, a rating, a classifying choice, free text and a points allocation.
SMALL_YAML = """
key: small
version: 1
title: Small survey
scales:
  agree5: {points: 5, not_applicable: true}
  sat5: {points: 5}
dimensions:
  - {key: reliability, label: Reliability}
  - {key: empathy, label: Empathy}
items:
  - {key: rel_a, dimension: reliability, text: Keeps promises, measures: [expectation, perception],
     scale: agree5}
  - {key: emp_a, dimension: empathy, text: Listens, measures: [expectation, perception],
     scale: agree5, required: false}
  - {key: overall, text: Overall satisfaction, measures: [rating], scale: sat5, required: false}
  - key: kind
    text: Which describes you best?
    measures: [choice]
    classifies: segment
    required: false
    options:
      - {key: private, label: A private customer, segment: consumer}
      - {key: company, label: A large company, segment: enterprise}
  - {key: comment, text: Anything else?, measures: [text], required: false, max_length: 300}
importance: {method: points, total: 100, over: dimensions}
"""


def small_instrument(version: int = 1, title: str = "Small survey") -> Instrument:
    text = SMALL_YAML.replace("version: 1", f"version: {version}").replace(
        "title: Small survey", f"title: {title}"
    )
    return load_instrument_text(text, "small.yaml")


@pytest.fixture(scope="session")
def small() -> Instrument:
    return small_instrument()


@pytest.fixture(scope="session")
def servqual() -> Instrument:
    """The instrument of the reference data set shared/reference/servqual-240."""
    return load_instrument_file(SERVQUAL_PATH)


@pytest.fixture(scope="session")
def csv_dir() -> Path:
    return CSV_DIR


def add_campaign(
    engine: Engine,
    instrument: Instrument,
    key: str | None = None,
    *,
    access: Access = Access.OPEN,
    segment: str | None = "consumer",
    stage: str = "after_sales",
    channel: str = "web",
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> str:
    """A campaign of ``instrument`` (stored once), open since yesterday unless told otherwise;
    seeds the default taxonomy first."""
    key = key or f"c-{secrets.token_hex(4)}"
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        row = register_instrument(session, instrument, "")
        create_campaign(
            session,
            key=key,
            name=f"Campaign {key}",
            instrument_row=row,
            stage=stage,
            channel=channel,
            segment=segment,
            access=access,
            opens_at=opens_at or utcnow() - timedelta(days=1),
            closes_at=closes_at,
        )
    return key


def count_rows(engine: Engine) -> tuple[int, int]:
    """(responses, answers) stored."""
    with read_session(engine) as session:
        responses = session.scalar(select(func.count()).select_from(Response)) or 0
        answers = session.scalar(select(func.count()).select_from(Answer)) or 0
    return responses, answers
