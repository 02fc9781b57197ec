"""axe-core on the pages people see: no serious or critical violations (the rest are printed).

Public pages (every survey page state, the thank-you and unavailable pages, sign-in) and the
signed-in ones: the account page, and every kind of page of the studio (as a researcher) and
of the insights area (as a manager) reachable by links from the area's front page, so a new page
is checked without editing this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    PLAYWRIGHT_MISSING,
    LiveServer,
    assert_accessible,
    blueprint_or_skip,
    run_axe,
    screenshot,
    sign_in,
)
from tests.browser.survey_steps import answer_page, press

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def test_survey_pages_have_no_serious_violations(
    new_context: Callable[..., BrowserContext], live_server: LiveServer, axe_source: str
) -> None:
    """Every kind of survey page: questions and errors (phone and desktop), the points
    allocation and its error (phone), the other language, the thank-you page and an
    unavailable survey."""
    key = live_server.campaign("service-quality", 2)
    for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = new_context(viewport=viewport).new_page()
        page.goto(f"/s/{key}")
        assert_accessible(page, axe_source, f"survey page 1 ({device})")
        press(page, "Next")  # nothing answered: every question has an error
        expect(page.locator(".error-summary")).to_be_visible()
        screenshot(page, f"axe-survey-{device}-all-errors")
        assert_accessible(page, axe_source, f"survey page 1 with errors ({device})")

    # On to the points allocation (on the phone, the page left above), and its error.
    for _ in range(6):
        answer_page(page, turn=1)
        press(page, "Next")
    expect(page.locator("input[type=number]").first).to_be_visible()
    assert_accessible(page, axe_source, "survey allocation page")
    page.locator("input[type=number]").first.fill("300")
    press(page, "Submit my answers")
    expect(page.locator(".error-summary")).to_be_visible()
    screenshot(page, "axe-survey-phone-allocation-error")
    assert_accessible(page, axe_source, "survey allocation error")

    page = new_context().new_page()
    page.goto(f"/s/{key}?lang=zh-Hant")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    screenshot(page, "axe-survey-zh-Hant")
    assert_accessible(page, axe_source, "survey page 1 (zh-Hant)")
    page.goto(f"/s/{key}/thanks")
    assert_accessible(page, axe_source, "thank-you page")
    response = page.goto("/s/no-such-campaign")
    assert response is not None
    assert response.status == 404
    screenshot(page, "axe-survey-unknown")
    assert_accessible(page, axe_source, "unknown survey page")


def test_sign_in_and_account_pages_have_no_serious_violations(
    new_context: Callable[..., BrowserContext], live_server: LiveServer, axe_source: str
) -> None:
    """The sign-in page, its wrong-password state and the account page."""
    page = new_context(viewport=PHONE).new_page()
    page.goto("/login")
    screenshot(page, "login-phone")
    assert_accessible(page, axe_source, "sign-in page")
    page.get_by_label("E-mail").fill("nobody@example.com")
    page.get_by_label("Password").fill("not the password")
    press(page, "Sign in")
    expect(page.get_by_role("alert")).to_contain_text("not right")
    screenshot(page, "login-wrong-password")
    assert_accessible(page, axe_source, "sign-in page after a wrong password")

    page = new_context().new_page()
    sign_in(page, live_server, "manager")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    screenshot(page, "account")
    assert_accessible(page, axe_source, "account page")


#: Where each GET form leads when sent as it stands (its default choices), like a link.
GET_FORM_TARGETS = """forms => forms.map(form => {
    const target = new URL(form.action);
    target.search = new URLSearchParams(new FormData(form)).toString();
    return target.href;
})"""
#: Most pages one crawl checks (one per kind of page, i.e. per URL rule).
CRAWL_LIMIT = 25


@pytest.mark.parametrize(("blueprint", "role"), [("studio", "researcher"), ("insights", "manager")])
def test_staff_pages_have_no_serious_violations(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    axe_source: str,
    blueprint: str,
    role: str,
) -> None:
    """Every kind of page of the studio and of the insights area a signed-in person can reach
    by following links from the area's front page (one page per URL rule); a link that does
    not answer 200 fails too."""
    blueprint_or_skip(live_server, blueprint)
    page = new_context().new_page()
    sign_in(page, live_server, role)
    checked = crawl(page, live_server, f"/{blueprint}/", axe_source)
    print(f"{blueprint}: axe checked {len(checked)} kinds of page: {checked}")  # noqa: T201
    assert len(checked) > 1, f"no pages linked from /{blueprint}/"


def crawl(page: Page, live_server: LiveServer, start: str, axe_source: str) -> list[str]:
    """Breadth-first from ``start`` over links (and GET forms as they stand) under it; each URL
    rule's first page is visited, screenshotted and checked with axe (downloads are only
    fetched). Returns the endpoints checked."""
    adapter = live_server.app.url_map.bind("127.0.0.1")
    queue, seen, checked = [start], set(), []
    while queue and len(seen) < CRAWL_LIMIT:
        path = queue.pop(0)
        try:
            endpoint, _ = adapter.match(urlsplit(path).path, method="GET")
        except HTTPException:
            continue
        if endpoint in seen:
            continue
        seen.add(endpoint)
        probe = page.request.get(path, max_redirects=0)
        assert probe.status == 200, f"{path} (linked) answered {probe.status}"
        if not probe.headers.get("content-type", "").startswith("text/html"):
            continue
        page.goto(path)
        screenshot(page, "crawl-" + endpoint.replace(".", "-"))
        assert_accessible(page, axe_source, path)
        checked.append(endpoint)
        hrefs: list[str] = page.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
        hrefs += page.locator("form[method=get]").evaluate_all(GET_FORM_TARGETS)
        for href in hrefs:
            parts = urlsplit(href)
            if href.startswith(live_server.url) and parts.path.startswith(start):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return checked


def test_axe_reports_what_it_should(
    new_context: Callable[..., BrowserContext], axe_source: str
) -> None:
    """The checker itself: a planted unlabelled field and image without alt text are reported
    as critical, so a clean result on the real pages means something."""
    page = new_context().new_page()
    page.set_content('<main><h1>Planted</h1><img src="data:,"><input type="text"></main>')
    found = {v["id"]: v["impact"] for v in run_axe(page, axe_source)}
    assert found.get("image-alt") == "critical"
    assert found.get("label") == "critical"
