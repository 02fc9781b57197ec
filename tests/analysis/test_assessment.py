"""The assessment on small, hand-made data: the edge cases methods.md names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from analysis.assessment import assess
from analysis.results import AnalysisError
from analysis.text_output import render_text
from tests.analysis.conftest import cells_of, record


def gap_answers(e: int, p: int, items=("c1", "c2", "c3", "s1", "s2", "o1")) -> dict[str, int]:
    answers: dict[str, int] = {}
    for item in items:
        # c3 is reverse-keyed: answering (6 - e, 6 - p) gives the recoded (e, p).
        e_raw, p_raw = (6 - e, 6 - p) if item == "c3" else (e, p)
        answers[f"{item}__expectation"] = e_raw
        answers[f"{item}__perception"] = p_raw
    return answers


def people(small, rows, **where):
    return [record(small, answers, **where) for answers in rows]


def test_whole_scope_first_and_json_is_strict(small) -> None:
    """The JSON has the contract's keys, the whole scope first, and no NaN anywhere."""
    records = people(small, [gap_answers(4, 3), gap_answers(5, 3), gap_answers(3, 3)] * 3)
    records += people(small, [gap_answers(4, 2)] * 6, segment="enterprise")
    document = assess(cells_of(small, records), small, by=("segment",)).to_json()
    text = json.dumps(document, allow_nan=False)
    assert json.loads(text) == document
    assert [g["group"] for g in document["groups"]] == [
        {},
        {"segment": "consumer"},
        {"segment": "enterprise"},
    ]
    meta = document["meta"]
    assert {
        "instrument",
        "version",
        "n_responses",
        "by",
        "min_cell",
        "alpha",
        "correction",
        "data_hash",
        "generated_at",
    } <= set(meta)
    assert (meta["instrument"], meta["version"], meta["n_responses"]) == ("small", 3, 15)
    item = document["groups"][0]["items"][0]
    assert {
        "item",
        "dimension",
        "n",
        "expectation_mean",
        "perception_mean",
        "importance_mean",
        "gap_mean",
        "gap_sd",
        "gap_ci_low",
        "gap_ci_high",
        "t",
        "df",
        "p",
        "p_adjusted",
        "wilcoxon_p",
        "effect_size_dz",
    } <= set(item)
    assert {"comparisons", "trends", "slopes", "targets", "suppressed"} <= set(document)


def test_one_and_two_respondents(small) -> None:
    """n = 1: a mean and nothing else; n = 2: a t-test on 1 df (minimum cell lowered to show)."""
    one = assess(cells_of(small, [record(small, gap_answers(4, 2))]), small, min_cell=1)
    item = one.groups[0].items[0]
    assert (item.n, item.gap.mean, item.gap.sd, item.gap.t) == (1, -2.0, None, None)
    assert item.gap.notes
    two = assess(
        cells_of(small, people(small, [gap_answers(4, 2), gap_answers(5, 2)])), small, min_cell=1
    )
    row = two.groups[0].items[0]
    assert (row.n, row.gap.df) == (2, 1)
    assert row.gap.t == pytest.approx(-5.0)  # mean −2.5, sd √0.5 → se 0.5


def test_zero_variance_gives_null_t_and_dz_with_the_reason(small) -> None:
    records = people(small, [gap_answers(5, 3)] * 8)
    assessment = assess(cells_of(small, records), small)
    row = assessment.groups[0].dimensions[0]
    assert row.gap.mean == -2
    assert row.gap.sd == 0
    assert row.gap.t is None
    assert row.gap.effect_size_dz is None
    assert row.p_adjusted is None
    document = assessment.to_json()["groups"][0]["dimensions"][0]
    assert document["t"] is None
    assert "sd = 0" in document["notes"][0]
    assert "sd = 0" in render_text(assessment)


