"""The JSON API (/api/v1): keys, intake with idempotency, reads, limits, and the OpenAPI document.

Every reply these tests receive is validated against the schema the OpenAPI document gives for
its path, method and status (``ApiCaller``), so the document cannot drift from the endpoints.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from sqlalchemy import Engine, func, select

from analysis.store import assess_campaign
from surveys.db import read_session, write_session
from surveys.instrument import Instrument
from surveys.models import Access, Answer, ApiKey, Response, Role, Source
from surveys.services import accounts, campaigns
from tests.webapp.conftest import MIXED_ANSWERS, add_campaign, count_responses, make_app
from tests.webapp.test_auth_support import (
    add_account,
    add_api_key,
    limiter_storage,  # noqa: F401 - fixture
    login,
)
from webapp.api.openapi import PREFIX, openapi_document

ANSWERS = MIXED_ANSWERS


# Checking replies against the document --------------------------------------------------------
class ApiCaller:
    """A test client for the API that sends the key and checks each reply against the OpenAPI
    document (operation, status and body schema)."""

    def __init__(self, app: Flask, key: str | None) -> None:
        self.client = app.test_client()
        self.key = key
        self.document = openapi_document()
        self.seen: set[tuple[str, str, str]] = set()

    def call(self, method: str, path: str, *, key: str | None = "default", **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        token = self.key if key == "default" else key
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        reply = self.client.open(PREFIX + path, method=method, headers=headers, **kwargs)
        self.check(method, path, reply)
        return reply

    def post(self, campaign: str, body: Any, idempotency: str | None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if idempotency is not None:
            headers["Idempotency-Key"] = idempotency
        return self.call(
            "POST", f"/campaigns/{campaign}/responses", json=body, headers=headers, **kwargs
        )

    def check(self, method: str, path: str, reply: Any) -> None:
        template, operation = self.operation(method, path)
        status = str(reply.status_code)
        documented = operation["responses"]
        assert status in documented, f"{method} {template}: status {status} is not documented"
        content = documented[status].get("content", {})
        assert reply.mimetype in content, f"{method} {template} {status}: {reply.mimetype}"
        schema = content[reply.mimetype].get("schema")
        if schema is not None:
            validator = Draft202012Validator({**schema, "components": self.document["components"]})
            validator.validate(reply.get_json())
        self.seen.add((template, method.lower(), status))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        bare = path.partition("?")[0]
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, bare) and method.lower() in item:
                return template, item[method.lower()]
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")


@pytest.fixture
def campaign(app_engine: Engine, mixed: Instrument) -> str:
    return add_campaign(app_engine, mixed, "hotline")


@pytest.fixture
def api(app: Flask, app_engine: Engine, campaign: str) -> ApiCaller:
    return ApiCaller(app, add_api_key(app_engine, "hotline system"))


def stored(engine: Engine) -> list[dict[str, Any]]:
    """Every stored response with its answers, for comparing."""
    with read_session(engine) as session:
        rows = session.scalars(select(Response).order_by(Response.id)).all()
        return [
            {
                "uid": row.uid,
                "source": row.source,
                "segment": row.segment,
                "submitted_at": row.submitted_at,
                "answers": {
                    answer.item: (answer.expectation, answer.perception, answer.value, answer.text)
                    for answer in row.answers
                },
            }
            for row in rows
        ]


# Intake ---------------------------------------------------------------------------------------
def test_a_response_is_acknowledged_only_once_committed(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    """Does 201 come with the stored id, and is that row (with every answer) in the database
    when the client reads the reply?"""
    reply = api.post(campaign, {"answers": ANSWERS, "segment": "enterprise"}, "call-0001")
    assert reply.status_code == 201
    assert reply.json["replayed"] is False
    (row,) = stored(app_engine)
    assert row["uid"] == reply.json["id"]
    assert row["source"] == Source.API
    assert row["segment"] == "enterprise"
    assert row["answers"]["rel_a"] == (6, 4, None, None)
    assert row["answers"]["comment"][3] == "Quick and friendly"
    assert row["answers"]["overall"][2] == 4


def test_submitted_at_is_kept_and_a_future_one_refused(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    when = {"answers": ANSWERS, "submitted_at": "2026-04-05T10:00:00+02:00"}
    assert api.post(campaign, when, "t-1").status_code == 201
    (row,) = stored(app_engine)
    assert row["submitted_at"].replace(tzinfo=UTC) == datetime(2026, 4, 5, 8, tzinfo=UTC)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    reply = api.post(campaign, {"answers": ANSWERS, "submitted_at": future}, "t-2")
    assert reply.status_code == 422
    assert {"field": "submitted_at", "message": "is in the future"} in reply.json["errors"]
    bad = api.post(campaign, {"answers": ANSWERS, "submitted_at": "yesterday"}, "t-3")
    assert bad.json["errors"][0]["field"] == "submitted_at"
    assert count_responses(app_engine) == 1


def test_a_retry_returns_the_first_reply_and_stores_nothing_twice(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    first = api.post(campaign, {"answers": ANSWERS}, "call-0002")
    again = api.post(campaign, {"answers": ANSWERS}, "call-0002")
    quoted = api.post(campaign, {"answers": ANSWERS}, '"call-0002"')  # RFC 8941 string form
    assert first.status_code == again.status_code == quoted.status_code == 201
    assert again.json == {**first.json, "replayed": True}
    assert quoted.json["id"] == first.json["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count_responses(app_engine) == 1


def test_the_same_key_with_another_body_is_refused(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    api.post(campaign, {"answers": ANSWERS}, "call-0003")
    before = stored(app_engine)
    reply = api.post(campaign, {"answers": {**ANSWERS, "overall": 1}}, "call-0003")
    assert reply.status_code == 422
    assert reply.json["type"].endswith("/idempotency-conflict")
    assert "different body" in reply.json["detail"]
    assert stored(app_engine) == before


def test_keys_are_scoped_to_the_api_key(
    app: Flask, app_engine: Engine, api: ApiCaller, campaign: str
) -> None:
    """Two integrations choosing the same Idempotency-Key do not collide."""
    other = ApiCaller(app, add_api_key(app_engine, "crm"))
    one = api.post(campaign, {"answers": ANSWERS}, "1")
    two = other.post(campaign, {"answers": {**ANSWERS, "overall": 2}}, "1")
    assert one.status_code == two.status_code == 201
    assert one.json["id"] != two.json["id"]


@pytest.mark.parametrize("header", [None, "", "has space", "x" * 129, "ünïcode"])
def test_an_idempotency_key_is_required_and_checked(
    api: ApiCaller, app_engine: Engine, campaign: str, header: str | None
) -> None:
    reply = api.post(campaign, {"answers": ANSWERS}, header)
    assert reply.status_code == 400
    assert "Idempotency-Key" in reply.json["detail"]
    assert count_responses(app_engine) == 0


@pytest.mark.parametrize(
    ("body", "threads", "rows"),
    [
        ({"answers": ANSWERS}, 50, 1),
        ({"responses": [{"answers": ANSWERS}, {"answers": {**ANSWERS, "overall": 1}}]}, 20, 2),
    ],
    ids=["single", "batch"],
)
def test_concurrent_retries_store_one_response(
    db_url: str, tmp_path: Path, mixed: Instrument, body: dict[str, Any], threads: int, rows: int
) -> None:
    """R7 (a): the same key and body sent by many threads at once → the rows of one request,
    201 for every thread with the same ids, and the stored answers are the ones sent."""
    app = make_app(db_url, tmp_path, GAPMETER_API_RATE_LIMIT="1000 per minute")
    engine = app.extensions["gapmeter.engine"]
    key = add_campaign(engine, mixed, "busy")
    api_key = add_api_key(engine)
    barrier = threading.Barrier(threads)
    replies: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        reply = client.post(
            f"{PREFIX}/campaigns/{key}/responses",
            json=body,
            headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": "same-call"},
        )
        with lock:
            replies.append((reply.status_code, reply.get_json()))

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [status for status, _ in replies] == [201] * threads, replies[:3]
    assert len({json.dumps(reply.get("id") or reply["responses"]) for _, reply in replies}) == 1
    assert sum(1 for _, reply in replies if not reply["replayed"]) == 1
    found = stored(engine)
    assert len(found) == rows
    assert found[0]["answers"]["rel_a"] == (6, 4, None, None)
    assert found[-1]["answers"]["overall"][2] == (4 if rows == 1 else 1)
    with read_session(engine) as session:
        answers = session.scalar(select(func.count()).select_from(Answer))
    assert answers == sum(len(row["answers"]) for row in found)
    engine.dispose()


def test_invalid_answers_are_listed_by_field(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    """The survey page's validator: out of scale, not on the scale's NA, unknown slot, a
    missing required answer, a wrong points total — each named."""
    answers = {**ANSWERS, "rel_a__perception": 9, "recommend": "NA", "bogus": 1}
    del answers["overall"]
    answers["reliability__importance"] = 10
    reply = api.post(campaign, {"answers": answers}, "bad-1")
    assert reply.status_code == 422
    assert reply.json["type"].endswith("/invalid-answers")
    pairs = {(error["field"], error["message"]) for error in reply.json["errors"]}
    assert ("rel_a__perception", "must be from 1 to 7") in pairs
    assert ("bogus", "is not a question of this survey") in pairs
    assert ("overall", "please answer this question") in pairs
    fields = {field for field, _ in pairs}
    assert {"recommend", "reliability__importance"} <= fields
    assert any("not applicable" in message for field, message in pairs if field == "recommend")
    assert any("add up to 100" in message for _, message in pairs)
    assert count_responses(app_engine) == 0


def test_nul_in_text_is_refused_not_crashed(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    """PostgreSQL cannot store NUL: a 422 naming the field on both databases, never a 500."""
    reply = api.post(campaign, {"answers": {**ANSWERS, "comment": "a\x00b"}}, "nul")
    assert reply.status_code == 422
    assert reply.json["errors"] == [
        {"field": "comment", "message": "contains a NUL character, which cannot be stored"}
    ]
    segment = api.post(campaign, {"answers": ANSWERS, "segment": "con\x00sumer"}, "nul-2")
    assert segment.status_code == 422
    assert count_responses(app_engine) == 0


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"answers": ANSWERS, "status": "complete"}, "status", "is not a field here"),
        ({"answers": ANSWERS, "campaign_id": 2}, "campaign_id", "is not a field here"),
        ({"answers": [1, 2]}, "answers", "must be an object"),
        ({"answers": {"overall": [4]}}, "overall", "must be a whole number or text or null"),
        ({"answers": {"overall": 4.5}}, "overall", "must be a whole number"),
        ({}, "answers", "is required"),
        ({"answers": ANSWERS, "segment": "x" * 41}, "segment", "at most 40 characters"),
        ({"responses": []}, "responses", "at least 1 entry"),
    ],
)
def test_the_request_schema_refuses_other_shapes(
    api: ApiCaller, campaign: str, body: Any, field: str, message: str
) -> None:
    """Mass assignment (T14) and wrong types: unknown fields and shapes are named, not stored."""
    reply = api.post(campaign, body, "shape")
    assert reply.status_code == 422
    assert any(
        error["field"] == field and message in error["message"] for error in reply.json["errors"]
    ), reply.json


def test_an_unknown_segment_is_refused(api: ApiCaller, campaign: str) -> None:
    reply = api.post(campaign, {"answers": ANSWERS, "segment": "martians"}, "seg")
    assert reply.status_code == 422
    (error,) = reply.json["errors"]
    assert error["field"] == "segment"
    assert "consumer" in error["message"]  # the known keys are listed


# Batches --------------------------------------------------------------------------------------
def test_a_batch_is_stored_whole(api: ApiCaller, app_engine: Engine, campaign: str) -> None:
    batch = {"responses": [{"answers": ANSWERS}, {"answers": {**ANSWERS, "overall": 2}}]}
    reply = api.post(campaign, batch, "batch-1")
    assert reply.status_code == 201
    ids = [item["id"] for item in reply.json["responses"]]
    assert [row["uid"] for row in stored(app_engine)] == ids
    again = api.post(campaign, batch, "batch-1")
    assert again.json == {**reply.json, "replayed": True}
    assert count_responses(app_engine) == 2


def test_a_batch_with_one_bad_response_stores_nothing(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    batch = {
        "responses": [
            {"answers": ANSWERS},
            {"answers": {**ANSWERS, "overall": 0}},
            {"answers": ANSWERS, "segment": "nowhere"},
        ]
    }
    reply = api.post(campaign, batch, "batch-2")
    assert reply.status_code == 422
    assert {(e["index"], e["field"]) for e in reply.json["errors"]} == {
        (1, "overall"),
        (2, "segment"),
    }
    assert count_responses(app_engine) == 0


def test_a_batch_key_reused_for_a_single_response_conflicts(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    api.post(campaign, {"responses": [{"answers": ANSWERS}]}, "shape-key")
    reply = api.post(campaign, {"answers": ANSWERS}, "shape-key")
    assert reply.status_code == 422
    assert count_responses(app_engine) == 1


def test_a_batch_fails_whole_when_the_campaign_closes(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    with write_session(app_engine) as session:
        campaigns.close_campaign(session, campaign)
    reply = api.post(campaign, {"responses": [{"answers": ANSWERS}] * 3}, "closed")
    assert reply.status_code == 409
    assert "closed" in reply.json["detail"]
    assert count_responses(app_engine) == 0


# Who may post where ---------------------------------------------------------------------------
def test_unknown_campaign_is_404(api: ApiCaller) -> None:
    reply = api.post("no-such-campaign", {"answers": ANSWERS}, "x1")
    assert reply.status_code == 404
    assert "no-such-campaign" in reply.json["detail"]
    assert api.call("GET", "/campaigns/no-such-campaign").status_code == 404


def test_a_scoped_key_stays_in_its_campaign(
    app: Flask, app_engine: Engine, mixed: Instrument, campaign: str
) -> None:
    other = add_campaign(app_engine, mixed, "store")
    scoped = ApiCaller(app, add_api_key(app_engine, "store tablet", campaign="store"))
    assert scoped.post(other, {"answers": ANSWERS}, "s1").status_code == 201
    for target in (campaign, "does-not-exist"):  # the same 403 whether it exists or not
        reply = scoped.post(target, {"answers": ANSWERS}, "s2")
        assert reply.status_code == 403
        assert "store" in reply.json["detail"]
        assert scoped.call("GET", f"/campaigns/{target}").status_code == 403
        assert scoped.call("GET", f"/campaigns/{target}/assessment").status_code == 403
    listed = scoped.call("GET", "/campaigns").json["campaigns"]
    assert [row["key"] for row in listed] == ["store"]
    assert count_responses(app_engine) == 1


def test_an_invitation_only_campaign_is_not_posted_to(
    api: ApiCaller, app_engine: Engine, mixed: Instrument
) -> None:
    key = add_campaign(app_engine, mixed, "invited", access=Access.INVITATION)
    reply = api.post(key, {"answers": ANSWERS}, "inv")
    assert reply.status_code == 409
    assert "invitation" in reply.json["detail"]
    assert count_responses(app_engine) == 0


def test_missing_and_revoked_keys_get_401(
    api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    for key in (None, "gmk_not-a-key", "Basic abc"):
        reply = api.post(campaign, {"answers": ANSWERS}, "k", key=key)
        assert reply.status_code == 401
        assert reply.headers["WWW-Authenticate"].lower().startswith("bearer")
    with write_session(app_engine) as session:
        accounts.revoke_api_key(session, "hotline system")
    reply = api.call("GET", "/campaigns")
    assert reply.status_code == 401
    assert "revoked" in reply.json["detail"]
    assert count_responses(app_engine) == 0


def test_a_staff_session_alone_gets_401(
    app: Flask, api: ApiCaller, app_engine: Engine, campaign: str
) -> None:
    """S9: the API ignores session cookies, even an admin's."""
    admin = add_account(app_engine, Role.ADMIN)
    assert login(api.client, admin).status_code == 303
    reply = api.post(campaign, {"answers": ANSWERS}, "cookie", key=None)
    assert reply.status_code == 401
    assert api.call("GET", "/campaigns", key=None).status_code == 401
    assert count_responses(app_engine) == 0


