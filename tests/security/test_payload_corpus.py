"""The hostile-text corpus in every free-text input, read back from every output (security.md S1,
S2, S4, S6, S7; T1, T2, T5, T8, T10; issue 6 "Hostile input").

Inputs: every payload of ``tests.security.payloads`` as a text answer through the survey form,
the API and the CSV import; a combined payload in every instrument text (title, description,
thanks, section titles, item texts, scale labels, dimension labels, option labels — a YAML file
loaded like an upload), in the campaign name and in a segment's label.

Outputs and what each must show:

* survey pages (both languages, a page re-rendered with errors), thank-you page and every staff
  page that exists (found by walking ``app.url_map``): the payload as text, never as markup;
* stored rows: each answer exactly as sent (SQL payloads included: parameterised queries);
* API JSON: names and titles verbatim, served as JSON with ``nosniff``;
* CSV export (the service and any export route): every text cell that begins with a formula
  trigger starts with ``'``, the column count is constant, and undoing the prefix gives the
  original; XLSX exports hold no formula cell; SPSS exports hold the text verbatim;
* ``gapmeter analyze --format json`` on the export: valid JSON;
* the PDF: comments appear as literal text (pypdf), the fetcher was asked for packaged assets
  only, and the file embeds no attachment and links nowhere.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import Engine
from werkzeug.routing import Rule

from analysis.assessment import assess
from analysis.commands import analyze
from analysis.data import cells_from_frame, frame_from_records
from analysis.report.comments import CommentPolicy, clean_text, comments_from_records
from analysis.report.fetcher import ASSET_SCHEME, PACKAGED_ASSETS, PackagedAssetsOnly
from analysis.report.model import build_report_model
from analysis.report.pdf import html_to_pdf
from analysis.report.render import render_html, report_css
from surveys import taxonomy
from surveys.clock import utcnow
from surveys.csv_safety import ESCAPE, FORMULA_TRIGGERS, restore_cell
from surveys.db import Base, make_engine, read_session, write_session
from surveys.instrument import Instrument
from surveys.models import Role
from surveys.response_table import ResponseRecord, export_response_table, table_columns
from surveys.services import campaigns, instruments
from surveys.services.responses import response_records
from tests.security.conftest import signed_in
from tests.security.payloads import (
    MARKUP,
    PAYLOADS,
    Payload,
    assert_escaped,
    assert_shown_literally,
    hostile_instrument,
    hostile_yaml,
    markup_of,
    payload_ids,
)
from tests.webapp.conftest import SurveyClient, make_app, read_page
from tests.webapp.test_auth_support import add_api_key, csrf_token, limiter_config
from webapp.api.openapi import PREFIX
from webapp.auth.policy import Kind, policy_of

#: One string carrying each class of attack, for the instrument's texts, the campaign name and
#: the segment label (each payload alone in those places runs under the slow marker). Short
#: enough for a chart label (a long one is shortened: ``test_a_long_label_...``).
COMBINED = (
    "<script>alert(1)</script>\"><img src=x onerror=alert(1)>{{ 7*7 }}=SUM(1)';--\u202ex\u202c"
)
#: A dimension label as long as the instrument schema allows many times over.
LONG_LABEL = "Staff explain clearly what they will do and then do it " * 4
SEGMENT = "hostile-seg"
BASE_ANSWERS = {
    "rel_a__expectation": "6",
    "emp_a__expectation": "6",
    "visit": "phone",
}


@dataclass
class World:
    """A campaign whose every text is hostile, with one response per payload and input path."""

    app: Flask
    engine: Engine
    instrument: Instrument
    campaign: str
    text: str  # what the instrument texts, campaign name and segment label carry
    api_key: str
    sent: dict[str, str] = field(default_factory=dict)  # response id or source -> comment

    def records(self) -> list[ResponseRecord]:
        with read_session(self.engine) as session:
            row = campaigns.campaign_or_error(session, self.campaign).instrument
            return list(response_records(session, instrument_row=row))


def answers_for(index: int, comment: str) -> dict[str, str]:
    """Answers with varying perception gaps (so the report has weak areas and comments)."""
    return {
        **BASE_ANSWERS,
        "rel_a__perception": str(2 + index % 3),
        "emp_a__perception": str(3 + index % 2),
        "comment": comment,
    }


def submit_by_form(world: World, index: int, payload: Payload) -> None:
    browser = SurveyClient(world.app.test_client())
    page = browser.open_survey(f"/s/{world.campaign}")
    assert page.status == 200
    body = urlencode(
        {**page.hidden, **answers_for(index, payload.text), "gm_nav": "next", "gm_page": "1"}
    )
    reply = browser.client.post(
        page.action or "", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert reply.status_code == 303, read_page(reply).errors
    world.sent[f"form:{payload.name}"] = payload.text


def submit_by_api(world: World, index: int, payload: Payload) -> None:
    answers: dict[str, Any] = {
        name: int(value) if value.isdigit() else value
        for name, value in answers_for(index, payload.text).items()
    }
    reply = world.app.test_client().post(
        f"{PREFIX}/campaigns/{world.campaign}/responses",
        json={"answers": answers, "segment": SEGMENT},
        headers={
            "Authorization": f"Bearer {world.api_key}",
            "Idempotency-Key": secrets.token_hex(8),
        },
    )
    assert reply.status_code == 201, reply.get_json()
    world.sent[f"api:{payload.name}"] = payload.text


def import_csv(world: World, payloads: tuple[Payload, ...]) -> None:
    from surveys.response_table import import_response_table

    stream = io.StringIO(newline="")
    writer = csv.writer(stream)
    columns = table_columns(world.instrument)
    writer.writerow(columns)
    for index, payload in enumerate(payloads):
        row = {
            "response_id": f"csv-{payload.name}",
            "submitted_at": "2026-03-01T09:00:00Z",
            "segment": SEGMENT,
            "stage": "after_sales",
            "channel": "web",
            # A leading ' is the format's escape (the import drops one, as the export adds
            # one), so a text that starts with ' is written as the export would write it.
            **answers_for(
                index, ESCAPE + payload.text if payload.text[:1] == ESCAPE else payload.text
            ),
        }
        writer.writerow([row[name] for name in columns])
        world.sent[f"csv-{payload.name}"] = payload.text
    result = import_response_table(
        world.engine, stream.getvalue().encode("utf-8"), campaign_key=world.campaign
    )
    assert result.added == len(payloads)


def build_world(app: Flask, text: str, payloads: tuple[Payload, ...]) -> World:
    engine: Engine = app.extensions["gapmeter.engine"]
    instrument = hostile_instrument(text)
    key = "hostile"
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        taxonomy.add_term(session, "segment", SEGMENT, text[:120])
        row = instruments.register_instrument(session, instrument, hostile_yaml(text))
        campaigns.create_campaign(
            session,
            key=key,
            name=text[:200],
            instrument_row=row,
            stage="after_sales",
            channel="web",
            segment=SEGMENT,
            opens_at=utcnow() - timedelta(days=1),
        )
    world = World(app, engine, instrument, key, text, add_api_key(engine))
    for index, payload in enumerate(payloads):
        submit_by_form(world, index, payload)
        submit_by_api(world, index, payload)
    import_csv(world, payloads)
    return world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One hostile world per database for the whole module (building it takes seconds)."""
    tmp_path = tmp_path_factory.mktemp("corpus")
    url = (
        f"sqlite:///{tmp_path / 'gapmeter.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = make_app(
        url, tmp_path, **limiter_config("memory"), GAPMETER_API_RATE_LIMIT="100000 per minute"
    )
    try:
        yield build_world(app, COMBINED, PAYLOADS)
    finally:
        app.extensions["gapmeter.engine"].dispose()


