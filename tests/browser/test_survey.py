"""A customer answers the 22-item service-quality survey in Chromium, on a phone and a desktop.

Each run goes through every section page by clicking the answer labels as a person would, leaves
one required question unanswered on the way, sees the error beside it with every other answer
still chosen, fixes it, submits and lands on the thank-you page; the response stored is the one
given. One run has JavaScript switched off: the survey must work without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from surveys.answers import answers_from_rows, parse_answers
from surveys.models import Campaign, Response
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    PLAYWRIGHT_MISSING,
    LiveServer,
    assert_no_sideways_scroll,
    screenshot,
)
from tests.browser.survey_steps import answer_page, page_number, press, radio_groups
from tests.webapp.conftest import library_instrument

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

SURVEY = library_instrument("service-quality.yaml")


def check_error_beside_field(page: Page, skipped: str, kept: dict[str, str]) -> None:
    """The page came back with an error beside ``skipped``, the summary linking to it, and
    every answer in ``kept`` still chosen."""
    (value, ident), *_ = radio_groups(page)[skipped]
    field = page.locator(f"#{ident}")
    expect(field).to_have_attribute("aria-invalid", "true")
    error_id = next(
        part for part in (field.get_attribute("aria-describedby") or "").split() if "error" in part
    )
    error = page.locator(f"#{error_id}")
    expect(error).to_be_visible()
    assert error.inner_text().strip(), "the error beside the field says nothing"
    # The error sits in the same group (fieldset) as the unanswered options.
    group = page.locator("fieldset", has=page.locator(f"#{ident}")).last
    expect(group.locator(f"#{error_id}")).to_have_count(1)
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator(f"a[href='#{ident}']")).to_have_count(1)
    for name, chosen in kept.items():
        expect(page.locator(f"input[name='{name}'][value='{chosen}']")).to_be_checked()
    assert value  # the skipped group has options


def latest_response(live_server: LiveServer, campaign_key: str) -> Response | None:
    with Session(live_server.engine) as session:
        query = (
            select(Response)
            .join(Campaign, Response.campaign_id == Campaign.id)
            .where(Campaign.key == campaign_key)
            .order_by(Response.id.desc())
            .options(selectinload(Response.answers))
            .limit(1)
        )
        return session.scalars(query).first()


@pytest.mark.parametrize(
    ("device", "viewport", "javascript", "link"),
    [
        pytest.param("phone", PHONE, True, "open", id="phone-javascript-open-link"),
        pytest.param("desktop", DESKTOP, False, "invitation", id="desktop-no-javascript-invited"),
    ],
)
def test_a_customer_answers_every_page_and_is_thanked(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    device: str,
    viewport: dict[str, int],
    javascript: bool,
    link: str,
) -> None:
    """Can a customer answer all pages of the survey by clicking, recover from a missed
    question without losing answers, and have exactly their answers stored? One comes by an
    open link, one by a personal invitation (which then cannot be used again)."""
    if link == "open":
        key = live_server.campaign("service-quality", 0)
        address = f"/s/{key}"
    else:
        key = str(live_server.demo.invitation_campaign)
        address = live_server.demo.invitation_links[0]
    before = latest_response(live_server, key)
    phone = device == "phone"  # a touch device that honours the viewport meta tag
    context = new_context(
        viewport=viewport, java_script_enabled=javascript, is_mobile=phone, has_touch=phone
    )
    page = context.new_page()
    page.goto(address)
    if link == "invitation":  # the token leaves the address bar at once
        expect(page).to_have_url(f"{live_server.url}/i/")
    expect(page.locator("h1")).to_be_visible()
    assert page.evaluate("window.innerWidth") == viewport["width"]

    given: dict[str, str] = {}
    pages_seen: list[tuple[int, int]] = []
    turn = 0 if phone else 1
    while True:
        number, total = page_number(page)
        pages_seen.append((number, total))
        expect(page.get_by_text(f"Page {number} of {total}")).to_be_visible()
        screenshot(page, f"survey-{device}-page{number}")
        assert_no_sideways_scroll(page)
        if number == 2:  # miss one required question, press Next, come back to an error
            skipped = next(iter(radio_groups(page)))
            partial = answer_page(page, turn, skip=skipped)
            press(page, "Next")
            assert page_number(page) == (2, total), "a page with a missing answer moved on"
            screenshot(page, f"survey-{device}-page2-error")
            check_error_beside_field(page, skipped, partial)
            # Follow the summary's link to the field, as a keyboard or screen reader user would.
            page.locator(".error-summary a").first.click()
            given.update(answer_page(page, turn))
        else:
            given.update(answer_page(page, turn))
        if number == total:
            press(page, "Submit my answers")
            break
        press(page, "Next")

    assert pages_seen == [(n, 7) for n in range(1, 8)]
    expect(page).to_have_url(f"{live_server.url}/s/{key}/thanks?lang=en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
    screenshot(page, f"survey-{device}-thanks")

    stored = latest_response(live_server, key)
    assert stored is not None
    assert before is None or stored.id != before.id, "no new response was stored"
    assert stored.source == "web"
    assert stored.language == "en"
    assert answers_from_rows(SURVEY, stored.answers) == parse_answers(SURVEY, given)
    if link == "invitation":
        assert stored.invitation_id is not None
        again = page.goto(address)
        assert again is not None
        assert again.status == 409, "a used invitation opened the survey again"
        screenshot(page, f"survey-{device}-invitation-used")


def test_a_keyboard_user_answers_a_page_without_a_mouse(
    new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    """Can a page be answered with Tab, the arrow keys and Enter alone, with the focus always
    visible: the skip link first, then one stop per question group, then the Next button?"""
    key = live_server.campaign("service-quality", 3)
    page = new_context(viewport=DESKTOP).new_page()
    page.goto(f"/s/{key}")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0, "the focused skip link is off screen"
    page.keyboard.press("Enter")  # to the main content
    expect(page.locator("main")).to_be_focused()

    groups = radio_groups(page)
    chosen: dict[str, str] = {}
    for step, name in enumerate(groups):
        page.keyboard.press("Tab")
        focused = page.locator("input:focus")
        expect(focused).to_have_attribute("name", name)
        face = page.locator("input:focus + .face")
        assert face.evaluate("e => getComputedStyle(e).outlineStyle") != "none", (
            f"no visible focus on {name}"
        )
        for _ in range(step % 4 + 1):  # arrows move and select, as in any radio group
            page.keyboard.press("ArrowRight")
        chosen[name] = page.locator("input:focus").get_attribute("value") or ""
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Next", exact=True)).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page_number(page) == (2, 7)
    screenshot(page, "survey-keyboard-page2")
    assert set(chosen) == set(groups)
    assert all(value.isdigit() for value in chosen.values()), chosen
