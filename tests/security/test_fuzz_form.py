"""Property-based fuzzing of the survey form (security.md R11, S17; issue 6 "Hostile input").

Hypothesis builds a posted form from a real page: the browser's hidden inputs and token, a
complete valid answer set, and then arbitrary changes: fields dropped, duplicated or added under
arbitrary names, values replaced by arbitrary unicode, huge or numeric-looking text, the CSRF
token kept, dropped or forged, and sometimes raw bytes that are not UTF-8. For every example:

* never a 5xx;
* a 303 (the acknowledgement) stores exactly one response; anything else stores nothing
  (responses and answers counted before and after);
* every refusal explains itself: a 422 has an error summary whose links point at fields on the
  page, each with its message; a 400 keeps the answers and asks to press again; a 413 says the
  request is too large.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

import pytest
from flask import Flask
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from surveys.instrument import Instrument
from tests.security.conftest import FUZZ, SLOW_EXAMPLES, counts
from tests.webapp.conftest import MIXED_FORM, Page, SurveyClient, add_campaign, read_page
from webapp.errors import MESSAGES
from webapp.forms.i18n import ui

#: A complete, valid response to ``mixed`` (every page's answers; the last page submits).
VALID = MIXED_FORM
#: ``mixed`` has three pages (two sections and the points allocation); posting the last submits.
LAST_PAGE = "2"
CONTROL = ("gm_nav", "gm_page", "gm_state", "gm_lang", "gm_token", "csrf_token")

_names = st.one_of(st.sampled_from([*VALID, *CONTROL]), st.text(max_size=40))
_values = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", " ", "NA", "na", "0", "-1", "8", "11", "999999999999", "1e3", "7.0"]),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["next", "back", "submit", "lang:zh-Hant", "lang:xx", "lang:"]),
    st.integers(min_value=0, max_value=1_100_000).map(lambda n: "x" * n),  # past 1 MiB
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30).map(lambda s: s * 2000),
)
_edits = st.lists(
    st.one_of(
        st.tuples(st.just("drop"), st.sampled_from([*VALID, *CONTROL]), st.just("")),
        st.tuples(st.just("set"), _names, _values),
        st.tuples(st.just("add"), _names, _values),  # a duplicated or extra field
    ),
    max_size=6,
)
_csrf = st.integers(0, 3).flatmap(
    lambda n: st.sampled_from(["drop", "forge", "other-session"]) if n == 0 else st.just("keep")
)
_raw_bytes = st.integers(0, 3).flatmap(
    lambda n: st.binary(min_size=1, max_size=300) if n == 0 else st.none()
)


def build_form(
    page: Page, edits: list[tuple[str, str, str]], csrf: str, other_token: str
) -> list[tuple[str, str]]:
    data: dict[str, str] = {**page.hidden, **VALID, "gm_nav": "next", "gm_page": LAST_PAGE}
    extra: list[tuple[str, str]] = []
    for action, name, value in edits:
        if action == "drop":
            data.pop(name, None)
        elif action == "set":
            data[name] = value
        else:
            extra.append((name, value))
    if csrf == "drop":
        data.pop("csrf_token", None)
    elif csrf == "forge":
        data["csrf_token"] = "IjAwMDAi.forged.token"
    elif csrf == "other-session":
        data["csrf_token"] = other_token
    return [*data.items(), *extra]


def explains(reply_page: Page, status: int) -> None:
    """The refusal says what is wrong and where (the assertions of the module docstring)."""
    html = reply_page.html
    if status == 422:
        assert reply_page.summary_links, "422 without an error summary"
        for link in reply_page.summary_links:
            assert link.startswith("#"), link
            assert f'id="{link[1:]}"' in html, link
        assert reply_page.errors, "422 without an error beside a field"
        assert all(reply_page.errors.values()), reply_page.errors
    elif status == 400:
        resubmit = [ui("csrf_resubmit", lang) for lang in ("en", "zh-Hant")]
        assert any(" ".join(text.split()) in " ".join(html.split()) for text in resubmit) or (
            MESSAGES[400][1] in html
        ), html[:500]
    elif status == 413:
        assert MESSAGES[413][1] in html
    else:
        assert re.search(r"<h1[^>]*>[^<]+</h1>", html), f"{status} page without a heading"


def fuzz_form(app: Flask, engine: Engine, campaign: str, seen: Counter[int]) -> Any:
    @example(edits=[], csrf="keep", raw=None)  # the valid form, acknowledged
    @example(edits=[("drop", "visit", "")], csrf="keep", raw=None)  # a required answer missing
    @given(edits=_edits, csrf=_csrf, raw=_raw_bytes)
    def check(edits: list[tuple[str, str, str]], csrf: str, raw: bytes | None) -> None:
        browser = SurveyClient(app.test_client())
        page = browser.open_survey(f"/s/{campaign}")
        assert page.status == 200
        other = SurveyClient(app.test_client()).open_survey(f"/s/{campaign}").hidden["csrf_token"]
        fields = build_form(page, edits, csrf, other)
        body = urlencode(fields).encode("ascii")
        if raw is not None:  # bytes that need not be UTF-8, under a real field name
            body += b"&comment=" + quote_from_bytes(raw).encode("ascii")
        before = counts(engine)
        reply = browser.client.post(
            page.action or "", data=body, content_type="application/x-www-form-urlencoded"
        )
        status = reply.status_code
        after = counts(engine)
        event(f"status {status}")
        seen[status] += 1
        assert status < 500, reply.get_data(as_text=True)[:500]
        if status == 303:
            assert "/thanks" in reply.headers["Location"]
            assert after.responses == before.responses + 1
            assert after.answers > before.answers
        else:
            assert after == before, f"{status} but something was stored"
            explains(read_page(reply), status)

    return check


@pytest.fixture
def campaign(app_engine: Engine, mixed: Instrument) -> str:
    return add_campaign(app_engine, mixed, "fuzz")


def test_the_valid_form_is_accepted(app: Flask, app_engine: Engine, campaign: str) -> None:
    """The baseline the fuzzer mutates is itself accepted (else every example is a refusal)."""
    browser = SurveyClient(app.test_client())
    page = browser.open_survey(f"/s/{campaign}")
    body = urlencode(build_form(page, [], "keep", ""))
    reply = browser.client.post(
        page.action or "", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert reply.status_code == 303
    assert counts(app_engine).responses == 1


def test_fuzzed_forms_never_crash_or_half_store(
    app: Flask, app_engine: Engine, campaign: str
) -> None:
    seen: Counter[int] = Counter()
    FUZZ(fuzz_form(app, app_engine, campaign, seen))()
    assert seen[303], seen  # the fuzzer reaches both acceptance and refusal
    assert seen[422], seen


@pytest.mark.slow
def test_fuzzed_forms_many_examples(app: Flask, app_engine: Engine, campaign: str) -> None:
    seen: Counter[int] = Counter()
    settings(FUZZ, max_examples=SLOW_EXAMPLES)(fuzz_form(app, app_engine, campaign, seen))()
    assert {303, 400, 413, 422} <= set(seen), seen
