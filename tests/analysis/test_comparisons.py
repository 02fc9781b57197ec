"""Welch's ANOVA, η² and Games–Howell from group moments, against statsmodels and scipy on raw
data (methods.md, "Comparisons across groups")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.oneway import anova_oneway

from analysis.comparisons import (
    games_howell,
    studentized_range_ppf,
    studentized_range_sf,
    welch_anova,
)
from analysis.sufficient import ValueCounts


@pytest.fixture
def samples() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {
        "consumer": np.round(rng.normal(-0.8, 1.0, 60) * 4) / 4,
        "enterprise": np.round(rng.normal(-0.4, 0.7, 45) * 3) / 3,
        "small_business": np.round(rng.normal(-0.5, 1.3, 38) * 5) / 5,
    }


def test_welch_anova_equals_statsmodels(samples) -> None:
    """R ``oneway.test(var.equal = FALSE)`` = statsmodels ``anova_oneway(use_var="unequal")``."""
    moments = [ValueCounts.of(v).moments() for v in samples.values()]
    result = welch_anova(moments)
    reference = anova_oneway(list(samples.values()), use_var="unequal")
    assert result.f == pytest.approx(reference.statistic, rel=1e-10)
    assert result.df1 == 2
    assert result.df2 == pytest.approx(reference.df[1], rel=1e-10)
    assert result.p == pytest.approx(reference.pvalue, abs=1e-12)


def test_eta_squared_is_between_over_total(samples) -> None:
    data = np.concatenate(list(samples.values()))
    between = sum(len(v) * (v.mean() - data.mean()) ** 2 for v in samples.values())
    result = welch_anova([ValueCounts.of(v).moments() for v in samples.values()])
    assert result.eta_squared == pytest.approx(between / ((data - data.mean()) ** 2).sum())


def test_games_howell_pairs(samples) -> None:
    """diff = mean_b − mean_a; p = P(Q > |diff|/se·√2); CI diff ± q_.95/√2·se."""
    pairs = games_howell({name: ValueCounts.of(v).moments() for name, v in samples.items()})
    assert [(p.a, p.b) for p in pairs] == [
        ("consumer", "enterprise"),
        ("consumer", "small_business"),
        ("enterprise", "small_business"),
    ]
    for pair in pairs:
        a, b = samples[pair.a], samples[pair.b]
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        diff = b.mean() - a.mean()
        q = stats.studentized_range.ppf(0.95, 3, df)
        assert pair.diff == pytest.approx(diff)
        assert pair.df == pytest.approx(df)
        assert pair.p_adjusted == pytest.approx(
            stats.studentized_range.sf(abs(diff) / se * math.sqrt(2), 3, df), abs=1e-9
        )
        assert pair.ci_low == pytest.approx(diff - q / math.sqrt(2) * se, abs=1e-9)
        assert pair.ci_high == pytest.approx(diff + q / math.sqrt(2) * se, abs=1e-9)


@pytest.mark.parametrize("k", [3, 7])
@pytest.mark.parametrize("df", [2.0, 17.3, 154.28, 2500.0])
def test_studentized_range_matches_scipy(k: int, df: float) -> None:
    """Our fixed-rule integrals agree with scipy's adaptive ones."""
    for q in (0.5, 3.3, 8.0):
        assert studentized_range_sf(q, k, df) == pytest.approx(
            stats.studentized_range.sf(q, k, df), abs=2e-9
        )
    assert studentized_range_ppf(0.95, k, df) == pytest.approx(
        stats.studentized_range.ppf(0.95, k, df), abs=1e-7
    )


@pytest.mark.parametrize("df", [3.0, 30.0, 400.0])
def test_studentized_range_of_two_groups_is_the_t_distribution(df: float) -> None:
    """For k = 2, Q = √2 |T|: the integral itself (not the shortcut) must agree."""
    from analysis.comparisons import _studentized_range

    for q in (0.3, 1.5, 4.0):
        assert _studentized_range(q, 2, df)[0] == pytest.approx(
            2 * stats.t.sf(q / math.sqrt(2), df), abs=1e-9
        )


def test_fewer_than_two_groups_or_no_variance() -> None:
    one = welch_anova([ValueCounts.of([1.0, 2.0, 3.0]).moments()])
    assert one.f is None
    assert one.notes
    flat = welch_anova([ValueCounts.of([1.0] * 5).moments(), ValueCounts.of([2.0, 3.0]).moments()])
    assert flat.f is None
    assert flat.eta_squared is not None
    pairs = games_howell(
        {"a": ValueCounts.of([1.0] * 5).moments(), "b": ValueCounts.of([1.0] * 4).moments()}
    )
    assert pairs[0].p_adjusted is None