def test_all_missing_item_and_dimension_are_null_and_listed(small) -> None:
    """Nobody answered o1 (the one item of 'solo'): null rows, listed as suppressed."""
    records = people(small, [gap_answers(4, 3, items=("c1", "c2", "c3", "s1", "s2"))] * 6)
    assessment = assess(cells_of(small, records), small)
    o1 = next(row for row in assessment.groups[0].items if row.item == "o1")
    assert (o1.n, o1.suppressed, o1.gap.mean) == (0, True, None)
    solo = next(row for row in assessment.groups[0].dimensions if row.dimension == "solo")
    assert (solo.n, solo.suppressed) == (0, True)
    listed = [entry.to_json() for entry in assessment.suppressed]
    assert {"group": {}, "n": 0, "item": "o1"} in listed
    assert {"group": {}, "n": 0, "dimension": "solo"} in listed


def test_not_applicable_answers_are_missing_and_counted_apart(small) -> None:
    answers = gap_answers(4, 3)
    answers["c1__perception"] = "NA"
    records = people(small, [answers] * 5 + [gap_answers(4, 3)] * 5)
    group = assess(cells_of(small, records), small).groups[0]
    assert group.items[0].n == 5
    quality = {row.slot: row for row in group.missing}
    assert quality["c1__perception"].not_applicable == 5
    assert quality["c1__perception"].answered == 5
    assert quality["sat"].empty == 10


def test_reverse_keyed_item_enters_gaps_and_reliability_recoded(small) -> None:
    """c3 answered (2, 5) raw is (4, 1) recoded: gap −3. In the care scale, c3 answered the
    mirror of c1 and c2 correlates with them positively once recoded."""
    records = people(small, [{"c3__expectation": 2, "c3__perception": 5}] * 5)
    c3 = assess(cells_of(small, records), small).groups[0].items[2]
    assert (c3.item, c3.expectation_mean, c3.perception_mean, c3.gap.mean) == ("c3", 4, 1, -3)
    rows = []
    for level in (1, 2, 3, 4, 5, 2, 4, 3):
        answers = {f"{i}__{m}": level for i in ("c1", "c2") for m in ("expectation", "perception")}
        answers |= {"c3__expectation": 6 - level, "c3__perception": 6 - level}
        rows.append(answers)
    reliability = assess(cells_of(small, people(small, rows)), small).groups[0].reliability
    care = next(r for r in reliability if (r.dimension, r.measure) == ("care", "perception"))
    assert care.alpha == pytest.approx(1.0)
    assert [row.item_total_r for row in care.items] == pytest.approx([1.0, 1.0, 1.0])


def test_a_dimension_with_one_item_has_no_alpha(small) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    rows = [
        {slot: int(v) for slot, v in gap_answers(1, 1).items()}
        | {
            f"{i}__{m}": int(rng.integers(1, 6))
            for i in ("c1", "c2", "s1", "s2", "o1")
            for m in ("expectation", "perception")
        }
        for _ in range(20)
    ]
    group = assess(cells_of(small, people(small, rows)), small).groups[0]
    o1 = next(row for row in group.items if row.item == "o1")
    solo = next(row for row in group.dimensions if row.dimension == "solo")
    assert (solo.n, solo.gap.mean, solo.gap.sd, solo.gap.p) == pytest.approx(
        (o1.n, o1.gap.mean, o1.gap.sd, o1.gap.p)
    )
    assert solo.gap.wilcoxon_p == pytest.approx(o1.gap.wilcoxon_p)
    reliability = group.reliability
    assert {(r.dimension, r.measure) for r in reliability} == {
        ("care", "expectation"),
        ("care", "perception"),
        ("speed", "expectation"),
        ("speed", "perception"),
    }


def test_group_below_min_cell_is_suppressed_listed_and_not_shown(small) -> None:
    records = people(small, [gap_answers(4, 3), gap_answers(5, 3)] * 4)
    records += people(small, [gap_answers(2, 3)] * 3, segment="enterprise")
    assessment = assess(cells_of(small, records), small, by=("segment",))
    assert [g.group for g in assessment.groups] == [(), (("segment", "consumer"),)]
    assert {"group": {"segment": "enterprise"}, "n": 3} in [
        entry.to_json() for entry in assessment.suppressed
    ]
    assert assessment.comparisons == ()  # one shown segment: nothing to compare
    text = render_text(assessment)
    assert "segment=enterprise: n = 3" in text