def test_last_use_is_recorded(api: ApiCaller, app_engine: Engine) -> None:
    api.call("GET", "/campaigns")
    with read_session(app_engine) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == "hotline system"))
        assert row is not None
        assert row.last_used_at is not None


# Limits ---------------------------------------------------------------------------------------
def test_rate_limit_per_key(
    db_url: str,
    tmp_path: Path,
    mixed: Instrument,
    limiter_storage: dict[str, Any],  # noqa: F811
) -> None:
    """The fourth request of a key within the minute is a 429 problem with Retry-After; another
    key is not affected (memory and Redis storage)."""
    app = make_app(db_url, tmp_path, GAPMETER_API_RATE_LIMIT="3 per minute", **limiter_storage)
    engine = app.extensions["gapmeter.engine"]
    add_campaign(engine, mixed, "limited")
    busy, quiet = ApiCaller(app, add_api_key(engine)), ApiCaller(app, add_api_key(engine))
    statuses = [busy.call("GET", "/campaigns").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = busy.call("GET", "/campaigns")
    assert refused.mimetype == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert quiet.call("GET", "/campaigns").status_code == 200
    engine.dispose()


def test_only_api_replies_carry_rate_limit_headers(
    api: ApiCaller, app: Flask, campaign: str
) -> None:
    """The limiter's hooks run for the API alone: its replies say the limit, a survey page and
    the health check say nothing of it (and pay nothing for it)."""
    reply = api.call("GET", "/campaigns")
    assert reply.status_code == 200
    assert reply.headers["X-RateLimit-Limit"] == "120"
    assert int(reply.headers["X-RateLimit-Remaining"]) < 120
    client = app.test_client()
    for path in (f"/s/{campaign}", "/health"):
        page = client.get(path)
        assert page.status_code == 200
        assert not [name for name, _ in page.headers if name.startswith("X-RateLimit")]


def test_oversized_body_is_413(api: ApiCaller, app: Flask, campaign: str) -> None:
    big = {"answers": {**ANSWERS, "comment": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)}}
    reply = api.post(campaign, big, "big")
    assert reply.status_code == 413
    assert reply.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
        ('{"answers": {"overall": NaN}}', "application/json", 400),
        ("{not json", "application/json", 400),
        (b"\xff\xfe\x00", "application/json", 400),
        ("answers=1", "application/x-www-form-urlencoded", 415),
    ],
)
def test_bodies_that_are_not_json_are_refused(
    api: ApiCaller, app_engine: Engine, campaign: str, data: Any, content_type: str, status: int
) -> None:
    reply = api.call(
        "POST",
        f"/campaigns/{campaign}/responses",
        data=data,
        headers={"Content-Type": content_type, "Idempotency-Key": "raw"},
    )
    assert reply.status_code == status
    assert reply.json["detail"]
    assert count_responses(app_engine) == 0