# Stored -----------------------------------------------------------------------------------
def test_every_answer_is_stored_verbatim(world: World) -> None:
    """SQL payloads are data: bound parameters, stored and read back byte for byte."""
    records = world.records()
    comments = [record.answers.values.get("comment") for record in records]
    assert len(records) == 3 * len(PAYLOADS)
    for payload in PAYLOADS:
        assert comments.count(payload.text) == 3, payload.name  # form, API and CSV
    by_id = {record.response_id: record for record in records}
    for name, text in world.sent.items():
        if name.startswith("csv-"):
            assert by_id[name].answers.values["comment"] == text
    with read_session(world.engine) as session:
        assert campaigns.campaign_or_error(session, world.campaign).name == " ".join(
            COMBINED.split()
        )


# Pages ------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_survey_pages_show_instrument_texts_as_text(world: World, lang: str) -> None:
    browser = SurveyClient(world.app.test_client())
    first = browser.open_survey(f"/s/{world.campaign}?lang={lang}")
    assert first.status == 200
    assert_shown_literally(first.html, COMBINED, f"page 1 ({lang})")
    second = browser.post(
        first, BASE_ANSWERS | {"rel_a__perception": "3", "emp_a__perception": "3"}
    )
    assert second.status == 200
    assert "visit" in second.radios
    assert_shown_literally(second.html, COMBINED, f"page 2 ({lang})")


