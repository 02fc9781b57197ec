"""How a posted raw value becomes an answer or a problem the respondent can act on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.answers import AnswerError, _rules, parse_answers
from surveys.instrument import Instrument

SLOT = "overall"  # a 1-5 rating without "not applicable"
NA_SLOT = "emp_a__perception"  # 1-5, "not applicable" offered


def _outcome(instrument: Instrument, slot: str, value: object) -> object:
    """The parsed value, None when nothing was answered, or the problem's message."""
    try:
        answers = parse_answers(instrument, {slot: value}, require_complete=False)
    except AnswerError as error:
        return error.problems[0].message
    if slot in answers.not_applicable:
        return "NA"
    return answers.values.get(slot)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4", 4),
        (" 5 ", 5),
        ("05", 5),
        ("\u0663", 3),  # an Arabic-Indic digit three: int() reads it, so do we
        ("0", "must be from 1 to 5"),
        ("6", "must be from 1 to 5"),
        ("-1", "must be from 1 to 5"),
        ("+5", "must be a whole number from 1 to 5"),
        ("4.0", "must be a whole number from 1 to 5"),
        ("00000000005", 5),
        ("000000000005", "must be a whole number from 1 to 5"),  # 12 characters: too long
        ("", None),
        ("   ", None),
        ("NA", "“not applicable” is not offered here"),
        (4, 4),
        (4.0, 4),
        (True, "must be a whole number from 1 to 5"),
    ],
)
def test_a_rating(small: Instrument, raw: object, expected: object) -> None:
    assert _outcome(small, SLOT, raw) == expected


@pytest.mark.parametrize("raw", ["NA", " na ", "Na"])
def test_not_applicable_where_offered(small: Instrument, raw: str) -> None:
    assert _outcome(small, NA_SLOT, raw) == "NA"


@given(st.text(max_size=14))
def test_any_posted_text_is_read_as_the_full_rule_reads_it(small: Instrument, raw: str) -> None:
    """``parse_answers`` reads a posted digit string on its own, sooner; whatever is posted,
    the outcome is the slot rule's."""
    rule = _rules(small)[SLOT]
    stripped = raw.strip()
    if not stripped:
        expected: object = None
    elif stripped.upper() == "NA":
        expected = "“not applicable” is not offered here"
    else:
        parsed = rule.parse(SLOT, raw)
        expected = parsed if isinstance(parsed, int) else parsed.message
    assert _outcome(small, SLOT, raw) == expected
