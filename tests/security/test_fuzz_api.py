"""Property-based fuzzing of the API's response intake (security.md R11, S17, T14).

Hypothesis sends ``POST /api/v1/campaigns/<key>/responses`` with arbitrary JSON bodies (random
trees, and valid bodies with fields mutated, added or retyped, batches included), arbitrary
``Idempotency-Key``, ``Content-Type`` and ``Authorization`` headers, and raw bytes. For every
example:

* never a 5xx;
* a 201 stores exactly the responses it acknowledges; anything else stores nothing;
* every refusal is an RFC 9457 problem document that matches the OpenAPI ``Problem`` schema,
  with a non-empty ``detail``; a 422 about answers lists each bad field by name.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from sqlalchemy import Engine

from surveys.instrument import Instrument
from tests.security.conftest import FUZZ, SLOW_EXAMPLES, counts
from tests.webapp.conftest import MIXED_ANSWERS, add_campaign
from tests.webapp.test_auth_support import add_api_key
from webapp.api.openapi import PREFIX, schema_for

VALID: dict[str, Any] = MIXED_ANSWERS
PROBLEM = Draft202012Validator(schema_for("Problem"))
JSON = "application/json"

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=20,
)
_answer_value = st.one_of(
    _json,
    st.integers(min_value=-3, max_value=120),
    st.sampled_from(
        ["NA", "na", "", " ", "phone", "store", "7", "1e2", "\x00", "\ud800", "a\udc80"]
    ),
    st.integers(min_value=0, max_value=30_000).map(lambda n: "é" * n),
)


@st.composite
def mutated_body(draw: st.DrawFn) -> Any:
    answers: dict[str, Any] = dict(VALID)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 4]))):
        name = draw(st.sampled_from([*VALID, "campaign", "status", "__proto__"]) | st.text())
        if draw(st.booleans()):
            answers.pop(name, None)
        else:
            answers[name] = draw(_answer_value)
    item: dict[str, Any] = {"answers": answers}
    if draw(st.booleans()):
        item["segment"] = draw(st.sampled_from(["consumer", "business", "nope", ""]) | st.text())
    if draw(st.booleans()):
        item["submitted_at"] = draw(
            st.sampled_from(["2026-04-05T10:00:00Z", "2999-01-01T00:00:00Z", "yesterday"])
            | st.text(max_size=50)
        )
    if draw(st.booleans()):
        item[draw(st.sampled_from(["campaign", "status", "created_by", "id"]))] = draw(_json)
    if draw(st.integers(0, 3)) == 0:
        size = draw(st.integers(0, 3))
        return {"responses": [item] * size}
    return item


def mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], odds: int = 5) -> Any:
    """``common`` about ``odds`` times in ``odds + 1``, else ``rare`` (``one_of`` would merge
    repeated branches, so weights are drawn explicitly)."""
    return st.integers(0, odds).flatmap(lambda n: rare if n == 0 else common)


_body = mostly(mutated_body(), _json, odds=4)
_idempotency = mostly(
    st.just("fresh"),
    st.none()
    | st.text(max_size=200)
    | st.sampled_from(['"quoted-key"', "a" * 129, "with space", "ünïcode"]),
)
_content_type = mostly(
    st.just("application/json"),
    st.sampled_from(
        ["application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
         "application/json-patch+json", ""]
    ),
)  # fmt: skip
_auth = mostly(st.just("good"), st.sampled_from(["none", "garbage", "basic", "empty-bearer"]))
_raw = mostly(st.none(), st.binary(max_size=200))


def _headers(key: str, idempotency: str | None, content_type: str, auth: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    if content_type:
        headers["Content-Type"] = content_type
    if idempotency == "fresh":
        headers["Idempotency-Key"] = secrets.token_hex(8)
    elif idempotency is not None:
        headers["Idempotency-Key"] = idempotency
    headers["Authorization"] = {
        "good": f"Bearer {key}",
        "garbage": "Bearer not-a-key",
        "basic": "Basic dXNlcjpwYXNz",
        "empty-bearer": "Bearer ",
        "none": "",
    }[auth]
    if not headers["Authorization"]:
        del headers["Authorization"]
    return {name: value for name, value in headers.items() if value.isascii()}


def check_reply(reply: Any, before: Any, after: Any) -> None:
    status = reply.status_code
    assert status < 500, reply.get_data(as_text=True)[:500]
    if status == 201:
        body = reply.get_json()
        stored = len(body["responses"]) if "responses" in body else 1
        if body["replayed"]:
            assert after == before
        else:
            assert after.responses == before.responses + stored
        return
    assert after == before, f"{status} but something was stored"
    assert reply.mimetype == "application/problem+json", reply.mimetype
    problem = reply.get_json()
    assert list(PROBLEM.iter_errors(problem)) == [], problem
    assert problem["status"] == status
    assert problem["detail"].strip()
    if status == 422 and problem.get("type", "").endswith("invalid-answers"):
        assert problem["errors"], problem
        assert all(error["field"] and error["message"] for error in problem["errors"])


def fuzz_api(app: Flask, engine: Engine, campaign: str, key: str, seen: Counter[int]) -> Any:
    url = f"{PREFIX}/campaigns/{campaign}/responses"

    @example(body={"answers": VALID}, idem="fresh", content_type=JSON, auth="good", raw=None)
    @example(body={"answers": {}}, idem="fresh", content_type=JSON, auth="good", raw=None)
    @example(
        body={"answers": {**VALID, "": 1}}, idem="fresh", content_type=JSON, auth="good", raw=None
    )
    @example(body={"answers": VALID, "": 1}, idem="fresh", content_type=JSON, auth="good", raw=None)
    @given(body=_body, idem=_idempotency, content_type=_content_type, auth=_auth, raw=_raw)
    def check(body: Any, idem: str | None, content_type: str, auth: str, raw: bytes | None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        before = counts(engine)
        reply = app.test_client().post(
            url, data=data, headers=_headers(key, idem, content_type, auth)
        )
        event(f"status {reply.status_code}")
        seen[reply.status_code] += 1
        check_reply(reply, before, counts(engine))

    return check


@pytest.fixture
def target(roomy_engine: Engine, mixed: Instrument) -> tuple[str, str]:
    campaign = add_campaign(roomy_engine, mixed, "fuzz-api")
    return campaign, add_api_key(roomy_engine)


def test_the_valid_body_is_accepted(
    roomy_app: Flask, roomy_engine: Engine, target: tuple[str, str]
) -> None:
    campaign, key = target
    reply = roomy_app.test_client().post(
        f"{PREFIX}/campaigns/{campaign}/responses",
        json={"answers": VALID},
        headers=_headers(key, "fresh", "application/json", "good"),
    )
    assert reply.status_code == 201, reply.get_json()
    assert counts(roomy_engine).responses == 1


def test_fuzzed_bodies_never_crash_or_half_store(
    roomy_app: Flask, roomy_engine: Engine, target: tuple[str, str]
) -> None:
    seen: Counter[int] = Counter()
    FUZZ(fuzz_api(roomy_app, roomy_engine, *target, seen))()
    assert seen[201], seen  # the fuzzer reaches both acceptance and refusal
    assert seen[422], seen


@pytest.mark.slow
def test_fuzzed_bodies_many_examples(
    roomy_app: Flask, roomy_engine: Engine, target: tuple[str, str]
) -> None:
    seen: Counter[int] = Counter()
    settings(FUZZ, max_examples=SLOW_EXAMPLES)(fuzz_api(roomy_app, roomy_engine, *target, seen))()
    assert {201, 400, 401, 415, 422} <= set(seen), seen


@pytest.mark.parametrize("depth", [100, 10_000, 100_000])
def test_deeply_nested_json_is_a_400(
    roomy_app: Flask, roomy_engine: Engine, target: tuple[str, str], depth: int
) -> None:
    """S17: a 10,000-deep body is refused with a problem, not a RecursionError."""
    campaign, key = target
    body = ("[" * depth + "]" * depth).encode()
    before = counts(roomy_engine)
    reply = roomy_app.test_client().post(
        f"{PREFIX}/campaigns/{campaign}/responses",
        data=body,
        headers=_headers(key, "fresh", "application/json", "good"),
    )
    assert reply.status_code in {400, 413, 422}, reply.get_data(as_text=True)[:300]
    check_reply(reply, before, counts(roomy_engine))


@pytest.mark.parametrize("text", ["\ud800", "ok \udc80", "\udfff\ud800"])
def test_lone_surrogates_are_a_field_problem(
    roomy_app: Flask, roomy_engine: Engine, target: tuple[str, str], text: str
) -> None:
    """R11: JSON may escape a lone surrogate (``"\\ud800"``), which no UTF-8 can store; it is
    a 422 naming the answer (it was a 500 from hashing the payload)."""
    campaign, key = target
    before = counts(roomy_engine)
    reply = roomy_app.test_client().post(
        f"{PREFIX}/campaigns/{campaign}/responses",
        data=json.dumps({"answers": {**VALID, "comment": text}}),
        headers=_headers(key, "fresh", JSON, "good"),
    )
    assert reply.status_code == 422
    assert [error["field"] for error in reply.get_json()["errors"]] == ["comment"]
    check_reply(reply, before, counts(roomy_engine))
