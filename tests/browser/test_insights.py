"""A manager on the insights dashboard, in Chromium: signs in, narrows the scope with the filter
form, sees the respondent count of that scope, shares the bookmarked address with a colleague
who sees the same view, and downloads the PDF report of the scope (through its wait page).

Skipped, with the reason, while ``webapp.insights`` is not part of the app.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.models import InstrumentVersion, Response
from tests.browser.conftest import (
    PHONE,
    PLAYWRIGHT_MISSING,
    SCREENS,
    LiveServer,
    assert_accessible,
    assert_no_sideways_scroll,
    blueprint_or_skip,
    screenshot,
    sign_in,
    submit,
    visit,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

INSTRUMENT = "service-quality"
SEGMENT = "consumer"
STAGE = "after_sales"
#: The PDF renders in a background job; its wait page refreshes itself until it is ready.
PDF_WAIT_MS = 90_000


def about(page: Page) -> Locator:
    """The dashboard's "About these numbers" region (title, n, periods, the PDF button)."""
    return page.get_by_role("region", name="About these numbers")


def respondents_shown(page: Page) -> int:
    """The scope's respondent count as the dashboard prints it (``n = 1,234 respondents``)."""
    text = about(page).inner_text()
    match = re.search(r"n = ([\d,]+)", text)
    assert match, f"no respondent count in {text!r}"
    return int(match.group(1).replace(",", ""))


def responses_in_scope(live_server: LiveServer, **where: str) -> int:
    """Responses to the service-quality instrument in the database, optionally narrowed."""
    with Session(live_server.engine) as session:
        query = (
            select(func.count())
            .select_from(Response)
            .join(InstrumentVersion, Response.instrument_id == InstrumentVersion.id)
            .where(InstrumentVersion.key == INSTRUMENT)
        )
        for column, value in where.items():
            query = query.where(getattr(Response, column) == value)
        return int(session.scalar(query) or 0)


def charts_are_drawn(page: Page) -> None:
    """Every chart figure holds an SVG image the browser lays out (not its text run together,
    which is what an SVG serialised with ``ns0:`` prefixes turns into inside HTML)."""
    figures = page.locator("figure.chart")
    assert figures.count() > 0, "the dashboard shows no chart"
    for figure in figures.all():
        drawing = figure.locator("svg")
        expect(drawing).to_have_count(1)
        box = drawing.bounding_box()
        assert box is not None
        assert box["width"] > 100
        assert box["height"] > 50


def look(page: Page, axe_source: str, name: str) -> None:
    screenshot(page, f"insights-{name}")
    assert_accessible(page, axe_source, f"insights {name}")


def test_a_manager_filters_shares_and_downloads_the_pdf(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    axe_source: str,
) -> None:
    """Does the filter form narrow the dashboard to the scope chosen (its n is the database's),
    keep the scope in a shareable address, and give the PDF of that scope?"""
    blueprint_or_skip(live_server, "insights")
    page = new_context().new_page()
    sign_in(page, live_server, "manager", "/insights/")
    expect(page).to_have_url(re.compile(r"/insights/"))

    page.get_by_label("Instrument (version)").select_option(f"{INSTRUMENT}:1")
    submit(page, "Show")
    expect(about(page)).to_be_visible()
    everyone = respondents_shown(page)
    assert everyone == responses_in_scope(live_server)
    charts_are_drawn(page)
    screenshot(page, "insights-dashboard")  # axe: the crawl in test_accessibility

    # Narrow to one segment and one stage.
    page.get_by_label("Segments", exact=True).select_option([SEGMENT])
    page.get_by_label("Stages", exact=True).select_option([STAGE])
    submit(page, "Show")
    query = parse_qs(urlsplit(page.url).query)
    assert query["segment"] == [SEGMENT]
    assert query["stage"] == [STAGE]
    assert query["instrument"] == [f"{INSTRUMENT}:1"]
    narrowed = respondents_shown(page)
    assert narrowed == responses_in_scope(live_server, segment=SEGMENT, stage=STAGE)
    assert 0 < narrowed < everyone
    expect(page.get_by_label("Segments", exact=True)).to_have_values([SEGMENT])
    look(page, axe_source, "dashboard-filtered")

    # A colleague opens the shared address, on a phone, and sees the same scope.
    colleague = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    sign_in(colleague, live_server, "manager")
    visit(colleague, page.url.removeprefix(live_server.url))
    assert respondents_shown(colleague) == narrowed
    screenshot(colleague, "insights-dashboard-phone")
    assert_no_sideways_scroll(colleague)
    expect(colleague.get_by_label("Stages", exact=True)).to_have_values([STAGE])

    # The PDF of this scope, through the wait page.
    submit(page, "Download the PDF report of this scope")
    expect(page).to_have_url(re.compile(r"/insights/reports/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("PDF report")
    screenshot(page, "insights-report-wait")
    download_link = page.get_by_role("link", name=re.compile(r"^Download .*\.pdf$"))
    expect(download_link).to_be_visible(timeout=PDF_WAIT_MS)
    look(page, axe_source, "report-ready")
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"gapmeter-{INSTRUMENT}-v1-")
    saved = SCREENS / "insights-report.pdf"  # beside the screenshots, for a person to read
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    text = " ".join(sheet.extract_text() or "" for sheet in PdfReader(saved).pages)
    assert f"{narrowed:,}" in text or str(narrowed) in text, "the PDF does not show the scope's n"
