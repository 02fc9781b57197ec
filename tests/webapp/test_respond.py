"""Survey pages end to end, through the WSGI app on SQLite and PostgreSQL, CSRF on."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from surveys.answers import answers_from_rows, parse_answers
from surveys.instrument import Instrument
from surveys.models import Access, Invitation, Response
from tests.webapp.conftest import (
    Page,
    SurveyClient,
    add_campaign,
    add_invitation,
    count_responses,
    mixed_instrument,
)


def answer_page(page: Page, turn: int = 0) -> dict[str, str]:
    """Deterministic, varied answers for every field on ``page`` (some not applicable)."""
    answers: dict[str, str] = {}
    for index, (name, values) in enumerate(page.radios.items()):
        points = [value for value in values if value != "NA"]
        if "NA" in values and (index + turn) % 7 == 3:
            answers[name] = "NA"
        else:
            answers[name] = points[(index * 3 + turn) % len(points)]
    for name in page.texts:
        answers[name] = "Quick & friendly <b>staff</b>\nThank you"
    if page.numbers:  # the points allocation: 100 shared out, the first area gets the rest
        share = 100 // len(page.numbers)
        for index, name in enumerate(page.numbers):
            answers[name] = str(share + (100 - share * len(page.numbers) if index == 0 else 0))
    return answers


def complete_survey(client: SurveyClient, url: str, turn: int = 0) -> tuple[Page, dict[str, str]]:
    """Answer every page of the survey at ``url``; return the reply to Submit and the answers."""
    page = client.open_survey(url)
    given: dict[str, str] = {}
    while True:
        number, total = page.page_number()
        answers = answer_page(page, turn)
        given.update(answers)
        if number == total:
            return client.post(page, answers, nav="submit"), given
        page = client.post(page, answers)
        assert page.status == 200, page.html


def stored(engine: Engine) -> list[Response]:
    with Session(engine) as session:
        query = select(Response).options(selectinload(Response.answers))
        return list(session.scalars(query))


# The whole journey ---------------------------------------------------------------------------
def test_full_survey_stores_exactly_one_response_with_the_answers(
    client: SurveyClient, app_engine: Engine, service_quality: Instrument
) -> None:
    """Does answering all 7 pages of the 22-item survey store one response holding exactly the
    answers given, and only then send the respondent (303) to the thank-you page?"""
    key = add_campaign(app_engine, service_quality)
    page = client.open_survey(f"/s/{key}")
    assert page.status == 200
    given: dict[str, str] = {}
    seen = []
    while True:
        number, total = page.page_number()
        seen.append((number, total))
        assert f"Page {number} of {total}" in page.html
        answers = answer_page(page)
        given.update(answers)
        if number == total:
            reply = client.post(page, answers, nav="submit")
            break
        assert count_responses(app_engine) == 0
        page = client.post(page, answers)
        assert page.status == 200
        # Earlier answers travel along as hidden inputs; nothing is kept on the server.
        assert all(page.hidden.get(name) == value for name, value in answers.items())

    assert seen == [(n, 7) for n in range(1, 8)]
    assert reply.status == 303
    assert reply.response.headers["Location"].startswith(f"/s/{key}/thanks")
    thanks = client.client.get(reply.response.headers["Location"])
    assert thanks.status_code == 200
    assert "Your answers show us where to improve first." in thanks.get_data(as_text=True)

    responses = stored(app_engine)
    assert len(responses) == 1
    response = responses[0]
    assert response.source == "web"
    assert response.language == "en"
    assert response.duration_seconds is not None
    assert response.duration_seconds >= 0
    expected = parse_answers(service_quality, given)
    assert answers_from_rows(service_quality, response.answers) == expected
    assert len(service_quality.slots()) == len(expected.values) + len(expected.not_applicable)
    assert expected.not_applicable, "the walk should have chosen 'not applicable' somewhere"


def test_back_keeps_answers_and_language_switch_keeps_answers(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """Do Back and a language switch mid-survey show the earlier answers still chosen?"""
    key = add_campaign(app_engine, mixed)
    first = client.open_survey(f"/s/{key}")
    answers = answer_page(first)
    second = client.post(first, answers)
    assert second.page_number() == (2, 3)
    back = client.post(second, answer_page(second), nav="back")
    assert back.page_number() == (1, 3)
    assert back.checked == answers
    switched = client.post(back, nav="lang:zh-Hant")
    assert switched.page_number() == (1, 3)
    assert 'lang="zh-Hant"' in switched.html
    assert "準時完成承諾" in switched.html
    assert switched.checked == answers
    assert switched.hidden["gm_lang"] == "zh-Hant"


# Errors beside fields ------------------------------------------------------------------------
def test_missing_answers_are_shown_beside_their_fields_with_every_answer_kept(
    client: SurveyClient, app_engine: Engine, service_quality: Instrument
) -> None:
    """Does a page with an unanswered question come back (422) with the error beside that
    field, linked from the summary and by aria-describedby, and the other answers kept?"""
    key = add_campaign(app_engine, service_quality)
    page = client.open_survey(f"/s/{key}")
    answers = answer_page(page)
    missing = "rel_promise__perception"
    del answers[missing]
    again = client.post(page, answers)
    assert again.status == 422
    assert again.page_number() == (1, 7)
    assert again.errors == {f"{missing}-error": "please answer this question"}
    assert again.summary_links == [f"#{missing}-0"]
    assert f'id="{missing}-0"' in again.html
    assert again.described_by[f"{missing}-0"] == f"{missing}-error"
    assert again.checked == answers
    assert count_responses(app_engine) == 0


@pytest.mark.parametrize(
    ("slot", "value", "message"),
    [
        ("rel_a__expectation", "9", "must be from 1 to 7"),
        ("rel_a__expectation", "0", "must be from 1 to 7"),
        ("rel_a__perception", "seven", "must be a whole number from 1 to 7"),
        ("rel_a__perception", "4.5", "must be a whole number from 1 to 7"),
        ("emp_a__expectation", "'; DROP TABLE response; --", "must be a whole number"),
    ],
)
def test_forged_values_are_errors_not_crashes(
    client: SurveyClient, app_engine: Engine, mixed: Instrument, slot: str, value: str, message: str
) -> None:
    """Is a value no radio offers (off the scale, not a number) an error beside the field?"""
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    reply = client.post(page, {**answer_page(page), slot: value})
    assert reply.status == 422
    assert message in reply.errors[f"{slot}-error"]
    assert count_responses(app_engine) == 0


def test_forged_choice_text_and_allocation_on_later_pages(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """Are an unknown option, an over-long or NUL text, a wrong points total and a forged
    hidden answer of an earlier page each reported where they belong, never stored?"""
    key = add_campaign(app_engine, mixed)
    first = client.open_survey(f"/s/{key}")
    second = client.post(first, answer_page(first))
    forged = {
        **answer_page(second),
        "visit": "carrier-pigeon",
        "recommend": "11",
        "comment": "x" * 51,
    }
    reply = client.post(second, forged)
    assert reply.status == 422
    assert reply.errors["visit-error"] == "choose one of the options given"
    assert reply.errors["recommend-error"] == "must be from 0 to 10"
    assert reply.errors["comment-error"] == "is longer than 50 characters"
    assert reply.texts["comment"] == "x" * 51

    nul = client.post(second, {**answer_page(second), "comment": "a\x00b"})
    assert "NUL" in nul.errors["comment-error"]

    third = client.post(second, answer_page(second))
    assert third.page_number() == (3, 3)
    short = client.post(third, {"reliability__importance": "60", "empathy__importance": "30"})
    assert short.status == 422
    assert "add up to 100; they add up to 90" in short.errors["allocation-error"]
    assert "Points given: 90 of 100" in short.html
    assert short.numbers == {"reliability__importance": "60", "empathy__importance": "30"}

    # A hidden answer of page 1 forged on the last page: caught on submit, shown on page 1.
    tampered = client.post(
        third,
        {"reliability__importance": "60", "empathy__importance": "40"},
        nav="submit",
        override={"rel_a__expectation": "8"},
    )
    assert tampered.status == 422
    assert tampered.page_number() == (1, 3)
    assert tampered.errors["rel_a__expectation-error"] == "must be from 1 to 7"
    assert "need your attention" in tampered.html
    assert count_responses(app_engine) == 0


# CSRF never loses answers --------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "not-a-real-token", "ImFiYyI.forged.signature"])
def test_csrf_failure_keeps_the_answers_and_a_resubmit_works(
    client: SurveyClient, app_engine: Engine, mixed: Instrument, token: str | None
) -> None:
    """Does a missing or wrong CSRF token re-render the page with the answers and a fresh
    token (never a bare 400), store nothing, and does pressing the button again go on?"""
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    answers = answer_page(page)
    if token is None:
        reply = client.post(page, answers, drop=("csrf_token",))
    else:
        reply = client.post(page, answers, override={"csrf_token": token})
    assert reply.status == 400
    assert "press the button again" in reply.html
    assert reply.checked == answers
    assert reply.hidden["csrf_token"]
    assert reply.hidden["csrf_token"] != token
    assert reply.page_number() == (1, 3)
    assert count_responses(app_engine) == 0
    onwards = client.post(reply)
    assert onwards.status == 200
    assert onwards.page_number() == (2, 3)


def test_csrf_failure_after_the_session_is_lost_keeps_the_answers(
    app: Flask, app_engine: Engine, mixed: Instrument
) -> None:
    """When the session cookie is gone (expired, cleared), is the page still re-rendered with
    the answers, and does the resubmit in the new session succeed?"""
    key = add_campaign(app_engine, mixed)
    first_browser = SurveyClient(app.test_client())
    page = first_browser.open_survey(f"/s/{key}")
    answers = answer_page(page)
    fresh_browser = SurveyClient(app.test_client())  # no cookie: the token's session is gone
    reply = fresh_browser.post(page, answers)
    assert reply.status == 400
    assert reply.checked == answers
    assert fresh_browser.post(reply).page_number() == (2, 3)


# Link states ---------------------------------------------------------------------------------
def test_link_states_have_their_own_page_and_status(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """Unknown 404, not yet open 403 (with the date), closed 410, invitation-only 403?"""
    soon = add_campaign(app_engine, mixed, opens_in=timedelta(days=3))
    over = add_campaign(app_engine, mixed, closes_in=timedelta(seconds=-1))
    private = add_campaign(app_engine, mixed, access=Access.INVITATION)

    unknown = client.client.get("/s/no-such-campaign")
    assert unknown.status_code == 404
    assert "Survey not found" in unknown.get_data(as_text=True)
    not_yet = client.client.get(f"/s/{soon}")
    assert not_yet.status_code == 403
    assert re.search(r"It opens on \d{4}-\d\d-\d\d \d\d:\d\d UTC", not_yet.get_data(as_text=True))
    closed = client.client.get(f"/s/{over}")
    assert closed.status_code == 410
    assert "This survey has closed" in closed.get_data(as_text=True)
    invite_only = client.client.get(f"/s/{private}")
    assert invite_only.status_code == 403
    assert "by invitation" in invite_only.get_data(as_text=True)
    for reply in (unknown, not_yet, closed, invite_only):
        assert 'id="survey"' not in reply.get_data(as_text=True)


def test_campaign_closing_while_answering_is_a_clear_410(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """A campaign that closes between pages: the next post gets the closed page, not a 500."""
    key = add_campaign(app_engine, mixed, closes_in=timedelta(seconds=2))
    page = client.open_survey(f"/s/{key}")
    with Session(app_engine) as session, session.begin():
        from surveys.models import Campaign

        campaign = session.scalar(select(Campaign).where(Campaign.key == key))
        assert campaign is not None
        campaign.closes_at = campaign.opens_at
    reply = client.post(page, answer_page(page))
    assert reply.status == 410


# Invitations ---------------------------------------------------------------------------------
def test_invitation_is_exchanged_for_a_token_free_url_and_answers_once(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """Does /i/<token> redirect to /i/ (token out of the address bar), store one response
    linked to the invitation, and answer every later visit or resubmit with 409?"""
    key = add_campaign(app_engine, mixed, access=Access.INVITATION)
    token = add_invitation(app_engine, key)
    first = client.client.get(f"/i/{token}")
    assert first.status_code == 303
    assert first.headers["Location"] == "/i/"
    assert first.headers["Referrer-Policy"] == "same-origin"
    assert first.headers["Cache-Control"] == "no-store"

    reply, _ = complete_survey(client, f"/i/{token}")
    assert reply.status == 303
    assert token not in reply.response.headers["Location"]
    assert count_responses(app_engine) == 1
    with Session(app_engine) as session:
        invitation = session.scalar(select(Invitation))
        assert invitation is not None
        assert invitation.used_at is not None
        assert token not in {invitation.token_hash}
        response = session.scalar(select(Response))
        assert response is not None
        assert response.invitation_id == invitation.id

    again = client.client.get(f"/i/{token}")
    assert again.status_code == 409
    assert "already been received" in again.get_data(as_text=True)
    other_browser = SurveyClient(client.client.application.test_client())
    late = other_browser.open_survey(f"/i/{token}")
    assert late.status == 409
    assert count_responses(app_engine) == 1


def test_two_tabs_of_one_invitation_store_one_response(
    app: Flask, app_engine: Engine, mixed: Instrument
) -> None:
    """Two tabs opened before either submits: the second submit gets 409, one row stays."""
    key = add_campaign(app_engine, mixed, access=Access.INVITATION)
    token = add_invitation(app_engine, key)
    tab_a, tab_b = SurveyClient(app.test_client()), SurveyClient(app.test_client())
    page_b = tab_b.open_survey(f"/i/{token}")
    page_b = tab_b.post(page_b, answer_page(page_b))
    page_b = tab_b.post(page_b, answer_page(page_b))
    assert page_b.page_number() == (3, 3)
    reply_a, _ = complete_survey(tab_a, f"/i/{token}")
    assert reply_a.status == 303
    reply_b = tab_b.post(page_b, answer_page(page_b), nav="submit")
    assert reply_b.status == 409
    assert "already been received" in reply_b.html
    assert count_responses(app_engine) == 1


@pytest.mark.parametrize("token", ["invented-token", "x" * 500, "%00", "a%20b%22%3E"])
def test_invented_tokens_are_404(client: SurveyClient, app_engine: Engine, token: str) -> None:
    reply = client.client.get(f"/i/{token}")
    assert reply.status_code == 404
    assert "invitation link is not valid" in reply.get_data(as_text=True)
    assert client.client.get("/i/../../etc/passwd").status_code == 404


def test_invitation_page_without_a_token_in_the_session_is_404(client: SurveyClient) -> None:
    assert client.client.get("/i/").status_code == 404


def test_double_submit_of_one_form_is_one_response_and_the_same_thanks(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """A double click (same form posted twice): both end on the thank-you page, one row."""
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    while page.page_number()[0] < page.page_number()[1]:
        page = client.post(page, answer_page(page))
    answers = answer_page(page)
    first = client.post(page, answers, nav="submit")
    second = client.post(page, answers, nav="submit")
    assert first.status == second.status == 303
    assert first.response.headers["Location"] == second.response.headers["Location"]
    assert count_responses(app_engine) == 1


def test_text_line_breaks_are_stored_as_typed(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """Browsers post a textarea's line breaks as CRLF; is the comment stored with \\n, so a
    text that fits maxlength in the browser also fits here?"""
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    page = client.post(page, answer_page(page))
    comment = ("line\r\n" * 9) + "end"  # 9*6 + 3 = 57 with CRLF, 48 with LF: limit is 50
    page = client.post(page, {**answer_page(page), "comment": comment})
    assert page.status == 200, page.errors
    done = client.post(
        page, {"reliability__importance": "50", "empathy__importance": "50"}, "submit"
    )
    assert done.status == 303
    (response,) = stored(app_engine)
    texts = [answer.text for answer in response.answers if answer.item == "comment"]
    assert texts == [comment.replace("\r\n", "\n")]


# Language ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("?lang=zh-Hant", None, "zh-Hant"),
        ("?lang=zh-hant", "en", "zh-Hant"),
        ("?lang=zh", None, "zh-Hant"),
        ("", "zh-Hant,en;q=0.5", "zh-Hant"),
        ("", "zh-TW,zh;q=0.9,en;q=0.8", "zh-Hant"),
        ("", "fr-FR,fr;q=0.9", "en"),
        ("?lang=fr", "zh-Hant", "zh-Hant"),
        ("", None, "en"),
    ],
)
def test_language_from_query_or_browser(
    client: SurveyClient,
    app_engine: Engine,
    mixed: Instrument,
    query: str,
    accept: str | None,
    expected: str,
) -> None:
    key = add_campaign(app_engine, mixed)
    headers = {"Accept-Language": accept} if accept else {}
    page = client.open_survey(f"/s/{key}{query}", headers=headers)
    assert page.status == 200
    assert f'<html lang="{expected}">' in page.html
    title = mixed.title.get(expected)
    assert title in page.html
    assert page.hidden["gm_lang"] == expected
    if expected == "zh-Hant":
        assert "第 1 頁，共 3 頁" in page.html
        assert "您對卓越公司的期望" in page.html


def test_language_switcher_links_on_the_first_page(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    assert '<a href="?lang=zh-Hant" lang="zh-Hant" hreflang="zh-Hant">繁體中文</a>' in page.html


def test_thanks_page_uses_the_instruments_text_in_the_language(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    key = add_campaign(app_engine, mixed)
    page = client.client.get(f"/s/{key}/thanks?lang=zh-Hant").get_data(as_text=True)
    assert "感謝您的協助" in page
    assert '<html lang="zh-Hant">' in page
    assert client.client.get("/s/nothing-here/thanks").status_code == 404


# Hostile instrument text ---------------------------------------------------------------------
def test_instrument_text_is_escaped_and_never_a_template(
    client: SurveyClient, app_engine: Engine
) -> None:
    """Is item text with markup and template syntax shown literally (T1, T5, S4)?"""
    hostile = "<script>alert(1)</script> {{ 7*7 }} {{ config }} {% for x in [1] %}loop{% endfor %}"
    instrument = mixed_instrument(hostile)
    key = add_campaign(app_engine, instrument)
    page = client.open_survey(f"/s/{key}")
    html = page.html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html
    assert "{{ config }}" in html
    assert "{% for x in [1] %}" in html
    legend = re.search(r'id="q-rel_a">\s*<legend class="q-text">(.*?)</legend>', html, re.S)
    assert legend is not None
    assert unescape(legend.group(1)).strip() == hostile  # no 49, no config, no loop output
    assert "SECRET_KEY" not in html
    assert "SECRET_KEY" not in html
    assert "looploop" not in html
    assert "<script" not in html.lower()


def test_respondent_text_is_escaped_when_carried_and_re_rendered(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """A comment with markup and an attribute break-out stays text in the hidden input and in
    the text area."""
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    page = client.post(page, answer_page(page))
    payload = '"><script>alert(2)</script>'
    reply = client.post(page, {**answer_page(page), "comment": payload})
    assert reply.page_number() == (3, 3)
    assert "<script>alert(2)" not in reply.html
    assert reply.hidden["comment"] == payload
    back = client.post(reply, nav="back")
    assert back.texts["comment"] == payload


# Contention ----------------------------------------------------------------------------------
def test_fifty_concurrent_submissions_of_one_invitation_store_one_response(
    app: Flask, app_engine: Engine, mixed: Instrument
) -> None:
    """50 browsers submit the same invitation at once through the WSGI app (security.md R6):
    exactly one response, one 303, the rest 409, no 5xx."""
    key = add_campaign(app_engine, mixed, access=Access.INVITATION)
    token = add_invitation(app_engine, key)
    ready: list[tuple[SurveyClient, Page, dict[str, str]]] = []
    for turn in range(50):
        browser = SurveyClient(app.test_client())
        page = browser.open_survey(f"/i/{token}")
        page = browser.post(page, answer_page(page, turn))
        page = browser.post(page, answer_page(page, turn))
        assert page.page_number() == (3, 3)
        ready.append(
            (
                browser,
                page,
                {"reliability__importance": str(turn), "empathy__importance": str(100 - turn)},
            )
        )
    start = threading.Barrier(len(ready))
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(browser: SurveyClient, page: Page, answers: dict[str, str]) -> None:
        start.wait()
        try:
            status = browser.post(page, answers, nav="submit").status
        except Exception:  # TESTING propagates errors; count them as the 500 they would be
            status = 500
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=args) for args in ready]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [303] + [409] * 49
    assert count_responses(app_engine) == 1


def test_pages_are_not_cached(client: SurveyClient, app_engine: Engine, mixed: Instrument) -> None:
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    assert page.response.headers["Cache-Control"] == "no-store"
    reply = client.post(page, answer_page(page))
    assert reply.response.headers["Cache-Control"] == "no-store"
