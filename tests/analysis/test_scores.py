"""NPS, CSAT top-2-box and CES from value counts (methods.md, "Scores")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis.scores import (
    bottom2_share,
    csat_top2,
    mean_score,
    nps,
    nps_of_values,
    promoter_values,
)
from analysis.sufficient import ValueCounts


def counts_of(values: dict[int, int], low: int, high: int) -> ValueCounts:
    scale = np.arange(low, high + 1, dtype=float)
    return ValueCounts(scale, np.array([values.get(int(v), 0) for v in scale], dtype=np.int64))


def test_nps_value_and_interval_follow_the_formula() -> None:
    """value = 100 (p+ − p−); var = (p+ + p− − (p+ − p−)²)/n; CI value ± z·100·√var."""
    counts = counts_of({10: 30, 9: 10, 8: 25, 7: 5, 6: 10, 3: 15, 0: 5}, 0, 10)
    estimate = nps(counts)
    n = 100
    promoters, detractors = 40 / n, 30 / n
    var = (promoters + detractors - (promoters - detractors) ** 2) / n
    half = stats.norm.ppf(0.975) * 100 * math.sqrt(var)
    assert estimate.n == n
    assert estimate.value == pytest.approx(10.0)
    assert estimate.ci_low == pytest.approx(10.0 - half)
    assert estimate.ci_high == pytest.approx(10.0 + half)


def test_nps_from_promoter_values_is_the_same_estimate() -> None:
    """The −100/0/100 recoding (used by trends) gives the same value and interval."""
    counts = counts_of({10: 3, 9: 4, 8: 2, 5: 6, 1: 1}, 0, 10)
    direct = nps(counts, alpha=0.1)
    recoded = nps_of_values(promoter_values(counts).moments(), alpha=0.1)
    assert recoded.value == pytest.approx(direct.value)
    assert recoded.ci_low == pytest.approx(direct.ci_low)
    assert recoded.ci_high == pytest.approx(direct.ci_high)


def test_csat_top2_uses_the_wilson_interval() -> None:
    """statsmodels ``proportion_confint(method="wilson")`` = R ``prop.test(correct = FALSE)``."""
    counts = counts_of({5: 12, 4: 20, 3: 30, 2: 8, 1: 5}, 1, 5)
    estimate = csat_top2(counts)
    low, high = proportion_confint(32, 75, method="wilson")
    assert estimate.value == pytest.approx(32 / 75)
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((low, high))


def test_top_two_boxes_come_from_the_scale_not_the_data() -> None:
    """Nobody chose 5: the top two boxes are still 4 and 5."""
    counts = counts_of({4: 3, 3: 7}, 1, 5)
    assert csat_top2(counts).value == pytest.approx(0.3)
    assert csat_top2(ValueCounts.of([4, 3, 3]), high=5).value == pytest.approx(1 / 3)


def test_share_dissatisfied_is_the_bottom_two_boxes() -> None:
    counts = counts_of({1: 2, 2: 3, 3: 5}, 1, 5)
    assert bottom2_share(counts).value == pytest.approx(0.5)


def test_ces_mean_has_a_t_interval() -> None:
    values = np.array([1, 2, 2, 3, 5, 7, 4, 4], dtype=float)
    estimate = mean_score(ValueCounts.of(values))
    low, high = stats.ttest_1samp(values, 0).confidence_interval(0.95)
    assert estimate.value == pytest.approx(values.mean())
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((low, high))


@pytest.mark.parametrize("maker", [nps, csat_top2, mean_score])
def test_no_answers_give_null_with_reason(maker) -> None:
    estimate = maker(counts_of({}, 0, 10))
    assert estimate.n == 0
    assert estimate.value is None
    assert estimate.notes
