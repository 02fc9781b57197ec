"""A researcher in the studio, in Chromium: signs in, uploads an instrument (a broken file first,
then a good one), creates an invitation-only campaign of it, issues invitations and downloads
the links; a respondent then opens one of those links. Every page is screenshotted; the states
only this flow reaches (a file's problems, a new campaign) are checked with axe-core here, the
other kinds of page by the crawl in ``test_accessibility``.

Skipped, with the reason, while ``webapp.studio`` is not part of the app.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.models import Campaign, Invitation
from tests.browser.conftest import (
    PLAYWRIGHT_MISSING,
    LiveServer,
    assert_accessible,
    blueprint_or_skip,
    screenshot,
    sign_in,
    submit,
    visit,
)
from tests.webapp.conftest import MIXED_YAML

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

INVITATIONS = 3


def look(page: Page, axe_source: str, name: str) -> None:
    """Screenshot the page and check it with axe (what a person and a screen reader meet)."""
    screenshot(page, f"studio-{name}")
    assert_accessible(page, axe_source, f"studio {name}")


def test_a_researcher_uploads_fields_and_invites(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    axe_source: str,
    tmp_path: Path,
) -> None:
    """Can a researcher go from a YAML file to personal survey links that work, seeing the
    file's problems with their lines when it is broken?"""
    blueprint_or_skip(live_server, "studio")
    key = f"browser-{secrets.token_hex(3)}"
    good = tmp_path / f"{key}.yaml"
    text = MIXED_YAML.replace("key: mixed", f"key: {key}", 1).replace(
        "ITEM_A_TEXT", "Keeps its promises"
    )
    good.write_text(text, encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        good.read_text(encoding="utf-8").replace("dimension: empathy", "dimension: empaty", 1)
    )

    page = new_context().new_page()
    sign_in(page, live_server, "researcher", "/studio/")
    expect(page).to_have_url(f"{live_server.url}/studio/")
    screenshot(page, "studio-index")  # axe: the crawl in test_accessibility

    # Upload: the broken file is refused with its problem and line, nothing stored.
    visit(page, "/studio/instruments")
    screenshot(page, "studio-instruments")  # axe: the crawl in test_accessibility
    upload = page.locator("form[enctype='multipart/form-data']")
    upload.locator("input[type=file]").set_input_files(str(broken))
    with page.expect_navigation():
        upload.get_by_role("button", name="Check and store").click()
    problems = page.locator(".error-summary table.problems tbody tr")
    expect(problems.first).to_be_visible()
    lines = [row.locator("td").first.inner_text().strip() for row in problems.all()]
    assert any(line.isdigit() for line in lines), f"no line numbers among {lines}"
    look(page, axe_source, "instruments-problems")

    # The good file: checked first, then stored, landing on its version page.
    upload = page.locator("form[enctype='multipart/form-data']")
    upload.locator("input[type=file]").set_input_files(str(good))
    with page.expect_navigation():
        upload.get_by_role("button", name="Check only").click()
    expect(page.get_by_role("status")).to_contain_text("The file is valid")
    upload = page.locator("form[enctype='multipart/form-data']")
    upload.locator("input[type=file]").set_input_files(str(good))
    with page.expect_navigation():
        upload.get_by_role("button", name="Check and store").click()
    expect(page).to_have_url(f"{live_server.url}/studio/instruments/{key}/1")
    expect(page.get_by_text(f"Stored {key} version 1")).to_be_visible()
    screenshot(page, "studio-instrument")  # axe: the crawl in test_accessibility

    # A campaign of it, by invitation only.
    visit(page, "/studio/campaigns/new")
    screenshot(page, "studio-campaign-new")  # axe: the crawl in test_accessibility
    campaign_key = f"{key}-invited"
    page.get_by_label("Key (the survey link is /s/KEY)").fill(campaign_key)
    page.get_by_label("Name", exact=True).fill("Browser test campaign")
    page.get_by_label("Instrument version").select_option(f"{key}:1")
    page.get_by_label("Stage", exact=True).select_option("after_sales")
    page.get_by_label("Channel", exact=True).select_option("email")
    page.get_by_label("Personal invitations only").check()
    submit(page, "Create the campaign")
    expect(page).to_have_url(f"{live_server.url}/studio/campaigns/{campaign_key}")
    expect(page.get_by_text(f"Created campaign {campaign_key}")).to_be_visible()
    look(page, axe_source, "campaign")

    # Invitations: the answer is the links file, downloaded.
    count = page.get_by_label("Number of personal links")
    count.fill(str(INVITATIONS))
    invite = page.locator("form", has=count)
    invite.get_by_label("Segment of these respondents").select_option("consumer")
    with page.expect_download() as download_info:
        invite.get_by_role("button").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"{campaign_key}-links-")
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert len(rows) == INVITATIONS
    links = [next(value for value in row.values() if "/i/" in (value or "")) for row in rows]
    assert len(set(links)) == INVITATIONS
    assert all(link.startswith(f"{live_server.url}/i/") for link in links), links

    with Session(live_server.engine) as session:
        campaign = session.scalars(select(Campaign).where(Campaign.key == campaign_key)).one()
        assert campaign.access == "invitation"
        issued = session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.campaign_id == campaign.id)
        )
    assert issued == INVITATIONS

    # A respondent follows a link: the new instrument's survey, without the token in the URL.
    respondent = new_context().new_page()
    respondent.goto(links[0])
    expect(respondent).to_have_url(f"{live_server.url}/i/")
    expect(respondent.get_by_text("Mixed test survey").first).to_be_visible()
    screenshot(respondent, "studio-invited-respondent")
    # And the open link of an invitation-only campaign is refused.
    refused = respondent.goto(f"/s/{campaign_key}")
    assert refused is not None
    assert refused.status == 403
