"""The executive summary's sentences: each narrative function on hand-made assessments."""

from __future__ import annotations

from typing import Any

import pytest
from scipy import stats

from analysis.report import narrative
from analysis.report.voice import Voice
from surveys.instrument import Instrument


def dim(
    key: str, gap: float, p_adj: float, n: int = 100, *, weight: float | None = None, sd=1.0
) -> dict[str, Any]:
    """A dimension row of the contract, with an interval of ±0.2."""
    return {
        "dimension": key,
        "n": n,
        "expectation_mean": 5.5,
        "perception_mean": 5.5 + gap,
        "gap_mean": gap,
        "gap_sd": sd,
        "gap_ci_low": gap - 0.2,
        "gap_ci_high": gap + 0.2,
        "t": gap / 0.1,
        "df": n - 1,
        "p": p_adj / 2,
        "p_adjusted": p_adj,
        "effect_size_dz": gap / sd,
        "weight": weight,
        "weighted_gap": None if weight is None else gap * weight,
    }


def item(key: str, dimension: str, gap: float, p_adj: float, n: int = 90) -> dict[str, Any]:
    return {**dim(dimension, gap, p_adj, n), "item": key}


def assessment(*groups: tuple[dict[str, str], list[dict[str, Any]]], **extra: Any) -> dict:
    return {
        "meta": {"alpha": 0.05, "correction": "holm", "min_cell": 5, "by": ["segment", "stage"]},
        "groups": [
            {"group": group, "n": max((d["n"] for d in dims), default=0), "dimensions": dims}
            for group, dims in groups
        ],
        **extra,
    }


@pytest.fixture
def voice(instrument: Instrument) -> Voice:
    return Voice(instrument, "en")


@pytest.fixture
def zh(instrument: Instrument) -> Voice:
    return Voice(instrument, "zh-Hant")


# Shortfalls ---------------------------------------------------------------------------------
def test_shortfall_names_size_interval_adjusted_p_and_n(voice: Voice) -> None:
    """Does the largest shortfall come first, with every number and its n?"""
    data = assessment(
        ({}, [dim("empathy", -1.2, 0.0001, 240), dim("assurance", -0.3, 0.01, 238)]),
    )
    first, second = narrative.shortfalls(data, voice)
    assert first.startswith("Empathy: perception falls short of expectation by 1.20 points")
    assert "across all respondents" in first
    assert "95% CI \u22121.40 to \u22121.00" in first
    assert "adjusted p < 0.001" in first
    assert "n = 240" in first
    assert second.startswith("Assurance:")
    assert "adjusted p = 0.010" in second


def test_shortfall_says_for_whom_and_at_which_stage_it_is_largest(voice: Voice) -> None:
    data = assessment(
        ({}, [dim("empathy", -1.0, 0.001, 240)]),
        ({"segment": "consumer", "stage": "onboarding"}, [dim("empathy", -2.1, 0.001, 20)]),
        ({"segment": "enterprise", "stage": "renewal"}, [dim("empathy", -1.5, 0.001, 30)]),
    )
    (sentence,) = narrative.shortfalls(data, voice)
    assert "It is largest for consumer customers at the onboarding stage: 2.10 points" in sentence
    assert "n = 20" in sentence


def test_a_worse_subgroup_that_is_not_significant_is_not_named(voice: Voice) -> None:
    data = assessment(
        ({}, [dim("empathy", -1.0, 0.001, 240)]),
        ({"segment": "consumer"}, [dim("empathy", -2.5, 0.2, 8)]),
    )
    (sentence,) = narrative.shortfalls(data, voice)
    assert "largest" not in sentence
    assert "consumer" not in sentence


def test_shortfall_only_in_a_subgroup_says_the_whole_is_not_distinguishable(voice) -> None:
    data = assessment(
        ({}, [dim("reliability", -0.1, 0.17, 237)]),
        ({"segment": "consumer"}, [dim("reliability", -0.42, 0.001, 85)]),
    )
    (sentence,) = narrative.shortfalls(data, voice)
    assert "across all respondents the gap (\u22120.10, n = 237) is not distinguishable" in sentence
    assert "for consumer customers perception falls short by 0.42 points" in sentence
    assert "n = 85" in sentence


