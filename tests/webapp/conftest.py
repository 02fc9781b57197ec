"""Web fixtures: an app on a real database (SQLite and PostgreSQL, as ``db_url``), rows built
with small factories, and a test client that fills in forms the way a browser does.

CSRF stays on: ``SurveyClient`` reads the token (and every other hidden input) from the page it
was given, exactly as a browser posts a form back.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from werkzeug.test import TestResponse

from instruments import library_files
from surveys import taxonomy
from surveys.clock import utcnow
from surveys.db import write_session
from surveys.instrument import Instrument
from surveys.instrument_loader import load_instrument_file, load_instrument_text
from surveys.models import Access, Response, Role
from surveys.services import campaigns, instruments, invitations
from tests.webapp.test_insights_support import fill_demo, signed_in
from webapp import create_app

SECRET = "test-secret-key-that-is-long-enough-0123456789"


# The app -------------------------------------------------------------------------------------
@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on an empty database with the schema (both kinds), CSRF on."""
    app = make_app(db_url, tmp_path)
    yield app
    app.extensions["gapmeter.engine"].dispose()


def make_app(db_url: str, tmp_path: Path, **config: Any) -> Flask:
    settings = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "GAPMETER_DATABASE_URL": db_url,
        "GAPMETER_AUTO_MIGRATE": False,
        "SECRET_KEY": SECRET,
        "TESTING": True,
        **config,
    }
    return create_app(settings)


@pytest.fixture
def demo(app_engine: Engine) -> Engine:
    """The app's database filled by the demo generator (the insights tests)."""
    return fill_demo(app_engine)


@pytest.fixture
def manager(app: Flask, demo: Engine) -> FlaskClient:
    """A manager signed in on the demo database (the insights tests)."""
    return signed_in(app, demo, Role.MANAGER)


@pytest.fixture
def app_engine(app: Flask) -> Engine:
    engine: Engine = app.extensions["gapmeter.engine"]
    return engine


@pytest.fixture
def client(app: Flask) -> SurveyClient:
    return SurveyClient(app.test_client())


# Instruments and rows ------------------------------------------------------------------------
def library_instrument(name: str) -> Instrument:
    path = next(path for path in library_files() if Path(str(path)).name == name)
    return load_instrument_file(Path(str(path)))


@pytest.fixture(scope="session")
def service_quality() -> Instrument:
    """The library's 22-item gap survey (expectation + perception, 7 points, NA, allocation)."""
    return library_instrument("service-quality.yaml")


#: A small instrument that uses every kind of field, in two languages, on two pages.
MIXED_YAML = """
key: mixed
version: 1
title: {en: Mixed test survey, zh-Hant: 混合測試問卷}
languages: [en, zh-Hant]
thanks: {en: Thanks for helping, zh-Hant: 感謝您的協助}
scales:
  agree7:
    points: 7
    labels:
      1: {en: Strongly disagree, zh-Hant: 非常不同意}
      7: {en: Strongly agree, zh-Hant: 非常同意}
    not_applicable: true
  sat5:
    points: 5
    labels:
      1: {en: Very dissatisfied, zh-Hant: 非常不滿意}
      2: {en: Dissatisfied, zh-Hant: 不滿意}
      3: {en: Neutral, zh-Hant: 普通}
      4: {en: Satisfied, zh-Hant: 滿意}
      5: {en: Very satisfied, zh-Hant: 非常滿意}
dimensions:
  - {key: reliability, label: {en: Reliability, zh-Hant: 可靠性}}
  - {key: empathy, label: {en: Empathy, zh-Hant: 同理心}}
items:
  - key: rel_a
    dimension: reliability
    text: {en: "ITEM_A_TEXT", zh-Hant: 準時完成承諾}
    measures: [expectation, perception]
    scale: agree7
  - key: emp_a
    dimension: empathy
    text: {en: Treats you as a person, zh-Hant: 把您當作一個人}
    measures: [expectation, perception]
    scale: agree7
  - key: overall
    text: {en: Overall satisfaction, zh-Hant: 整體滿意度}
    measures: [rating]
    scale: sat5
  - key: recommend
    text: {en: Would you recommend us?, zh-Hant: 您會推薦我們嗎？}
    measures: [nps]
  - key: visit
    text: {en: How did you contact us?, zh-Hant: 您如何聯絡我們？}
    measures: [choice]
    options:
      - {key: phone, label: {en: Phone, zh-Hant: 電話}}
      - {key: store, label: {en: In a store, zh-Hant: 門市}}
  - key: comment
    text: {en: Anything else?, zh-Hant: 還有其他意見嗎？}
    measures: [text]
    required: false
    max_length: 50
importance: {method: points, total: 100, over: dimensions}
sections:
  - {key: gaps, title: {en: Service, zh-Hant: 服務}, items: [rel_a, emp_a]}
  - {key: overall, title: {en: Overall, zh-Hant: 整體}, items: [overall, recommend, visit, comment]}
"""

#: A complete, valid answer set for ``MIXED_YAML`` as API JSON; ``MIXED_FORM`` as a browser
#: posts it (every value a string).
MIXED_ANSWERS: dict[str, int | str] = {
    "rel_a__expectation": 6,
    "rel_a__perception": 4,
    "emp_a__expectation": 5,
    "emp_a__perception": "NA",
    "overall": 4,
    "recommend": 9,
    "visit": "phone",
    "comment": "Quick and friendly",
    "reliability__importance": 70,
    "empathy__importance": 30,
}
MIXED_FORM = {name: str(value) for name, value in MIXED_ANSWERS.items()}