def test_single_segment_has_no_comparison(small) -> None:
    records = people(small, [gap_answers(4, 3), gap_answers(5, 2), gap_answers(3, 3)] * 3)
    assessment = assess(cells_of(small, records), small, by=("segment",))
    assert assessment.comparisons == ()
    assert "Comparisons: none" in render_text(assessment)


def test_two_segments_are_compared_per_dimension(small) -> None:
    records = people(small, [gap_answers(4, 3), gap_answers(5, 2), gap_answers(3, 3)] * 3)
    records += people(
        small, [gap_answers(4, 4), gap_answers(5, 4), gap_answers(3, 1)] * 3, segment="enterprise"
    )
    comparisons = assess(cells_of(small, records), small, by=("segment",)).comparisons
    assert [c.dimension for c in comparisons] == ["care", "speed", "solo"]
    pair = comparisons[0].pairs[0]
    assert (pair.a, pair.b) == ("consumer", "enterprise")
    assert pair.diff == pytest.approx(1 / 3)


def test_breakdown_by_quarter_and_trends_by_quarter(small) -> None:
    records = []
    for month in (1, 2, 4, 5, 7):
        when = datetime(2026, month, 10, tzinfo=UTC)
        records += [record(small, gap_answers(4, 3 + (i % 2)), when=when) for i in range(5)]
    assessment = assess(cells_of(small, records), small, by=("period",), period="quarter")
    assert [g.group for g in assessment.groups][1:] == [
        (("period", "2026-Q1"),),
        (("period", "2026-Q2"),),
        (("period", "2026-Q3"),),
    ]
    overall = [t for t in assessment.trends if t.metric == "overall_gap"]
    assert [(t.period, t.n) for t in overall] == [("2026-Q1", 10), ("2026-Q2", 10), ("2026-Q3", 5)]
    slope = next(s for s in assessment.slopes if s.metric == "overall_gap")
    assert slope.per == "quarter"
    assert slope.slope == pytest.approx(0.0, abs=1e-12)


def test_periods_below_min_cell_leave_the_trend(small) -> None:
    records = [record(small, gap_answers(4, 3), when="2026-01-05T00:00:00+00:00")] * 2
    records += people(
        small, [gap_answers(4, 2), gap_answers(4, 3)] * 3, when="2026-02-05T00:00:00+00:00"
    )
    assessment = assess(cells_of(small, records), small)
    overall = [t for t in assessment.trends if t.metric == "overall_gap"]
    assert [t.period for t in overall] == ["2026-02"]
    assert {
        "group": {"period": "2026-01"},
        "n": 2,
        "metric": "overall_gap",
        "period": "2026-01",
    } in [e.to_json() for e in assessment.suppressed]


def test_targets_met_missed_and_not_distinguishable(small) -> None:
    good = gap_answers(4, 4) | {"sat": 5, "rec": 10, "effort": 1}
    bad = gap_answers(5, 1) | {"sat": 1, "rec": 0, "effort": 6}
    records = people(small, [good] * 20, segment="consumer")
    records += people(small, [bad] * 20, segment="enterprise")
    records += people(small, [good | {"effort": 2}, good | {"effort": 3}] * 3, segment="enterprise")
    targets = {
        t.target: t for t in assess(cells_of(small, records), small, targets=small.targets).targets
    }
    assert targets["csat_goal"].status == "met"  # consumers only
    assert targets["csat_goal"].scope == (("segment", "consumer"),)
    assert targets["care_gap"].status == "missed"  # mean −1.74, interval below −1
    assert targets["effort_cap"].status == "not_distinguishable"  # 3.37, interval holds 3
    assert targets["c1_gap"].status == "missed"
    assert 0 < targets["c1_gap"].p < 0.05
    assert targets["nps_goal"].n == 46
    document = assess(cells_of(small, records), small, targets=small.targets).to_json()["targets"]
    assert {"target", "scope", "value", "threshold", "status", "p"} <= set(document[0])