def test_no_significant_shortfall_is_said_with_the_test(voice: Voice) -> None:
    data = assessment(({}, [dim("empathy", -0.3, 0.09), dim("tangibles", 0.2, 0.5)]))
    assert narrative.shortfalls(data, voice) == (
        "No dimension shows a shortfall distinguishable from zero in any group "
        "(all Holm-adjusted p \u2265 0.05).",
    )


def test_at_most_limit_shortfalls_in_full_and_the_rest_named(voice: Voice) -> None:
    """The three largest get a sentence each; the fourth is still named with its numbers, so
    the summary never counts a shortfall it does not mention."""
    dims = [
        dim(k, -0.5 - i / 10, 0.001)
        for i, k in enumerate(["reliability", "empathy", "assurance", "tangibles"])
    ]
    found = narrative.shortfalls(assessment(({}, dims)), voice, limit=3)
    assert [s.split(":")[0] for s in found[:3]] == ["Tangibles", "Assurance", "Empathy"]
    assert found[3] == (
        "Smaller significant shortfalls: Reliability across all respondents (\u22120.50; "
        "adjusted p = 0.001; n = 100)."
    )


def test_not_distinguishable_lists_the_non_significant_gaps(voice: Voice) -> None:
    data = assessment(
        ({}, [dim("reliability", -0.11, 0.174, 237), dim("tangibles", -0.06, 0.316, 240)])
    )
    (sentence,) = narrative.not_distinguishable(data, voice)
    assert sentence == (
        "Across all respondents, the gaps for Reliability (\u22120.11; adjusted p = 0.174; "
        "n = 237) and Tangibles (\u22120.06; adjusted p = 0.316; n = 240) are not "
        "distinguishable from zero."
    )
    assert "no difference" not in sentence


def test_strengths_need_a_significant_positive_gap(voice: Voice) -> None:
    data = assessment(({}, [dim("tangibles", 0.4, 0.003, 200), dim("assurance", 0.3, 0.2)]))
    (sentence,) = narrative.strengths(data, voice)
    assert sentence.startswith("Tangibles: perception exceeds expectation by 0.40 points")


def test_sentences_in_traditional_chinese(zh: Voice) -> None:
    data = assessment(
        ({}, [dim("empathy", -1.2, 0.0001, 240)]),
        ({"segment": "consumer", "stage": "onboarding"}, [dim("empathy", -2.1, 0.001, 20)]),
    )
    (sentence,) = narrative.shortfalls(data, zh)
    assert sentence.startswith("同理心：全體受訪者感知低於期望 1.20 分")
    assert "個人消費者客群在導入階段" in sentence
    assert "n = 240" in sentence
    assert "n = 20" in sentence


# Changes ------------------------------------------------------------------------------------
def test_change_since_previous_is_welch_t_adjusted_by_holm(voice: Voice) -> None:
    """Do the change tests reproduce scipy's Welch test, adjusted together (Holm)?"""
    before = assessment(
        ({}, [dim("empathy", -1.4, 0.001, 200, sd=1.0), dim("tangibles", -0.1, 0.3, 200, sd=1.0)])
    )
    after = assessment(
        ({}, [dim("empathy", -1.0, 0.001, 220, sd=1.1), dim("tangibles", -0.12, 0.3, 220, sd=1.0)])
    )
    changes = narrative.period_changes(after, before)
    empathy = changes[0]
    expected = stats.ttest_ind_from_stats(-1.0, 1.1, 220, -1.4, 1.0, 200, equal_var=False)
    assert empathy.diff == pytest.approx(0.4)
    assert empathy.p == pytest.approx(expected.pvalue, rel=1e-9)
    p_other = changes[1].p
    assert empathy.p_adjusted == pytest.approx(min(1, 2 * min(empathy.p, p_other)))
    better, flat = narrative.changes(after, voice, before)
    assert better.startswith("The Empathy gap improved since the previous period")
    assert "from \u22121.40 (n = 200) to \u22121.00 (n = 220), a change of +0.40" in better
    assert flat.startswith("Since the previous period, the changes in the Tangibles gap")
    assert "not distinguishable from zero" in flat


