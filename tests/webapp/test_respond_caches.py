"""What the survey pages keep between requests (``webapp.respond.caches``): first views drawn once
and joined with fresh per-request values, campaigns kept a few seconds, and what is still read
anew so that a closed survey takes no more answers."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from surveys.clock import utcnow
from surveys.db import write_session
from surveys.instrument import Instrument
from surveys.models import Access
from surveys.services import campaigns
from tests.webapp.conftest import (
    MIXED_FORM,
    SurveyClient,
    add_campaign,
    add_invitation,
    count_responses,
    make_app,
)
from tests.webapp.test_studio_support import post_form, signed_in
from webapp.respond import caches
from webapp.respond.caches import TimedCache
from webapp.respond.routes import split_at

#: The per-request values of a first view, blanked so two views can be compared.
_VARYING = re.compile(r'(name="(?:csrf_token|gm_state|gm_token)" (?:type="hidden" )?value=)"[^"]*"')


def _blanked(html: str) -> str:
    return _VARYING.sub(r'\1""', html)


def _close_behind_the_cache(engine: Engine, key: str) -> None:
    """Close the campaign as another worker (or the CLI) would: not through this app."""
    with write_session(engine) as session:
        campaigns.close_campaign(session, key, at=utcnow() - timedelta(seconds=1))


# First views -------------------------------------------------------------------------------------
def test_first_views_share_their_html_but_not_their_tokens(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """Two first visits: the same page but for a CSRF token and form state of their own, each
    of which works (the second visitor's page posts on to page 2)."""
    key = add_campaign(app_engine, mixed)
    first = client.open_survey(f"/s/{key}")
    second = SurveyClient(client.client.application.test_client()).open_survey(f"/s/{key}")
    assert first.status == second.status == 200
    assert first.hidden["csrf_token"] != second.hidden["csrf_token"]
    assert first.hidden["gm_state"] != second.hidden["gm_state"]
    assert _blanked(first.html) == _blanked(second.html)
    assert first.html.count(first.hidden["csrf_token"]) == 1
    assert second.html.count(first.hidden["csrf_token"]) == 0
    assert client.post(first, MIXED_FORM).page_number() == (2, 3)


def test_a_first_view_is_the_page_the_template_draws(
    db_url: str, tmp_path: Path, mixed: Instrument
) -> None:
    """Kept parts joined again give exactly what drawing the page anew gives (the cache off:
    every page drawn by the template)."""
    cached = make_app(db_url, tmp_path / "a")
    drawn = make_app(db_url, tmp_path / "b", GAPMETER_CAMPAIGN_CACHE_SECONDS=0)
    key = add_campaign(cached.extensions["gapmeter.engine"], mixed)
    with cached.app_context():
        caches.first_views()._entries.clear()
    views = [cached.test_client().get(f"/s/{key}?lang=en").get_data(as_text=True) for _ in "ab"]
    fresh = drawn.test_client().get(f"/s/{key}?lang=en").get_data(as_text=True)
    assert _blanked(views[0]) == _blanked(views[1]) == _blanked(fresh)
    for app in (cached, drawn):
        app.extensions["gapmeter.engine"].dispose()


def test_an_invitation_page_carries_its_own_token_only(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """First views of two invitations to one campaign: each page holds its own token and
    never the other's (the kept parts hold no token)."""
    key = add_campaign(app_engine, mixed, access=Access.INVITATION)
    tokens = [add_invitation(app_engine, key) for _ in "ab"]
    pages = [
        SurveyClient(client.client.application.test_client()).open_survey(f"/i/{token}")
        for token in tokens
    ]
    for page, token, other in zip(pages, tokens, reversed(tokens), strict=True):
        assert page.status == 200
        assert page.hidden["gm_token"] == token
        assert token in page.html
        assert other not in page.html
    with client.client.application.app_context():
        kept = caches.first_views()._entries.values()
        assert not [p for _, p in kept if any(t.encode() in b"".join(p) for t in tokens)]


def test_split_at_cuts_at_each_value_once_in_order() -> None:
    assert split_at("a<X>b<Y>c", ["<X>", "<Y>"]) == ("a", "b", "c")
    assert split_at("a<X>b<X>c", ["<X>"]) is None  # twice: the page is drawn every time
    assert split_at("a<Y>b<X>c", ["<X>", "<Y>"]) is None  # out of order
    assert split_at("abc", ["<X>"]) is None
    assert split_at("abc", [""]) is None


# Campaigns ---------------------------------------------------------------------------------------
def test_a_campaign_closed_elsewhere_takes_no_answer(
    client: SurveyClient, app_engine: Engine, mixed: Instrument
) -> None:
    """Closed behind the cache (another worker, the CLI): a kept first view may still show for
    a few seconds, but posting a page reads the campaign anew (410), and a submission is
    refused inside its write transaction; nothing is stored."""
    key = add_campaign(app_engine, mixed)
    page = client.open_survey(f"/s/{key}")
    nearly = client.post(client.post(page, MIXED_FORM), MIXED_FORM)
    assert nearly.page_number() == (3, 3)
    _close_behind_the_cache(app_engine, key)
    assert client.open_survey(f"/s/{key}").status == 200  # kept: at most the cache's seconds
    assert client.post(page, MIXED_FORM).status == 410  # a page that is not the last: read anew
    last = client.post(nearly, MIXED_FORM, nav="submit")
    assert last.status == 410
    assert "closed" in last.html.lower()
    assert count_responses(app_engine) == 0


def test_without_the_cache_a_closed_campaign_shows_at_once(
    db_url: str, tmp_path: Path, mixed: Instrument
) -> None:
    app = make_app(db_url, tmp_path, GAPMETER_CAMPAIGN_CACHE_SECONDS=0)
    engine = app.extensions["gapmeter.engine"]
    key = add_campaign(engine, mixed)
    browser = app.test_client()
    assert browser.get(f"/s/{key}").status_code == 200
    _close_behind_the_cache(engine, key)
    assert browser.get(f"/s/{key}").status_code == 410
    engine.dispose()


def test_the_studio_closing_a_campaign_shows_at_once_in_its_worker(
    app: Flask, app_engine: Engine, mixed: Instrument
) -> None:
    """The studio forgets the campaign it closes or opens, so the pages of the same worker
    show the change at once, not after the cache's seconds."""
    key = add_campaign(app_engine, mixed)
    respondent = app.test_client()
    assert respondent.get(f"/s/{key}").status_code == 200  # now kept
    researcher = signed_in(app, app_engine)
    page = f"/studio/campaigns/{key}"
    assert post_form(researcher, page, f"{page}/close").status_code == 303
    assert respondent.get(f"/s/{key}").status_code == 410
    assert post_form(researcher, page, f"{page}/open").status_code == 303
    assert respondent.get(f"/s/{key}").status_code == 200


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_timed_cache_keeps_values_for_their_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(caches.time, "monotonic", clock)
    cache: TimedCache[str, int] = TimedCache(5, size=2)
    made: list[str] = []

    def make(key: str, value: int | None = 1) -> int | None:
        made.append(key)
        return value

    assert cache.get("a", lambda: make("a")) == 1
    clock.now += 4.9
    assert cache.get("a", lambda: make("a", 2)) == 1  # still fresh
    clock.now += 0.2
    assert cache.get("a", lambda: make("a", 3)) == 3  # expired: made anew
    assert cache.get("a", lambda: make("a", 4), renew=True) == 4
    assert cache.get("none", lambda: make("none", None)) is None
    assert cache.get("none", lambda: make("none", None)) is None  # None is never kept
    cache.get("b", lambda: make("b"))
    cache.get("c", lambda: make("c"))  # over size: the least recently used ("a") goes
    assert set(cache._entries) == {"b", "c"}
    assert made == ["a", "a", "a", "none", "none", "b", "c"]


def test_a_cache_of_zero_seconds_keeps_nothing() -> None:
    cache: TimedCache[str, int] = TimedCache(0, size=4)
    assert cache.get("a", lambda: 1) == 1
    assert cache._entries == {}
