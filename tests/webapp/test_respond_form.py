"""Forms built from instruments: pages, one field per slot, caching, no rules of their own."""

from __future__ import annotations

import pytest
from flask import Flask

from surveys.instrument import Instrument
from surveys.instrument_loader import load_instrument_text
from tests.webapp.conftest import MIXED_YAML, library_instrument
from webapp.forms.response_form import build_response_form, survey_pages


def test_pages_follow_sections_then_the_allocation(service_quality: Instrument) -> None:
    """Does every slot appear on exactly one page: sections in order, allocation last?"""
    pages = survey_pages(service_quality)
    assert len(pages) == 7
    assert [spec.section for spec in pages] == [0, 1, 2, 3, 4, 5, None]
    assert [slot.dimension for slot in pages[-1].slots] == [
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
        "tangibles",
    ]
    on_pages = [slot.name for spec in pages for slot in spec.slots]
    assert sorted(on_pages) == sorted(slot.name for slot in service_quality.slots())
    assert len(on_pages) == len(set(on_pages))


@pytest.mark.parametrize(
    "name",
    [
        "service-quality.yaml",
        "hotline-post-call.yaml",
        "relationship-pulse.yaml",
        "service-recovery.yaml",
    ],
)
def test_every_library_instrument_builds_every_page_in_every_language(
    app: Flask, name: str
) -> None:
    instrument = library_instrument(name)
    with app.test_request_context():
        for language in instrument.languages:
            for spec in survey_pages(instrument):
                form = build_response_form(instrument, language, spec.index)()
                assert list(form.slot_names) == [slot.name for slot in spec.slots]
                for slot in form.slot_names:
                    assert form.field(slot).name == slot


def test_form_classes_are_cached_per_version_language_and_page(mixed: Instrument) -> None:
    assert build_response_form(mixed, "en", 0) is build_response_form(mixed, "en", 0)
    assert build_response_form(mixed, "en", 0) is not build_response_form(mixed, "zh-Hant", 0)
    assert build_response_form(mixed, "en", 0) is not build_response_form(mixed, "en", 1)


def test_fields_per_measure(app: Flask, mixed: Instrument) -> None:
    """Scaled slots are radios with "not applicable" only where the scale allows it; NPS is
    0-10 without it; a choice offers its options; text has its maxlength."""
    with app.test_request_context():
        gaps = build_response_form(mixed, "en", 0)()
        values = [choice.value for choice in gaps.field("rel_a__expectation").choices]
        assert values == ["1", "2", "3", "4", "5", "6", "7", "NA"]
        assert gaps.page.questions[0].paired
        assert [view.caption for view in gaps.page.questions[0].fields] == [
            "What you expect of an excellent company",
            "What you experienced with us",
        ]
        overall = build_response_form(mixed, "en", 1)()
        nps = [choice.value for choice in overall.field("recommend").choices]
        assert nps == [str(value) for value in range(11)]
        assert [choice.value for choice in overall.field("visit").choices] == ["phone", "store"]
        assert 'maxlength="50"' in str(overall.field("comment")())
        rating = overall.page.questions[0].fields[0]
        assert rating.kind == "labelled"  # every point of sat5 is named
        allocation = build_response_form(mixed, "en", 2)()
        assert allocation.page.allocation_total == 100
        assert 'type="number"' in str(allocation.field("reliability__importance")())


def test_slot_names_that_match_form_attributes_do_not_break_the_form(app: Flask) -> None:
    """Items called ``data``, ``errors`` or ``process`` are valid instrument keys; the form
    keeps their fields apart from its own attributes."""
    text = (
        MIXED_YAML.replace("key: overall\n", "key: data\n")
        .replace("items: [overall, recommend", "items: [data, recommend")
        .replace("key: visit", "key: process")
        .replace("visit, comment", "process, comment")
    )
    instrument = load_instrument_text(text, "clash.yaml")
    with app.test_request_context():
        form = build_response_form(instrument, "en", 1)()
        assert form.field("data").name == "data"
        assert form.field("process").name == "process"
        assert isinstance(form.data, dict)
