"""The terminal summary follows the reporting rules and explains every empty value."""

from __future__ import annotations

from analysis.assessment import assess
from analysis.text_output import interval, number, p_value, render_text
from tests.analysis.conftest import cells_of, record


def test_number_formats() -> None:
    assert number(None) == "–"
    assert number(float("nan")) == "–"
    assert number(-0.1234, 3, signed=True) == "-0.123"
    assert p_value(0.0004) == "<0.001"
    assert p_value(0.0456) == "0.046"
    assert interval(None, 1.0) == "–"
    assert interval(-1.0, 0.5) == "[-1.00, 0.50]"


def test_verdicts_use_the_adjusted_test_and_never_say_no_difference(small) -> None:
    rows = [
        {
            "c1__expectation": 5,
            "c1__perception": 2 + i % 2,
            "c2__expectation": 3,
            "c2__perception": 3 + (i % 3) - 1,
        }
        for i in range(12)
    ]
    text = render_text(assess(cells_of(small, [record(small, r) for r in rows]), small))
    assert "below expectation" in text
    assert "not distinguishable from 0" in text
    assert "no difference" not in text


def test_every_null_has_its_reason_printed(small) -> None:
    """One respondent: the sd, the interval and the tests are empty, and the summary says why."""
    text = render_text(
        assess(
            cells_of(small, [record(small, {"c1__expectation": 4, "c1__perception": 2})]),
            small,
            min_cell=1,
        )
    )
    assert "Empty values:" in text
    assert "c1: one respondent: no sd, interval, test or effect size" in text
    assert "c2: no respondents" in text


def test_suppressed_parts_are_listed_with_their_n(small) -> None:
    records = [record(small, {"c1__expectation": 4, "c1__perception": 2, "sat": 4})] * 6
    records += [record(small, {"c2__expectation": 4, "c2__perception": 2})] * 2
    text = render_text(assess(cells_of(small, records), small))
    assert "all respondents item c2: n = 2" in text
    assert "all respondents metric ces_mean: n = 0" in text
    assert "fewer than 5 respondents (n = 2): suppressed" in text