@pytest.mark.parametrize("payload", MARKUP, ids=payload_ids(MARKUP))
def test_a_refused_page_shows_the_answer_as_text(world: World, payload: Payload) -> None:
    """The page re-rendered with errors (422) gives the typed text back as text (T2, T7)."""
    browser = SurveyClient(world.app.test_client())
    page = browser.open_survey(f"/s/{world.campaign}")
    answers = answers_for(0, payload.text)
    del answers["visit"]  # a required answer missing: the page comes back with the comment
    body = urlencode({**page.hidden, **answers, "gm_nav": "next", "gm_page": "1"})
    reply = browser.client.post(
        page.action or "", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert reply.status_code == 422
    shown = read_page(reply)
    assert shown.texts["comment"] == payload.text
    assert_shown_literally(shown.html, payload.text, f"422 page with {payload.name}")


def test_thanks_page_shows_its_text_as_text(world: World) -> None:
    reply = world.app.test_client().get(f"/s/{world.campaign}/thanks")
    assert reply.status_code == 200
    assert_shown_literally(reply.get_data(as_text=True), COMBINED, "thank-you page")


# Staff pages, discovered ------------------------------------------------------------------
@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    mimetype: str
    body: bytes


def staff_get_urls(world: World) -> list[str]:
    """Every GET route behind a login, with arguments from the hostile world's rows."""
    values = {
        "campaign_key": world.campaign,
        "key": world.instrument.key,
        "version": "1",
    }
    adapter = world.app.url_map.bind("localhost")
    urls = []
    for rule in world.app.url_map.iter_rules():
        policy = policy_of(world.app, rule.endpoint)
        if policy is None or policy.kind is not Kind.STAFF or "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint == "auth.logout":
            continue
        urls += [adapter.build(rule.endpoint, args) for args in _arguments(rule, values)]
    return urls


def _arguments(rule: Rule, values: dict[str, str]) -> list[dict[str, str]]:
    if "fmt" in rule.arguments:
        return [{**_known(rule, values), "fmt": fmt} for fmt in ("csv", "xlsx", "sav")]
    if set(rule.arguments) - set(values):
        return []  # an object this world has no row for (report jobs, targets, fonts)
    return [_known(rule, values)]


def _known(rule: Rule, values: dict[str, str]) -> dict[str, str]:
    return {name: values[name] for name in rule.arguments if name in values}


@pytest.fixture(scope="module")
def staff_pages(world: World) -> list[Fetched]:
    engine = world.engine
    web = signed_in(world.app, engine, Role.ADMIN)
    fetched = []
    for url in staff_get_urls(world):
        reply = web.get(url)
        fetched.append(Fetched(url, reply.status_code, reply.mimetype, reply.get_data()))
    return fetched


def test_staff_pages_escape_every_payload(world: World, staff_pages: list[Fetched]) -> None:
    """Every staff page that exists now (studio, insights, account) with hostile rows."""
    html_pages = [page for page in staff_pages if page.mimetype == "text/html"]
    if not html_pages:
        pytest.skip("no staff HTML pages are registered yet")
    for page in staff_pages:
        assert page.status < 500, page.url
    for page in html_pages:
        html = page.body.decode("utf-8")
        assert_escaped(html, COMBINED, page.url)
        for payload in MARKUP:
            assert_escaped(html, payload.text, f"{page.url} ({payload.name})")


# Exports ----------------------------------------------------------------------------------
def check_csv_export(text: str, world: World, where: str) -> None:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    assert header == list(table_columns(world.instrument)), where
    assert all(len(row) == len(header) for row in body), f"{where}: ragged rows"
    comment = header.index("comment")
    cells = [row[comment] for row in body]
    for cell in [cell for row in body for cell in row]:
        assert not cell.startswith(FORMULA_TRIGGERS), f"{where}: live formula {cell[:40]!r}"
    restored = [restore_cell(cell) for cell in cells]
    for payload in PAYLOADS:
        assert restored.count(payload.text) == 3, f"{where}: {payload.name}"


def test_csv_export_neutralises_formulas(world: World) -> None:
    stream = io.StringIO(newline="")
    export_response_table(world.engine, stream=stream, campaign_key=world.campaign)
    check_csv_export(stream.getvalue(), world, "export_response_table")


def test_export_routes_are_safe(world: World, staff_pages: list[Fetched]) -> None:
    """Every export a route serves: CSV neutralised, XLSX without formulas, SPSS verbatim."""
    exports = [page for page in staff_pages if "export" in page.url and page.status == 200]
    if not exports:
        pytest.skip("no export route is registered yet")
    kinds = set()
    for page in exports:
        if page.url.endswith(".csv"):
            check_csv_export(page.body.decode("utf-8-sig"), world, page.url)
            kinds.add("csv")
        elif page.url.endswith(".xlsx"):
            check_xlsx(page.body, page.url)
            kinds.add("xlsx")
        elif page.url.endswith(".sav"):
            check_sav(page.body, page.url, tmp=Path(world.app.instance_path))
            kinds.add("sav")
    assert "csv" in kinds


def check_xlsx(body: bytes, where: str) -> None:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(body))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where}: formula in {sheet.title}!{cell.coordinate}"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not cell.value.startswith(FORMULA_TRIGGERS), f"{where}: {cell.value!r}"
    restored = [restore_cell(text) for text in texts]
    for payload in PAYLOADS:
        if payload.kind != "unicode":  # openpyxl refuses some control characters
            assert restored.count(payload.text) >= 3, f"{where}: {payload.name}"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        for name in sheets:
            assert b"<f>" not in archive.read(name), f"{where}: {name} holds a formula"