# Reading --------------------------------------------------------------------------------------
def test_campaigns_and_instruments_can_be_read(
    api: ApiCaller, campaign: str, mixed: Instrument
) -> None:
    listed = api.call("GET", "/campaigns").json["campaigns"]
    assert [row["key"] for row in listed] == [campaign]
    one = api.call("GET", f"/campaigns/{campaign}").json
    assert one["instrument"] == {"key": "mixed", "version": 1}
    assert one["state"] == "open"
    versions = api.call("GET", "/instruments").json["instruments"]
    assert [(row["key"], row["version"]) for row in versions] == [("mixed", 1)]
    assert versions[0]["slots"] == [slot.name for slot in mixed.slots()]
    full = api.call("GET", "/instruments/mixed/1").json
    assert full["definition"]["key"] == "mixed"
    assert full["content_hash"] == mixed.content_hash
    assert api.call("GET", "/instruments/mixed/2").status_code == 404


def test_the_assessment_is_the_engines(api: ApiCaller, app_engine: Engine, campaign: str) -> None:
    """The GET returns what ``assess_campaign`` computes (the same n, groups and meta)."""
    batch = [
        {"answers": {**ANSWERS, "rel_a__perception": 1 + index % 7}, "segment": segment}
        for index, segment in enumerate(["consumer"] * 6 + ["enterprise"] * 6)
    ]
    assert api.post(campaign, {"responses": batch}, "many").status_code == 201
    reply = api.call("GET", f"/campaigns/{campaign}/assessment?by=segment")
    assert reply.status_code == 200
    body = reply.json
    expected = assess_campaign(app_engine, campaign, by=["segment"]).to_json()
    assert body["meta"]["n_responses"] == expected["meta"]["n_responses"] == 12
    assert body["meta"]["by"] == ["segment"]
    assert [group["group"] for group in body["groups"]] == [
        group["group"] for group in expected["groups"]
    ]
    assert body["groups"][0]["items"] == expected["groups"][0]["items"]
    assert api.call("GET", f"/campaigns/{campaign}/assessment?by=colour").status_code == 422
    assert api.call("GET", f"/campaigns/{campaign}/assessment?from=soon").status_code == 422