def test_target_scope_below_min_cell_is_suppressed(small) -> None:
    records = people(small, [gap_answers(4, 3) | {"sat": 5}] * 8, segment="enterprise")
    records += people(small, [gap_answers(4, 3) | {"sat": 5}] * 2, segment="consumer")
    result = assess(cells_of(small, records), small, targets=small.targets)
    csat = next(t for t in result.targets if t.target == "csat_goal")
    assert (csat.n, csat.status, csat.value) == (2, None, None)
    assert any(e.target == "csat_goal" for e in result.suppressed)


def test_priorities_follow_the_weighted_gap(small) -> None:
    """care: gap −2.83 × weight 0.2 = −0.57; speed: gap −1.25 × 0.7 = −0.88 ranks first;
    solo (gap 0 for everyone) has no test and is no priority."""
    rows = []
    for i in range(12):
        answers = gap_answers(5, 2, items=("c1", "c2", "c3")) | gap_answers(
            4, 3, items=("s1", "s2")
        )
        answers |= gap_answers(4, 4, items=("o1",))
        answers["c1__perception"] = 2 + i % 2
        answers["s1__perception"] = 2 + i % 2
        answers |= {"care__importance": 20, "speed__importance": 70, "solo__importance": 10}
        rows.append(answers)
    group = assess(cells_of(small, people(small, rows)), small).groups[0]
    gaps = {d.dimension: d.gap.mean for d in group.dimensions}
    assert gaps == pytest.approx({"care": -17 / 6, "speed": -1.25, "solo": 0.0})
    assert [p.key for p in group.priorities] == ["speed", "care"]
    assert [p.score for p in group.priorities] == pytest.approx([0.7 * -1.25, 0.2 * -17 / 6])
    assert group.priorities[0].basis == "weighted_gap"
    weights = {d.dimension: d.weight for d in group.dimensions}
    assert weights == pytest.approx({"care": 0.2, "speed": 0.7, "solo": 0.1})
    importance = {d.dimension: d.importance_mean for d in group.dimensions}
    assert importance == pytest.approx({"care": 20, "speed": 70, "solo": 10})
    quadrants = {p.key: p.quadrant for p in group.importance_performance}
    assert quadrants == {
        "speed": "concentrate_here",
        "care": "low_priority",
        "solo": "possible_overkill",
    }
    assert group.weighted_overall_gap is not None
    assert group.weighted_overall_gap.interval.mean == pytest.approx(0.2 * -17 / 6 + 0.7 * -1.25)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"by": ("region",)}, "cannot break down by region"),
        ({"by": ("segment", "segment")}, "named twice"),
        ({"period": "week"}, "unknown period"),
        ({"alpha": 1.5}, "alpha"),
        ({"correction": "bonferroni"}, "unknown correction"),
        ({"min_cell": 0}, "at least 1"),
    ],
)
def test_bad_options_are_refused(small, options, message) -> None:
    with pytest.raises(AnalysisError, match=message):
        assess({}, small, **options)


def test_no_data_at_all(small) -> None:
    """An empty scope is itself suppressed: nothing shown, n = 0 listed."""
    assessment = assess({}, small)
    assert assessment.groups == ()
    assert assessment.to_json()["suppressed"] == [{"group": {}, "n": 0}]
    assert "nothing" not in render_text(assessment).split("Suppressed")[1][:20]


def test_alpha_sets_every_interval(small) -> None:
    records = people(small, [gap_answers(4, 3), gap_answers(5, 3), gap_answers(4, 4)] * 4)
    wide = assess(cells_of(small, records), small, alpha=0.01).groups[0].items[0].gap
    narrow = assess(cells_of(small, records), small, alpha=0.10).groups[0].items[0].gap
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