def check_sav(body: bytes, where: str, tmp: Path) -> None:
    import pyreadstat

    path = tmp / f"export-{secrets.token_hex(4)}.sav"
    path.write_bytes(body)
    try:
        frame, _meta = pyreadstat.read_sav(str(path))
    finally:
        path.unlink()
    comments = list(frame["comment"])
    for payload in PAYLOADS:
        assert comments.count(payload.text) == 3, f"{where}: {payload.name}"


# JSON -------------------------------------------------------------------------------------
def test_api_json_carries_texts_verbatim(world: World) -> None:
    web = world.app.test_client()
    headers = {"Authorization": f"Bearer {world.api_key}"}
    campaign = web.get(f"{PREFIX}/campaigns/{world.campaign}", headers=headers)
    instrument = web.get(f"{PREFIX}/instruments/{world.instrument.key}/1", headers=headers)
    for reply in (campaign, instrument):
        assert reply.status_code == 200
        assert reply.mimetype == "application/json"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert campaign.get_json()["name"] == " ".join(COMBINED.split())
    assert instrument.get_json()["title"] == COMBINED + " title"
    assert instrument.get_json()["definition"]["title"]["en"] == COMBINED + " title"


def test_analyze_json_of_the_export(world: World, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("analyze")
    data, instrument = folder / "export.csv", folder / "hostile.yaml"
    with data.open("w", encoding="utf-8", newline="") as stream:
        export_response_table(world.engine, stream=stream, campaign_key=world.campaign)
    instrument.write_text(hostile_yaml(world.text), encoding="utf-8")
    result = CliRunner().invoke(
        analyze,
        ["--data", str(data), "--instrument", str(instrument), "--format", "json",
         "--by", "segment", "--min-cell", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["meta"]["n_responses"] == 3 * len(PAYLOADS)
    segments = {str(group["group"].get("segment")) for group in document["groups"]}
    assert SEGMENT in segments


# PDF --------------------------------------------------------------------------------------
class RecordingFetcher(PackagedAssetsOnly):
    """The report's locked fetcher, remembering every URL WeasyPrint asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        self.asked.append(url)
        return super().fetch(url, headers)


@dataclass(frozen=True)
class Report:
    html: str
    pdf: bytes
    fetcher: RecordingFetcher


@pytest.fixture(scope="module")
def report(world: World) -> Report:
    records = world.records()
    instrument = world.instrument
    cells = cells_from_frame(frame_from_records(records, instrument), instrument)
    assessment = assess(cells, instrument, by=(), min_cell=5).to_json()
    policy = CommentPolicy(areas=2, per_area=len(records), max_chars=5000)
    labels = {"segment": {SEGMENT: world.text[:120]}}
    model = build_report_model(
        assessment,
        instrument,
        comments=comments_from_records(records, instrument),
        organisation=world.text[:100],
        taxonomy_labels=labels,
        comment_policy=policy,
    )
    fetcher = RecordingFetcher()
    html = render_html(model)
    return Report(html, html_to_pdf(html, report_css(model), fetcher), fetcher)


def pdf_text(body: bytes) -> str:
    """The PDF's text in reading order. Poppler's ``pdftotext -raw``: pypdf 6 decodes the
    comment font (Source Serif, a CFF font with a custom encoding) as UTF-16 noise, while
    poppler reads its ToUnicode map correctly."""
    done = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"],
        input=body,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode("utf-8")


def _squeezed(text: str) -> str:
    return "".join(text.split())


def test_pdf_shows_comments_as_text_and_fetches_nothing(report: Report) -> None:
    body, fetcher = report.pdf, report.fetcher
    for payload in MARKUP:
        assert_escaped(report.html, payload.text, f"report HTML ({payload.name})")
    allowed = {ASSET_SCHEME + name for name in PACKAGED_ASSETS}
    outside = [url for url in fetcher.asked if url not in allowed and not url.startswith("data:")]
    assert outside == [], outside
    reader = PdfReader(io.BytesIO(body))
    text = _squeezed(pdf_text(body))
    shown = [p for p in PAYLOADS if p.kind in {"xss", "html", "sql", "formula", "template"}]
    missing = [p.name for p in shown if _squeezed(clean_text(p.text, 5000)) not in text]
    assert missing == [], f"not printed as text: {missing}"
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"])
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            uri = str(annotation.get_object().get("/A", {}).get("/URI", ""))
            assert "evil" not in uri
            assert not uri.startswith(("file:", "javascript:")), uri


# Each payload alone in the instrument texts (slow) -------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("payload", PAYLOADS, ids=payload_ids())
def test_each_payload_in_instrument_texts(db_url: str, tmp_path: Path, payload: Payload) -> None:
    app = make_app(db_url, tmp_path, **limiter_config("memory"))
    try:
        world = build_world(app, payload.text, (payload,))
        browser = SurveyClient(app.test_client())
        page = browser.open_survey(f"/s/{world.campaign}")
        assert_escaped(page.html, payload.text, f"page 1 with {payload.name}")
        thanks = app.test_client().get(f"/s/{world.campaign}/thanks").get_data(as_text=True)
        assert_escaped(thanks, payload.text, f"thanks with {payload.name}")
        web = signed_in(app, world.engine, Role.ADMIN)
        for url in staff_get_urls(world):
            reply = web.get(url)
            assert reply.status_code < 500, url
            if reply.mimetype == "text/html":
                assert_escaped(reply.get_data(as_text=True), payload.text, url)
        assert not markup_of(page.html).scripts
    finally:
        app.extensions["gapmeter.engine"].dispose()


def test_a_long_label_does_not_break_the_report(world: World) -> None:
    instrument = hostile_instrument(LONG_LABEL)
    records = [
        ResponseRecord(r.response_id, r.submitted_at, r.segment, r.stage, r.channel, r.answers)
        for r in world.records()
    ]
    cells = cells_from_frame(frame_from_records(records, instrument), instrument)
    assessment = assess(cells, instrument, by=(), min_cell=5).to_json()
    model = build_report_model(assessment, instrument)
    assert render_html(model)


def test_the_insights_pdf_shows_comments_as_text(world: World) -> None:
    """The real path: a manager asks for the report, the job renders it in the sandbox with the
    locked fetcher in fatal mode (a request outside the packaged assets fails the job), and the
    downloaded PDF prints the selected comments literally."""
    if "insights.start_report" not in world.app.view_functions:
        pytest.skip("insights reports are not registered yet")
    manager = signed_in(world.app, world.engine, Role.MANAGER)
    reply = manager.post(
        "/insights/reports",
        data={
            "csrf_token": csrf_token(manager, "/account"),
            "instrument": f"{world.instrument.key}:1",
        },
    )
    assert reply.status_code == 303
    job = reply.headers["Location"]
    assert "/insights/reports/" in job, job
    deadline = time.monotonic() + 120
    while True:
        download = manager.get(job + "/pdf")
        if download.status_code != 303:
            break
        page = manager.get(job)
        assert page.status_code == 200, page.get_data(as_text=True)[:1000]  # 500: render failed
        assert time.monotonic() < deadline, "the report job did not finish in 120 s"
        time.sleep(0.5)
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    body = download.get_data()
    reader = PdfReader(io.BytesIO(body))
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"])
    text = _squeezed(pdf_text(body))
    printed = [p.name for p in PAYLOADS if _squeezed(clean_text(p.text, 600)) in text]
    assert any(p.kind in {"xss", "html"} for p in PAYLOADS if p.name in printed), printed
