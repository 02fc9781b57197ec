"""Gap statistics from histograms against scipy on the raw values (methods.md, "Gap statistics").

scipy's ``ttest_1samp`` and ``wilcoxon(zero_method="wilcox", correction=True, method="approx")``
are the same computations as R ``t.test`` and ``wilcox.test(exact = FALSE, correct = TRUE)``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.gaps import (
    ALL_ZERO,
    CONSTANT,
    ONE_RESPONDENT,
    gap_estimate,
    t_interval,
    wilcoxon_signed_rank,
)
from analysis.sufficient import Moments, ValueCounts


def scipy_wilcoxon_p(values: np.ndarray) -> float:
    return float(
        stats.wilcoxon(values, zero_method="wilcox", correction=True, method="approx").pvalue
    )


@given(st.lists(st.integers(-6, 6), min_size=3, max_size=300))
@settings(max_examples=150, deadline=None)
def test_wilcoxon_from_histogram_equals_scipy_on_item_gaps(gaps: list[int]) -> None:
    """Is the signed-rank p from a histogram of integer gaps scipy's p on the raw gaps?"""
    values = np.array(gaps, dtype=float)
    result = wilcoxon_signed_rank(ValueCounts.of(values))
    if np.count_nonzero(values) == 0:
        assert result.p is None
        return
    assert result.p == pytest.approx(scipy_wilcoxon_p(values), abs=1e-12)


@st.composite
def dimension_gaps(draw: st.DrawFn) -> list[Fraction]:
    """Respondent dimension gaps: means of 2..5 integer item gaps (exact rationals)."""
    rows = draw(
        st.lists(st.lists(st.integers(-6, 6), min_size=2, max_size=5), min_size=3, max_size=200)
    )
    return [Fraction(sum(row), len(row)) for row in rows]


@given(dimension_gaps())
@settings(max_examples=150, deadline=None)
def test_wilcoxon_from_rational_histogram_equals_scipy(gaps: list[Fraction]) -> None:
    """Are ties among rational dimension gaps (1/3 vs 2/6) grouped exactly as scipy does?"""
    raw = np.array([g.numerator / g.denominator for g in gaps])
    distinct: dict[Fraction, int] = {}
    for gap in gaps:
        distinct[gap] = distinct.get(gap, 0) + 1
    counts = ValueCounts(
        np.array([float(value) for value in distinct]), np.array(list(distinct.values()))
    )
    result = wilcoxon_signed_rank(counts)
    if not np.any(raw != 0):
        assert result.p is None
        return
    assert result.p == pytest.approx(scipy_wilcoxon_p(raw), abs=1e-12)


@given(st.lists(st.integers(-6, 6), min_size=2, max_size=300))
@settings(max_examples=100, deadline=None)
def test_gap_estimate_equals_scipy_t_test(gaps: list[int]) -> None:
    """Do mean, sd, t, p and the 95% interval equal ``ttest_1samp`` on the raw gaps?"""
    values = np.array(gaps, dtype=float)
    estimate = gap_estimate(ValueCounts.of(values))
    assert estimate.n == len(values)
    assert estimate.mean == pytest.approx(values.mean(), abs=1e-12)
    if np.all(values == values[0]):
        assert estimate.t is None
        assert estimate.effect_size_dz is None
        assert CONSTANT in estimate.notes
        return
    reference = stats.ttest_1samp(values, 0.0)
    low, high = reference.confidence_interval(0.95)
    assert estimate.sd == pytest.approx(values.std(ddof=1), rel=1e-12)
    assert estimate.t == pytest.approx(reference.statistic, rel=1e-10)
    assert estimate.df == len(values) - 1
    assert estimate.p == pytest.approx(reference.pvalue, abs=1e-12)
    assert estimate.ci_low == pytest.approx(low, abs=1e-12)
    assert estimate.ci_high == pytest.approx(high, abs=1e-12)
    assert estimate.effect_size_dz == pytest.approx(values.mean() / values.std(ddof=1))


def test_no_gaps_gives_nulls_with_reason() -> None:
    """With nobody, is every value null and said why?"""
    estimate = gap_estimate(ValueCounts(np.arange(-2.0, 3.0), np.zeros(5, dtype=np.int64)))
    assert estimate.n == 0
    assert estimate.mean is None
    assert estimate.p is None
    assert estimate.wilcoxon_p is None
    assert estimate.notes


def test_one_respondent_has_a_mean_and_nothing_else() -> None:
    """n = 1: a mean, but no sd, interval, test or effect size (and the reason)."""
    estimate = gap_estimate(ValueCounts.of([-2.0]))
    assert (estimate.n, estimate.mean) == (1, -2.0)
    assert estimate.sd is None
    assert estimate.t is None
    assert estimate.ci_low is None
    assert estimate.effect_size_dz is None
    assert ONE_RESPONDENT in estimate.notes


def test_two_respondents_give_a_t_test_on_one_df() -> None:
    """n = 2 is the smallest sample with a t-test: df = 1."""
    estimate = gap_estimate(ValueCounts.of([-1.0, -3.0]))
    reference = stats.ttest_1samp([-1.0, -3.0], 0.0)
    assert estimate.df == 1
    assert estimate.t == pytest.approx(reference.statistic)
    assert estimate.p == pytest.approx(reference.pvalue)


def test_zero_variance_nulls_t_and_dz_but_keeps_the_signed_rank_test() -> None:
    """Every gap −1: sd = 0, so no t or d_z (with the reason); Wilcoxon still runs (as in R)."""
    values = np.full(12, -1.0)
    estimate = gap_estimate(ValueCounts.of(values))
    assert estimate.sd == 0.0
    assert estimate.t is None
    assert estimate.p is None
    assert estimate.effect_size_dz is None
    assert CONSTANT in estimate.notes
    assert estimate.wilcoxon_p == pytest.approx(scipy_wilcoxon_p(values))


def test_all_zero_gaps_have_no_signed_rank_test() -> None:
    estimate = gap_estimate(ValueCounts.of([0.0] * 8))
    assert estimate.mean == 0.0
    assert estimate.wilcoxon_p is None
    assert ALL_ZERO in estimate.notes


def test_t_interval_from_raw_sums_matches_the_histogram_path() -> None:
    """Moments from Σ and Σ² give the same interval as the exact histogram."""
    values = np.array([1.0, 2.0, 2.0, 5.0, -1.0])
    from_sums = t_interval(Moments(5, values.sum(), (values**2).sum()), alpha=0.1)
    from_counts = t_interval(ValueCounts.of(values).moments(), alpha=0.1)
    assert from_sums.ci_low == pytest.approx(from_counts.ci_low, abs=1e-12)
    low, _ = stats.ttest_1samp(values, 0.0).confidence_interval(0.90)
    assert from_sums.ci_low == pytest.approx(low, abs=1e-12)
