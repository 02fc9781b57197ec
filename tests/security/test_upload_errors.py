"""Upload pages under hostile files (security.md S2, T7, R14; the LimeSurvey #5330 class).

Import error messages are an XSS sink: a value quoted back in "row 7, column X: ... is not a
date" must be text. These tests upload, through the studio's real forms (signed in, CSRF token
from the page), CSV and YAML files whose invalid values are payloads, and check that the page
that lists the problems shows them escaped and names the row or line; then Hypothesis uploads
arbitrary bytes as a responses CSV: never a 5xx, a 303 only when rows were added, a 422 listing
problems by row otherwise, nothing stored on refusal.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from surveys.db import read_session
from surveys.instrument import Instrument
from surveys.models import InstrumentVersion, Role
from surveys.response_table import table_columns
from tests.security.conftest import FAST_EXAMPLES, counts, signed_in
from tests.security.payloads import MARKUP, Payload, assert_escaped, payload_ids
from tests.webapp.conftest import add_campaign
from tests.webapp.test_auth_support import csrf_token


@pytest.fixture
def researcher(app: Flask, app_engine: Engine) -> FlaskClient:
    if "studio.campaign_import" not in app.view_functions:
        pytest.skip("the studio's upload pages are not registered yet")
    return signed_in(app, app_engine, Role.RESEARCHER)


@pytest.fixture
def campaign(app_engine: Engine, mixed: Instrument) -> str:
    return add_campaign(app_engine, mixed, "uploads")


def upload_csv(web: FlaskClient, campaign: str, data: bytes) -> Any:
    token = csrf_token(web, f"/studio/campaigns/{campaign}")
    return web.post(
        f"/studio/campaigns/{campaign}/import",
        data={"csrf_token": token, "responses": (io.BytesIO(data), "responses.csv")},
        content_type="multipart/form-data",
    )


def hostile_table(instrument: Instrument, text: str) -> bytes:
    """A table whose header, timestamp, segment, choice and score cells carry ``text``."""
    columns = list(table_columns(instrument))
    row = dict.fromkeys(columns, "")
    row |= {
        "response_id": "r1",
        "submitted_at": text,
        "segment": text[:30],
        "stage": "after_sales",
        "channel": "web",
        "visit": text,
        "overall": text,
    }
    stream = io.StringIO(newline="")
    writer = csv.writer(stream)
    writer.writerow([*columns, text])  # an unknown column named by the payload
    writer.writerow([*[row[name] for name in columns], "x"])
    return stream.getvalue().encode("utf-8")


@pytest.mark.parametrize("payload", MARKUP, ids=payload_ids(MARKUP))
def test_csv_import_problems_are_text(
    app_engine: Engine,
    researcher: FlaskClient,
    campaign: str,
    mixed: Instrument,
    payload: Payload,
) -> None:
    before = counts(app_engine)
    reply = upload_csv(researcher, campaign, hostile_table(mixed, payload.text))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert_escaped(html, payload.text, f"import problems ({payload.name})")
    assert re.search(r"\b1\b", html)
    assert "submitted_at" in html
    assert counts(app_engine) == before


@pytest.mark.parametrize("payload", MARKUP, ids=payload_ids(MARKUP))
def test_instrument_upload_problems_are_text(
    app_engine: Engine, researcher: FlaskClient, payload: Payload
) -> None:
    yaml_text = (
        f"key: {payload.text!r}\nversion: {payload.text!r}\ntitle: {{en: x}}\n"
        f"items:\n  - key: a\n    text: {payload.text!r}\n    measures: [{payload.text!r}]\n"
        f"{payload.text[:20]!r}: 1\n"
    )
    token = csrf_token(researcher, "/studio/instruments")
    with read_session(app_engine) as session:
        before = session.scalar(select(func.count()).select_from(InstrumentVersion))
    reply = researcher.post(
        "/studio/instruments",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(yaml_text.encode()), "hostile.yaml"),
            "action": "store",
        },
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert_escaped(html, payload.text, f"instrument problems ({payload.name})")
    with read_session(app_engine) as session:
        assert session.scalar(select(func.count()).select_from(InstrumentVersion)) == before


def test_fuzzed_csv_uploads(
    app: Flask, app_engine: Engine, researcher: FlaskClient, campaign: str, mixed: Instrument
) -> None:
    header = ",".join(table_columns(mixed)).encode() + b"\r\n"
    valid = b"r1,2026-03-01T09:00:00Z,consumer,after_sales,web,6,4,5,NA,4,9,phone,ok,70,30\r\n"

    @settings(
        max_examples=FAST_EXAMPLES // 2,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @example(body=b"\x80")  # an undecodable header cell was quoted raw: a 500
    @example(body=header + valid.replace(b"ok", b"o\x80k"))
    @example(body=b"\x80\r\x80")  # a bad byte in a header cell named in row 2's problem
    @given(
        body=st.one_of(
            st.binary(max_size=500),
            st.binary(max_size=200).map(lambda b: header + b),
            st.binary(max_size=50).map(lambda b: header + valid + b),
        )
    )
    def check(body: bytes) -> None:
        before = counts(app_engine)
        reply = upload_csv(researcher, campaign, body)
        status = reply.status_code
        assert status < 500, body[:200]
        if status == 303:
            assert counts(app_engine).responses >= before.responses
            return
        assert status == 422, status
        assert counts(app_engine) == before
        html = reply.get_data(as_text=True)
        assert "Nothing was imported" in html or "problem" in html.lower(), html[:500]

    check()
