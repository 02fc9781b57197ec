"""axe-core on the pages people see: no serious or critical violations (the rest are printed).

Public pages (every survey page state, the thank-you and unavailable pages, sign-in) and the
signed-in ones: the account page, and every parameter-free GET page of the studio (as a
researcher) and the insights area (as a manager), found from the app's URL map so a new page is
checked without editing this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

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
    """Every kind of survey page, on a phone and a desktop: questions, an error, the points
    allocation, the other language, the thank-you page and an unavailable survey."""
    key = live_server.campaign("service-quality", 2)
    for device, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = new_context(viewport=viewport).new_page()
        page.goto(f"/s/{key}")
        assert_accessible(page, axe_source, f"survey page 1 ({device})")
        press(page, "Next")  # nothing answered: every question has an error
        expect(page.locator(".error-summary")).to_be_visible()
        screenshot(page, f"axe-survey-{device}-all-errors")
        assert_accessible(page, axe_source, f"survey page 1 with errors ({device})")
        for _ in range(6):
            answer_page(page, turn=1)
            press(page, "Next")
        expect(page.locator("input[type=number]").first).to_be_visible()
        assert_accessible(page, axe_source, f"survey allocation page ({device})")
        page.locator("input[type=number]").first.fill("300")
        press(page, "Submit my answers")
        expect(page.locator(".error-summary")).to_be_visible()
        screenshot(page, f"axe-survey-{device}-allocation-error")
        assert_accessible(page, axe_source, f"survey allocation error ({device})")

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


def parameter_free_pages(live_server: LiveServer, blueprint: str) -> list[str]:
    """Paths of the blueprint's GET routes that take no URL parameters."""
    return sorted(
        rule.rule
        for rule in live_server.app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{blueprint}.")
        and not rule.arguments
        and "GET" in (rule.methods or ())
        and not rule.endpoint.endswith(".static")
    )


@pytest.mark.parametrize(("blueprint", "role"), [("studio", "researcher"), ("insights", "manager")])
def test_staff_pages_have_no_serious_violations(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    axe_source: str,
    blueprint: str,
    role: str,
) -> None:
    """Every parameter-free page of the studio and of the insights area, signed in."""
    blueprint_or_skip(live_server, blueprint)
    paths = parameter_free_pages(live_server, blueprint)
    assert paths, f"{blueprint} has no page without URL parameters"
    page = new_context().new_page()
    sign_in(page, live_server, role)
    for path in paths:
        check_page(page, path, axe_source, f"{blueprint}{path.replace('/', '-')}")


def check_page(page: Page, path: str, axe_source: str, name: str) -> None:
    """Visit ``path`` if it is a page (downloads are only fetched), screenshot it, run axe."""
    probe = page.request.get(path)
    assert probe.status == 200, f"{path} answered {probe.status}"
    if not probe.headers.get("content-type", "").startswith("text/html"):
        return
    page.goto(path)
    screenshot(page, name)
    assert_accessible(page, axe_source, path)


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
