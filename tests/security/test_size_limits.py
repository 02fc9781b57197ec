"""Oversized bodies and uploads are refused with 413 and store nothing (security.md S17, T18).

The limits: ``MAX_CONTENT_LENGTH`` (``GAPMETER_MAX_CONTENT_LENGTH``, 1 MiB by default) for every
request, and Werkzeug's form limits (``MAX_FORM_MEMORY_SIZE`` 500 kB per non-file field,
``MAX_FORM_PARTS`` 1,000 parts). Checked on the survey form, the API, and every upload route of
the staff pages, found by walking ``app.url_map`` (every POST route of a signed-in area gets a
multipart body with a file over the limit).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from surveys.db import read_session
from surveys.instrument import Instrument
from surveys.models import InstrumentVersion, Invitation, Role
from tests.security.conftest import counts, signed_in
from tests.webapp.conftest import SurveyClient, add_campaign
from tests.webapp.test_auth_support import add_api_key, csrf_token
from webapp.api.openapi import PREFIX
from webapp.auth.policy import Kind, policy_of
from webapp.errors import MESSAGES

LIMIT = 1024 * 1024  # the default MAX_CONTENT_LENGTH


@pytest.fixture
def campaign(app_engine: Engine, mixed: Instrument) -> str:
    return add_campaign(app_engine, mixed, "limits")


def stored_rows(engine: Engine) -> tuple[int, int, int, int]:
    """Responses, answers, instrument versions and invitations: all an upload could add."""
    with read_session(engine) as session:
        versions = session.scalar(select(func.count()).select_from(InstrumentVersion)) or 0
        invitations = session.scalar(select(func.count()).select_from(Invitation)) or 0
    found = counts(engine)
    return found.responses, found.answers, int(versions), int(invitations)


def post_multipart(client: FlaskClient, url: str, fields: Mapping[str, Any]) -> TestResponse:
    """POST ``fields`` as multipart/form-data, the body encoded here in memory (the test
    client would spool a large body to a temporary file it never closes when the app refuses
    to read it)."""
    boundary, body = encode_multipart(MultiDict(fields))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_the_limit_is_configured(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == LIMIT


@pytest.mark.parametrize(
    "shape",
    ["body-over-limit", "field-over-form-memory", "too-many-parts"],
)
def test_survey_form_refuses_oversized_posts(
    app: Flask, app_engine: Engine, campaign: str, shape: str
) -> None:
    """A whole body over the limit (URL-encoded), and, for multipart posts, a field over the
    form memory limit or too many parts (Werkzeug applies those two to multipart only; a
    URL-encoded body is bounded by the body limit alone)."""
    browser = SurveyClient(app.test_client())
    page = browser.open_survey(f"/s/{campaign}")
    fields: dict[str, str] = {**page.hidden, "gm_nav": "next"}
    before = stored_rows(app_engine)
    if shape == "body-over-limit":
        fields["comment"] = "x" * (LIMIT + 1)
        reply = browser.client.post(
            page.action or "",
            data=urlencode(fields),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        if shape == "field-over-form-memory":
            fields["comment"] = "x" * 600_000  # under 1 MiB, over the 500 kB a field may hold
        else:
            fields |= {f"f{n}": "1" for n in range(1_200)}
        reply = post_multipart(browser.client, page.action or "", fields)
    assert reply.status_code == 413
    assert MESSAGES[413][1] in reply.get_data(as_text=True)
    assert stored_rows(app_engine) == before


def test_api_refuses_an_oversized_body(app: Flask, app_engine: Engine, campaign: str) -> None:
    key = add_api_key(app_engine)
    body = b'{"answers": {"comment": "' + b"x" * LIMIT + b'"}}'
    before = stored_rows(app_engine)
    reply = app.test_client().post(
        f"{PREFIX}/campaigns/{campaign}/responses",
        data=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": "big-1",
            "Content-Type": "application/json",
        },
    )
    assert reply.status_code == 413
    assert reply.mimetype == "application/problem+json"
    assert reply.get_json()["detail"]
    assert stored_rows(app_engine) == before


def staff_post_urls(app: Flask, campaign: str, instrument: Instrument) -> list[str]:
    """Every POST route of a signed-in area, with arguments from real rows."""
    values = {"campaign_key": campaign, "key": instrument.key, "version": "1"}
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        policy = policy_of(app, rule.endpoint)
        if policy is None or policy.kind is not Kind.STAFF or "POST" not in (rule.methods or ()):
            continue
        if rule.endpoint == "auth.logout" or set(rule.arguments) - set(values):
            continue
        urls.append(adapter.build(rule.endpoint, {n: values[n] for n in rule.arguments}))
    return urls


def test_every_staff_upload_refuses_an_oversized_file(
    app: Flask, app_engine: Engine, campaign: str, mixed: Instrument
) -> None:
    """Uploads (instrument YAML, responses CSV, invitation lists, and any later one) are
    refused before they are read: 413, nothing stored."""
    web = signed_in(app, app_engine, Role.ADMIN)
    urls = staff_post_urls(app, campaign, mixed)
    if not any(url.startswith("/studio") for url in urls):
        pytest.skip("no studio routes are registered yet")
    assert "/studio/instruments" in urls
    assert f"/studio/campaigns/{campaign}/import" in urls
    token = csrf_token(web, "/studio/")
    for url in urls:
        before = stored_rows(app_engine)
        data = {
            "csrf_token": token,
            "file": FileStorage(io.BytesIO(b"x" * (LIMIT + 10)), "big.yaml"),
            "responses": FileStorage(io.BytesIO(b"a,b\n" * (LIMIT // 4 + 10)), "big.csv"),
            "respondents": FileStorage(io.BytesIO(b"a@example.com\n" * 80_000), "big.csv"),
            "action": "store",
        }
        reply = post_multipart(web, url, data)
        assert reply.status_code == 413, f"{url}: {reply.status_code}"
        assert stored_rows(app_engine) == before, url
