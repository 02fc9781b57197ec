"""Helpers shared by the studio tests (this module has no tests).

A researcher signs in through the real login form; forms are posted with the CSRF token read
from the page they are on, as a browser does. Response files are written in the CSV response
format by the service's own writer from seeded random answers, so imports go through the same
checks as a researcher's file.
"""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from werkzeug.test import TestResponse

from surveys.answers import AnswerSet
from surveys.db import read_session
from surveys.instrument import SCALED_MEASURES, Instrument
from surveys.models import Response
from surveys.response_table import ResponseRecord, write_response_table
from tests.webapp.test_auth_support import add_account, csrf_token, login


def signed_in(app: Flask, engine: Engine, role: str = "researcher") -> FlaskClient:
    client = app.test_client()
    reply = login(client, add_account(engine, role))
    assert reply.status_code == 303
    return client


def post_form(
    client: FlaskClient, page: str, url: str, data: dict[str, Any] | None = None
) -> TestResponse:
    """Post ``data`` to ``url`` with the CSRF token of the form on ``page``."""
    fields = {"csrf_token": csrf_token(client, page), **(data or {})}
    return client.post(url, data=fields, content_type="multipart/form-data")


def upload(content: bytes | str, name: str) -> tuple[io.BytesIO, str]:
    """A file field value for the test client."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return io.BytesIO(raw), name


def text_of(reply: TestResponse) -> str:
    """The page's visible text, tags removed and whitespace collapsed (entities kept)."""
    return " ".join(re.sub(r"<[^>]+>", " ", reply.get_data(as_text=True)).split())


def response_count(engine: Engine) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


def random_records(
    instrument: Instrument,
    count: int,
    *,
    seed: int = 7,
    segment: str = "consumer",
    stage: str = "after_sales",
    channel: str = "web",
    start: datetime | None = None,
) -> list[ResponseRecord]:
    """``count`` responses with every scaled slot answered: a respondent level plus item noise
    (so items of a dimension correlate), one response per hour from ``start``."""
    rng = random.Random(seed)
    start = start or datetime(2026, 3, 2, 9, tzinfo=UTC)
    records = []
    for number in range(count):
        level = rng.gauss(0, 1.2)
        values: dict[str, int | str] = {}
        for slot in instrument.slots():
            if slot.item is None or slot.measure not in SCALED_MEASURES:
                continue
            scale = instrument.scale_of(instrument.item(slot.item))
            middle = (scale.min + scale.max) / 2
            value = round(middle + level + rng.gauss(0, 0.9))
            values[slot.name] = min(max(value, scale.min), scale.max)
        records.append(
            ResponseRecord(
                response_id=f"r{seed}-{number:05d}",
                submitted_at=start + timedelta(hours=number),
                segment=segment,
                stage=stage,
                channel=channel,
                answers=AnswerSet(values),
            )
        )
    return records


def table_bytes(instrument: Instrument, records: list[ResponseRecord]) -> bytes:
    text = io.StringIO()
    write_response_table(records, instrument, text)
    return text.getvalue().encode("utf-8")
