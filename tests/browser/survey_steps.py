"""Steps through a survey in the browser, as a respondent takes them: read the page's questions,
click answer labels, fill numbers and comments, press the form's buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page


def radio_groups(page: Page) -> dict[str, list[tuple[str, str]]]:
    """The survey form's radio groups on this page: ``name -> [(value, id), ...]``."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for radio in page.locator("form#survey input[type=radio]").all():
        name, value, ident = (radio.get_attribute(a) or "" for a in ("name", "value", "id"))
        groups.setdefault(name, []).append((value, ident))
    return groups


def choose(page: Page, ident: str) -> None:
    """Click the visible label of an option (the input itself is drawn by its label)."""
    page.locator(f"label[for='{ident}']").click()


def answer_page(page: Page, turn: int, skip: str | None = None) -> dict[str, str]:
    """Answer every question on the page (deterministic, varied, some "not applicable"), except
    the group ``skip``; return the answers given, by field name."""
    given: dict[str, str] = {}
    for index, (name, options) in enumerate(radio_groups(page).items()):
        if name == skip:
            continue
        points = [(value, ident) for value, ident in options if value != "NA"]
        na = [(value, ident) for value, ident in options if value == "NA"]
        value, ident = (
            na[0] if na and (index + turn) % 7 == 3 else points[(index * 3 + turn) % len(points)]
        )
        choose(page, ident)
        given[name] = value
    numbers = page.locator("form#survey input[type=number]").all()
    if numbers:  # the importance allocation: 100 points shared out, the rest to the first
        share = 100 // len(numbers)
        for index, field in enumerate(numbers):
            points = share + (100 - share * len(numbers) if index == 0 else 0)
            field.fill(str(points))
            given[field.get_attribute("name") or ""] = str(points)
    for area in page.locator("form#survey textarea").all():
        area.fill(f"Friendly staff, run {turn} <b>not bold</b>")
        given[area.get_attribute("name") or ""] = area.input_value()
    return given


def page_number(page: Page) -> tuple[int, int]:
    progress = page.locator(".progress progress")
    return int(progress.get_attribute("value") or 0), int(progress.get_attribute("max") or 0)


def press(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()