# The document ---------------------------------------------------------------------------------
def _documented_rules(app: Flask) -> Iterator[tuple[str, str]]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            template = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield template, method.lower()


def test_every_route_is_documented_and_every_documented_path_exists(app: Flask) -> None:
    document = openapi_document()
    Draft202012Validator.check_schema({"components": document["components"]})
    routes = set(_documented_rules(app))
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert routes == documented
    assert document["servers"] == [{"url": PREFIX}]
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name


def test_the_document_is_served(api: ApiCaller) -> None:
    reply = api.call("GET", "/openapi.json")
    assert reply.json["openapi"].startswith("3.1")
    assert reply.json == json.loads(json.dumps(openapi_document()))


def test_unrouted_api_paths_get_problems_and_pages_keep_theirs(api: ApiCaller) -> None:
    headers = {"Authorization": f"Bearer {api.key}"}
    missing = api.client.get(f"{PREFIX}/no-such-thing", headers=headers)
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    assert "openapi.json" in missing.json["detail"]
    wrong_method = api.client.delete(f"{PREFIX}/campaigns", headers=headers)
    assert wrong_method.status_code == 405
    assert wrong_method.mimetype == "application/problem+json"
    assert "GET" in wrong_method.headers["Allow"]
    page = api.client.get("/no-such-page")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert api.client.get("/s/no-such-campaign").mimetype == "text/html"
