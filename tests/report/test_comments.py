"""Which respondents' comments the report shows: the documented rule, applied deterministically."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.report.comments import (
    Comment,
    CommentPolicy,
    clean_text,
    respondent_gaps,
    select_comments,
    weakest_areas,
)
from analysis.report.voice import Voice
from surveys.instrument import Instrument


def dim(key: str, gap: float, p_adj: float, n: int = 100) -> dict[str, Any]:
    return {"dimension": key, "n": n, "gap_mean": gap, "p_adjusted": p_adj}


@pytest.fixture
def voice(instrument: Instrument) -> Voice:
    return Voice(instrument, "en")


@pytest.fixture
def data() -> dict[str, Any]:
    """Empathy and responsiveness short (significant), assurance short but not significant; by
    segment: consumer n = 40, enterprise n = 8 (below the comment threshold)."""
    dims = [
        dim("empathy", -1.2, 0.001),
        dim("responsiveness", -1.1, 0.001),
        dim("assurance", -2.0, 0.2),
    ]
    return {
        "meta": {"by": ["segment"], "min_cell": 5, "alpha": 0.05},
        "groups": [
            {"group": {}, "n": 48, "dimensions": dims},
            {"group": {"segment": "consumer"}, "n": 40, "dimensions": dims},
            {"group": {"segment": "enterprise"}, "n": 8, "dimensions": dims},
        ],
    }


def comment(text: str, empathy: float | None, responsiveness: float | None = 0.0,
            segment: str = "consumer", rid: str = "") -> Comment:  # fmt: skip
    gaps = {"empathy": empathy, "responsiveness": responsiveness, "assurance": -3.0}
    return Comment(text, gaps, {"segment": segment, "stage": "onboarding"}, rid or text)


def test_areas_are_the_two_most_negative_significant_gaps(data, voice) -> None:
    """Assurance is the most negative but not significant, so it is not an area."""
    assert [r["dimension"] for r in weakest_areas(data, voice, 2)] == ["empathy", "responsiveness"]


def test_most_negative_respondent_gap_first_capped_per_area(data, voice) -> None:
    comments = [comment(f"c{i}", -i * 0.5) for i in range(1, 6)]
    selection = select_comments(data, voice, comments, CommentPolicy(per_area=3))
    empathy = selection.areas[0]
    assert [c.text for c in empathy.comments] == ["c5", "c4", "c3"]
    assert [c.gap for c in empathy.comments] == [-2.5, -2.0, -1.5]


def test_respondents_whose_gap_is_not_negative_are_not_chosen(data, voice) -> None:
    comments = [comment("fine", 0.5), comment("none", None), comment("zero", 0.0)]
    selection = select_comments(data, voice, comments)
    assert all(not area.comments for area in selection.areas)


def test_a_comment_is_shown_in_one_area_only(data, voice) -> None:
    comments = [comment("both", -2.0, -2.0), comment("resp", 0.0, -1.0)]
    empathy, responsiveness = select_comments(data, voice, comments).areas
    assert [c.text for c in empathy.comments] == ["both"]
    assert [c.text for c in responsiveness.comments] == ["resp"]


def test_groups_below_the_comment_threshold_are_withheld_and_counted(data, voice) -> None:
    """security.md P3: enterprise has 8 respondents, below k = 10."""
    comments = [comment("secret enterprise", -3.0, segment="enterprise"), comment("ok", -1.0)]
    selection = select_comments(data, voice, comments)
    shown = [c.text for area in selection.areas for c in area.comments]
    assert shown == ["ok"]
    assert selection.withheld == 1
    assert selection.threshold == 10


def test_comments_from_a_suppressed_or_unknown_cell_are_never_shown(data, voice) -> None:
    selection = select_comments(data, voice, [comment("x", -3.0, segment="small_business")])
    assert not selection.areas[0].comments
    assert selection.withheld == 1


def test_the_selection_does_not_depend_on_input_order(data, voice) -> None:
    comments = [comment(f"c{i}", -(i % 4) - 0.5, rid=f"r{i:02d}") for i in range(30)]
    first = select_comments(data, voice, comments)
    shuffled = comments[:]
    random.Random(7).shuffle(shuffled)
    assert select_comments(data, voice, shuffled) == first


def test_only_max_input_comments_are_read(data, voice) -> None:
    comments = [comment(f"c{i}", -1.0) for i in range(12)]
    selection = select_comments(data, voice, comments, CommentPolicy(max_input=10))
    assert selection.ignored == 2


def test_text_is_kept_as_written_but_capped_and_without_invisible_controls() -> None:
    assert clean_text('<img src="file:///etc/passwd"> & {{ 7*7 }}', 600) == (
        '<img src="file:///etc/passwd"> & {{ 7*7 }}'
    )
    assert clean_text("a\u202egnp.exe\u0000b\u00a0c", 600) == "agnp.exeb c"
    assert clean_text("word" * 200, 50) == ("word" * 200)[:49] + "\u2026"
    assert clean_text("one\r\n\n\n\n\ntwo\ud800", 600) == "one\n\ntwo\ufffd"


def test_respondent_gaps_follow_the_half_of_the_items_rule(instrument: Instrument) -> None:
    """A respondent with a gap on 2 of 4 responsiveness items has a dimension gap (ceil(4/2)),
    one with a gap on 1 item has none."""
    slots = {
        f"res_{i}__{m}": [np.nan, np.nan]
        for i in range(1, 5)
        for m in ("expectation", "perception")
    }
    slots.update({"res_1__expectation": [5, 5], "res_1__perception": [3, 3]})
    slots.update({"res_2__expectation": [6, np.nan], "res_2__perception": [5, np.nan]})
    for dimension, items in (
        ("reliability", 5),
        ("assurance", 4),
        ("empathy", 5),
        ("tangibles", 4),
    ):
        for i in range(1, items + 1):
            prefix = dimension[:3]
            slots[f"{prefix}_{i}__expectation"] = [np.nan, np.nan]
            slots[f"{prefix}_{i}__perception"] = [np.nan, np.nan]
    gaps = respondent_gaps(pd.DataFrame(slots), instrument)
    assert gaps["responsiveness"][0] == pytest.approx(-1.5)
    assert np.isnan(gaps["responsiveness"][1])


def test_only_the_breakdown_axes_are_printed_with_a_comment(data, voice) -> None:
    """The channel is not part of the breakdown (segment), so it is never shown."""
    shown = Comment("x", {"empathy": -2.0}, {"segment": "consumer", "channel": "store"}, "r1")
    (comment,) = select_comments(data, voice, [shown]).areas[0].comments
    assert comment.group == {"segment": "consumer"}