def test_nps_change_uses_the_interval_width_as_its_standard_error(voice: Voice) -> None:
    def scores(value: float, half: float, n: int) -> dict:
        return {"nps": {"n": n, "value": value, "ci_low": value - half, "ci_high": value + half}}

    before = assessment(({}, []))
    after = assessment(({}, []))
    z = stats.norm.ppf(0.975)
    before["groups"][0]["scores"] = scores(-20.0, z * 4, 200)
    after["groups"][0]["scores"] = scores(-5.0, z * 3, 200)
    (change,) = narrative.period_changes(after, before)
    assert change.metric == "nps"
    assert change.test == "z"
    assert change.p == pytest.approx(2 * stats.norm.sf(15 / 5))


def test_without_previous_the_slope_test_speaks(voice: Voice) -> None:
    rows = [
        {"metric": "overall_gap", "dimension": None, "period": f"2026-0{m}", "n": 40,
         "value": -0.5, "ci_low": -0.8, "ci_high": -0.2, "signals": []}
        for m in range(1, 7)
    ]  # fmt: skip
    rows[2]["signals"] = ["beyond_3_sigma"]
    data = assessment(
        ({}, []),
        trends=rows,
        slopes=[
            {"metric": "overall_gap", "dimension": None, "per": "month", "n": 240,
             "slope": 0.046, "p": 0.18},
            {"metric": "nps", "dimension": None, "per": "month", "n": 227, "slope": 5.4,
             "p": 0.036},
        ],
    )  # fmt: skip
    nps, flat, latest, signal = narrative.changes(data, voice)
    assert flat == (
        "Over 6 periods, no trend distinguishable from zero in the overall gap "
        "(slope +0.046 per month, p = 0.180; n = 240)."  # as the slope table prints it
    )
    assert nps.startswith("NPS has improved by 5.400 per month")
    assert "n = 227" in nps
    assert latest.startswith("In 2026-06, the overall gap was \u22120.50")
    assert signal == (
        "Control-chart signal for the overall gap in 2026-03 (n = 40): a point beyond 3\u03c3."
    )


def test_a_falling_share_of_dissatisfied_customers_is_an_improvement(voice: Voice) -> None:
    data = assessment(
        ({}, []),
        slopes=[{"metric": "share_dissatisfied", "per": "month", "n": 236, "slope": -0.02,
                 "p": 0.001}],
    )  # fmt: skip
    (sentence,) = narrative.changes(data, voice)
    assert "has improved by 2.00% per month" in sentence


# Targets ------------------------------------------------------------------------------------
def test_targets_missed_first_then_undecided_then_count_met(voice: Voice) -> None:
    data = assessment(
        ({}, []),
        targets=[
            {"target": "nps_consumer", "metric": "nps", "scope": {"segment": "consumer"},
             "direction": "at_least", "threshold": -30.0, "n": 81, "value": -12.3,
             "status": "met", "p": 0.0126},
            {"target": "csat_top2", "metric": "csat_top2", "scope": {}, "direction": "at_least",
             "threshold": 0.25, "n": 236, "value": 0.2797, "status": "not_distinguishable",
             "p": 0.146},
            {"target": "responsiveness_gap", "metric": "dimension_gap", "scope": {},
             "direction": "at_least", "threshold": -0.5, "n": 239, "value": -1.127,
             "status": "missed", "p": 5e-16},
        ],
    )  # fmt: skip
    missed, undecided, met = narrative.targets(data, voice)
    assert missed == (
        "Missed: Responsiveness gap of at most half a point: \u22121.13 against a threshold of "
        "at least \u22120.50 (one-sided p < 0.001; n = 239)."
    )
    assert undecided.startswith("Not distinguishable from the threshold: CSAT top-2-box")
    assert "28.0% against at least 25.0%" in undecided
    assert met == "1 of 3 service standards are met."


# Priorities ---------------------------------------------------------------------------------
def test_priorities_order_by_weighted_gap_and_name_weakest_items(voice: Voice) -> None:
    data = assessment(
        (
            {},
            [
                dim("responsiveness", -1.13, 0.0001, 239, weight=0.22),
                dim("empathy", -1.20, 0.0001, 240, weight=0.14),
                dim("assurance", -0.20, 0.009, 238, weight=0.20),
                dim("reliability", -0.11, 0.17, 237, weight=0.33),
            ],
        )
    )
    data["groups"][0]["items"] = [
        item("res_1", "responsiveness", -1.08, 0.0001),
        item("res_3", "responsiveness", -1.25, 0.0001),
        item("res_2", "responsiveness", -1.11, 0.0001),
        item("rel_1", "reliability", -0.9, 0.2),
    ]
    first, second, third = narrative.priorities(data, voice)
    assert first.startswith("Responsiveness: weighted gap \u22120.249")
    assert "importance weight 22%" in first
    assert "\u201cStaff are glad to help\u201d (\u22121.25, n = 90)" in first
    assert "Deals with your requests without delay" in first
    assert "Tells you clearly" not in first  # only the two weakest
    assert second.startswith("Empathy:")
    assert third.startswith("Assurance:")