def mixed_instrument(item_text: str = "Keeps its promises") -> Instrument:
    """``MIXED_YAML`` with the first item's English text replaced (for hostile-text tests)."""
    quoted = '"' + item_text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return load_instrument_text(MIXED_YAML.replace('"ITEM_A_TEXT"', quoted), "mixed.yaml")


@pytest.fixture
def mixed() -> Instrument:
    return mixed_instrument()


def add_campaign(
    engine: Engine,
    instrument: Instrument,
    key: str | None = None,
    *,
    access: Access = Access.OPEN,
    opens_in: timedelta = timedelta(days=-1),
    closes_in: timedelta | None = None,
) -> str:
    """A campaign of ``instrument`` (registered once) open from ``now + opens_in``."""
    key = key or f"c-{secrets.token_hex(4)}"
    now = utcnow()
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        row = instruments.register_instrument(session, instrument, "")
        campaigns.create_campaign(
            session,
            key=key,
            name=f"Campaign {key}",
            instrument_row=row,
            stage="after_sales",
            channel="web",
            segment="consumer",
            access=access,
            opens_at=now + opens_in,
            closes_at=now + closes_in if closes_in is not None else None,
        )
    return key


def add_invitation(engine: Engine, campaign_key: str) -> str:
    """A fresh invitation token for the campaign (only its SHA-256 is stored)."""
    with write_session(engine) as session:
        campaign = campaigns.campaign_or_error(session, campaign_key)
        (issued,) = invitations.issue_invitations(session, campaign, 1, "consumer")
    return issued.token


def count_responses(engine: Engine) -> int:
    with write_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


# Reading pages -------------------------------------------------------------------------------
@dataclass
class Page:
    """A survey page as a browser sees it: its form's action and inputs, errors and text."""

    response: TestResponse
    action: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # error element id -> text
    summary_links: list[str] = field(default_factory=list)
    described_by: dict[str, str] = field(default_factory=dict)  # input id -> aria-describedby

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def html(self) -> str:
        return self.response.get_data(as_text=True)

    @property
    def slots(self) -> list[str]:
        """Answer fields shown on this page (radio groups, text areas, numbers)."""
        return [*self.radios, *self.texts, *self.numbers]

    def page_number(self) -> tuple[int, int]:
        match = re.search(r'<progress max="(\d+)" value="(\d+)"', self.html)
        assert match, "no progress indicator"
        return int(match.group(2)), int(match.group(1))


class _FormReader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self._textarea: str | None = None
        self._error: str | None = None
        self._in_summary = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        page = self.page
        if tag == "form" and a.get("id") == "survey":
            page.action = a.get("action")
        elif tag == "input":
            kind, name = a.get("type", "text"), a.get("name", "")
            if kind == "hidden":
                page.hidden[name] = a.get("value", "")
            elif kind == "radio":
                page.radios.setdefault(name, []).append(a.get("value", ""))
                if "checked" in a:
                    page.checked[name] = a.get("value", "")
            elif kind == "number":
                page.numbers[name] = a.get("value", "")
            if "aria-describedby" in a:
                page.described_by[a.get("id", "")] = a["aria-describedby"]
        elif tag == "textarea":
            self._textarea = a.get("name", "")
            page.texts[self._textarea] = ""
            if "aria-describedby" in a:
                page.described_by[a.get("id", "")] = a["aria-describedby"]
        elif tag == "p" and "field-error" in a.get("class", ""):
            self._error = a.get("id", "")
            page.errors[self._error] = ""
        elif tag == "div" and "error-summary" in a.get("class", ""):
            self._in_summary = True
        elif tag == "a" and self._in_summary:
            page.summary_links.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "p":
            self._error = None
        elif tag == "div":
            self._in_summary = False

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.page.texts[self._textarea] += data
        if self._error is not None:
            self.page.errors[self._error] += data


def read_page(response: TestResponse) -> Page:
    page = Page(response)
    _FormReader(page).feed(page.html)
    # A textarea's first line break belongs to the markup, not to the value (HTML spec).
    page.texts = {
        name: text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
        for name, text in page.texts.items()
    }
    page.errors = {key: " ".join(text.split()) for key, text in page.errors.items()}
    return page


class SurveyClient:
    """A test client that posts survey forms back with their hidden inputs and CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def open_survey(self, url: str, **kwargs: Any) -> Page:
        return read_page(self.client.get(url, follow_redirects=True, **kwargs))

    def post(
        self,
        page: Page,
        answers: Mapping[str, str] | None = None,
        nav: str = "next",
        *,
        drop: tuple[str, ...] = (),
        override: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Page:
        """Post ``page``'s form as a browser would: hidden inputs, the answers now given on
        the page (or those it shows checked/filled) and the button pressed."""
        assert page.action, "the page has no survey form"
        data = {**page.hidden, **page.checked, **page.texts, **page.numbers}
        data = {key: value for key, value in data.items() if value != ""}
        data.update(answers or {})
        data["gm_nav"] = nav
        data.update(override or {})
        for name in drop:
            data.pop(name, None)
        return read_page(self.client.post(page.action, data=data, **kwargs))
