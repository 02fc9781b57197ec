"""Trends from per-period summaries: slope, control limits, Western Electric signals
(methods.md, "Trends and control charts")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.results import AnalysisError
from analysis.sufficient import Moments
from analysis.trends import (
    BEYOND_3,
    EIGHT_ON_ONE_SIDE,
    FOUR_OF_FIVE,
    TWO_OF_THREE,
    count_chart,
    mean_chart,
    period_indices,
    period_of,
    share_chart,
    trend_slope,
    western_electric,
)


def moments(values: np.ndarray) -> Moments:
    return Moments(len(values), float(values.sum()), float((values**2).sum()))


@pytest.fixture
def periods() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.normal(-0.6 + 0.05 * t, 0.8, size) for t, size in enumerate([30, 41, 25, 38])]


def test_slope_equals_ols_on_respondent_rows(periods) -> None:
    """R ``summary(lm(y ~ index))``: here scipy ``linregress`` on the stacked rows."""
    indices = [0, 1, 3, 4]  # a month without data keeps its place
    x = np.concatenate([np.full(len(v), i) for i, v in zip(indices, periods, strict=True)])
    y = np.concatenate(periods)
    reference = stats.linregress(x, y)
    fit = trend_slope(indices, [moments(v) for v in periods])
    assert fit.n == len(y)
    assert fit.slope == pytest.approx(reference.slope, rel=1e-10)
    assert fit.se == pytest.approx(reference.stderr, rel=1e-9)
    assert fit.p == pytest.approx(reference.pvalue, abs=1e-12)
    assert fit.df == len(y) - 2


def test_one_period_has_no_slope() -> None:
    fit = trend_slope([0], [moments(np.array([1.0, 2.0, 3.0]))])
    assert fit.slope is None
    assert fit.notes


def test_mean_chart_uses_pooled_within_period_sd(periods) -> None:
    limits = mean_chart([moments(v) for v in periods])
    pooled = math.sqrt(
        sum((len(v) - 1) * v.var(ddof=1) for v in periods) / sum(len(v) - 1 for v in periods)
    )
    centre = np.concatenate(periods).mean()
    assert limits.center == pytest.approx(centre)
    for v, low, high in zip(periods, limits.lcl, limits.ucl, strict=True):
        assert low == pytest.approx(centre - 3 * pooled / math.sqrt(len(v)))
        assert high == pytest.approx(centre + 3 * pooled / math.sqrt(len(v)))


def test_share_chart_is_clipped_to_the_unit_interval() -> None:
    limits = share_chart([1, 0, 2], [10, 5, 8])
    p = 3 / 23
    assert limits.center == pytest.approx(p)
    assert limits.lcl == (0.0, 0.0, 0.0)
    assert limits.ucl[0] == pytest.approx(p + 3 * math.sqrt(p * (1 - p) / 10))
    assert share_chart([9, 10], [10, 10]).ucl == (1.0, 1.0)


def test_count_chart() -> None:
    """u chart: ū ± 3√(ū/a_t), e.g. complaints per 1,000 customers."""
    limits = count_chart([12, 30, 8], [2.0, 4.0, 1.5])
    u = 50 / 7.5
    assert limits.center == pytest.approx(u)
    assert limits.ucl[1] == pytest.approx(u + 3 * math.sqrt(u / 4.0))
    assert limits.lcl[2] == pytest.approx(max(0.0, u - 3 * math.sqrt(u / 1.5)))


def signals_of(z: list[float]) -> tuple[tuple[str, ...], ...]:
    return western_electric(z, 0.0, [1.0] * len(z))


def test_rule_one_point_beyond_three_sigma() -> None:
    assert signals_of([0.5, -3.2, 0.1]) == ((), (BEYOND_3,), ())


def test_rule_two_of_three_beyond_two_sigma_on_one_side() -> None:
    signals = signals_of([2.5, 0.3, 2.1, 0.0])
    assert TWO_OF_THREE in signals[2]
    assert TWO_OF_THREE not in signals[0]
    assert not any(TWO_OF_THREE in s for s in signals_of([2.5, 0.3, -2.1]))


def test_rule_four_of_five_beyond_one_sigma() -> None:
    signals = signals_of([1.2, 1.5, 0.2, 1.1, 1.3])
    assert FOUR_OF_FIVE in signals[4]
    assert not any(FOUR_OF_FIVE in s for s in signals[:4])


def test_rule_eight_in_a_row_on_one_side() -> None:
    signals = signals_of([0.2] * 7 + [0.1, -0.1])
    assert EIGHT_ON_ONE_SIDE in signals[7]
    assert EIGHT_ON_ONE_SIDE not in signals[6]
    assert signals[8] == ()


def test_periods() -> None:
    assert period_of("2026-05", "quarter") == "2026-Q2"
    assert period_of("2026-12", "month") == "2026-12"
    assert period_indices(["2025-11", "2026-01", "2026-02"]) == [0, 2, 3]
    assert period_indices(["2025-Q4", "2026-Q2"]) == [0, 2]
    with pytest.raises(AnalysisError):
        period_of("2026-01", "week")