PER_ITEM = """
key: per-item
version: 1
title: Importance asked per item
scales:
  agree5: {points: 5}
dimensions:
  - {key: care, label: Care}
  - {key: speed, label: Speed}
items:
  - {key: c1, dimension: care, text: C1, measures: [expectation, perception, importance],
     scale: agree5, required: false}
  - {key: c2, dimension: care, text: C2, measures: [expectation, perception, importance],
     scale: agree5, required: false}
  - {key: s1, dimension: speed, text: S1, measures: [expectation, perception], scale: agree5,
     required: false}
"""


def test_importance_asked_per_item_gives_item_and_dimension_means() -> None:
    """c1 importance 5 (all 6), c2 importance 2 or 3 (mean 2.5): the dimension shows the mean of
    its item means, 3.75; speed asks no importance, so null. Items rank by gap × importance."""
    from surveys.instrument_loader import load_instrument_text

    instrument = load_instrument_text(PER_ITEM, "per-item.yaml")
    rows = [
        {
            "c1__expectation": 5,
            "c1__perception": 2 + i % 2,
            "c1__importance": 5,
            "c2__expectation": 4,
            "c2__perception": 2 + i % 2,
            "c2__importance": 2 + i % 2,
            "s1__expectation": 3,
            "s1__perception": 3 + i % 2,
        }
        for i in range(6)
    ]
    group = assess(cells_of(instrument, people(instrument, rows)), instrument).groups[0]
    items = {row.item: row.importance_mean for row in group.items}
    assert items == pytest.approx({"c1": 5.0, "c2": 2.5, "s1": None})
    dimensions = {row.dimension: row.importance_mean for row in group.dimensions}
    assert dimensions["care"] == pytest.approx(3.75)
    assert dimensions["speed"] is None
    document = assess(cells_of(instrument, people(instrument, rows)), instrument).to_json()
    assert document["groups"][0]["dimensions"][0]["importance_mean"] == pytest.approx(3.75)
    assert [p.key for p in group.priorities] == ["c1", "c2"]  # −2.5 × 5 before −1.5 × 2.5
    assert [p.score for p in group.priorities] == pytest.approx([-12.5, -3.75])
    assert group.priorities[0].basis != "weighted_gap"


def test_a_shifted_month_raises_control_chart_signals_on_every_metric(small) -> None:
    """Eight steady months, then a month where every gap, CSAT and NPS answer drops: the last
    point of the gap, NPS and share-dissatisfied charts is beyond 3 sigma; the steady ones are
    not. The slope of the overall gap is negative and significant."""
    steady = [gap_answers(4, 3) | {"sat": 5, "rec": 9}, gap_answers(4, 4) | {"sat": 4, "rec": 7}]
    bad = [gap_answers(5, 1) | {"sat": 1, "rec": 0}, gap_answers(5, 2) | {"sat": 2, "rec": 3}]
    records = []
    for month in range(1, 10):
        rows = (bad if month == 9 else steady) * 5
        records += people(small, rows, when=f"2026-{month:02d}-10T12:00:00+00:00")
    assessment = assess(cells_of(small, records), small)
    by_metric: dict[tuple[str, str | None], list] = {}
    for point in assessment.trends:
        by_metric.setdefault((point.metric, point.dimension), []).append(point)
    for metric in [("overall_gap", None), ("dimension_gap", "care"), ("nps", None)]:
        points = by_metric[metric]
        assert [p.period for p in points][-1] == "2026-09"
        assert "beyond_3_sigma" in points[-1].signals, metric
        assert points[-1].value < points[-1].lcl
        assert all("beyond_3_sigma" not in p.signals for p in points[:-1]), metric
    share = by_metric[("share_dissatisfied", None)]
    assert [p.value for p in share] == [0.0] * 8 + [1.0]
    assert "beyond_3_sigma" in share[-1].signals
    assert share[-1].ucl <= 1.0
    slope = next(s for s in assessment.slopes if s.metric == "overall_gap")
    assert slope.slope < 0
    assert slope.p < 0.05
    document = assessment.to_json()["trends"]
    assert {"metric", "dimension", "period", "n", "value", "ci_low", "ci_high"} <= set(document[0])
    assert {"center", "lcl", "ucl", "signals"} <= set(document[0])