def test_engine_priorities_give_the_order(voice: Voice) -> None:
    data = assessment(
        ({}, [dim("empathy", -1.2, 0.001, weight=0.1), dim("assurance", -0.2, 0.01, weight=0.5)])
    )
    data["groups"][0]["priorities"] = [
        {"rank": 2, "level": "dimension", "key": "empathy"},
        {"rank": 1, "level": "dimension", "key": "assurance"},
    ]
    rows = narrative.priority_rows(data, voice)
    assert [r["dimension"] for r in rows] == ["assurance", "empathy"]


def test_fewer_than_three_priorities_are_said_to_be_fewer(voice: Voice) -> None:
    data = assessment(({}, [dim("empathy", -1.2, 0.001), dim("assurance", -0.2, 0.3)]))
    found = narrative.priorities(data, voice)
    assert found[0].startswith("Empathy: gap \u22121.20")
    assert found[-1].startswith("Only 1 dimension(s) have a shortfall distinguishable from zero")


def test_no_priorities_without_a_significant_shortfall(voice: Voice) -> None:
    data = assessment(({}, [dim("empathy", -1.2, 0.3)]))
    assert narrative.priorities(data, voice) == (
        "No priorities: no dimension has a shortfall distinguishable from zero.",
    )


def test_narrative_on_the_engine_output_uses_its_numbers(
    assessment_by_segment: dict, voice: Voice
) -> None:
    """On the real engine's JSON: are the summary's numbers the assessment's, formatted?"""
    whole = assessment_by_segment["groups"][0]
    empathy = next(d for d in whole["dimensions"] if d["dimension"] == "empathy")
    text = " ".join(narrative.shortfalls(assessment_by_segment, voice))
    assert voice.num(abs(empathy["gap_mean"])) in text
    assert f"n = {empathy['n']}" in text
    assert voice.num(empathy["gap_ci_low"]) in text


def test_changes_between_two_engine_assessments(
    later_assessment: dict, earlier_assessment: dict, voice: Voice
) -> None:
    """Second quarter against the first: every dimension and NPS / CSAT is compared; a
    significant change is said with both periods' n, the others are listed as not
    distinguishable from zero with their difference."""
    found = narrative.period_changes(later_assessment, earlier_assessment)
    assert {c.metric for c in found} == {"dimension_gap", "nps", "csat_top2"}
    assert len([c for c in found if c.metric == "dimension_gap"]) == 5
    sentences = narrative.changes(later_assessment, voice, earlier_assessment)
    flat = sentences[-1] if "not distinguishable" in sentences[-1] else ""
    for change in found:
        name = voice.metric(change.metric, change.dimension)
        if voice.significant(change.p_adjusted):
            (sentence,) = [s for s in sentences if name.lower() in s.lower() and s != flat]
            assert f"n = {change.n_before}" in sentence
            assert f"n = {change.n_after}" in sentence
            assert ("improved" if change.diff > 0 else "worsened") in sentence
        else:
            assert name in flat


def test_a_report_needs_a_whole_scope_group(instrument: Instrument) -> None:
    from analysis.report import ReportError, build_report_model

    with pytest.raises(ReportError, match="nothing to report"):
        build_report_model(
            {"meta": {}, "groups": [{"group": {"segment": "a"}, "n": 9}]}, instrument
        )


@pytest.mark.parametrize(("language", "paper"), [("de", "A4"), ("en", "A3")])
def test_unknown_language_or_paper_is_refused(instrument, assessment_by_segment, language, paper):
    from analysis.report import ReportError, build_report_model

    with pytest.raises(ReportError, match="not available"):
        build_report_model(assessment_by_segment, instrument, language=language, paper=paper)
