"""Cronbach's alpha from cross products, against the same formulas on raw item scores."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.reliability import cronbach_alpha
from analysis.sufficient import CrossProducts


def cross_products(data: np.ndarray) -> CrossProducts:
    items = tuple(f"i{j}" for j in range(data.shape[1]))
    return CrossProducts(items, len(data), data.sum(axis=0), data.T @ data)


def raw_alpha(data: np.ndarray) -> float:
    k = data.shape[1]
    return k / (k - 1) * (1 - data.var(axis=0, ddof=1).sum() / data.sum(axis=1).var(ddof=1))


@pytest.fixture
def scale_data() -> np.ndarray:
    rng = np.random.default_rng(7)
    latent = rng.normal(size=(150, 1))
    return np.clip(np.round(4 + latent + rng.normal(scale=0.9, size=(150, 4))), 1, 7)


def test_alpha_item_total_and_alpha_if_deleted_match_raw_computation(scale_data) -> None:
    result = cronbach_alpha(cross_products(scale_data), dimension="d", measure="perception")
    assert result.alpha == pytest.approx(raw_alpha(scale_data), abs=1e-12)
    for j, row in enumerate(result.items):
        rest = np.delete(scale_data, j, axis=1)
        r = np.corrcoef(scale_data[:, j], rest.sum(axis=1))[0, 1]
        assert row.item_total_r == pytest.approx(r, abs=1e-12)
        assert row.alpha_if_deleted == pytest.approx(raw_alpha(rest), abs=1e-12)


def test_feldt_interval(scale_data) -> None:
    """[1 − (1−α)F_.975(n−1, (n−1)(k−1)), 1 − (1−α)F_.025(...)] (as pingouin)."""
    result = cronbach_alpha(cross_products(scale_data), dimension="d", measure="perception")
    n, k = scale_data.shape
    alpha = raw_alpha(scale_data)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    assert result.ci_low == pytest.approx(1 - (1 - alpha) * stats.f.ppf(0.975, df1, df2))
    assert result.ci_high == pytest.approx(1 - (1 - alpha) * stats.f.ppf(0.025, df1, df2))


def test_low_alpha_and_weak_items_are_warned() -> None:
    rng = np.random.default_rng(3)
    noise = rng.integers(1, 8, size=(60, 3)).astype(float)
    result = cronbach_alpha(cross_products(noise), dimension="d", measure="expectation")
    assert any("below 0.7" in warning for warning in result.warnings)
    assert any("item-total" in warning for warning in result.warnings)


def test_two_items_have_no_alpha_if_deleted() -> None:
    data = np.array([[1, 2], [3, 3], [4, 5], [2, 2]], dtype=float)
    result = cronbach_alpha(cross_products(data), dimension="d", measure="perception")
    assert result.alpha == pytest.approx(raw_alpha(data))
    assert all(row.alpha_if_deleted is None for row in result.items)


def test_one_item_or_one_respondent_gives_no_alpha() -> None:
    one_item = cronbach_alpha(
        cross_products(np.array([[1.0], [2.0], [3.0]])), dimension="d", measure="perception"
    )
    assert one_item.alpha is None
    assert one_item.notes == ("fewer than 2 items",)
    one_person = cronbach_alpha(
        cross_products(np.array([[1.0, 2.0, 3.0]])), dimension="d", measure="perception"
    )
    assert one_person.alpha is None
    assert one_person.notes


def test_items_that_do_not_vary_give_no_alpha() -> None:
    data = np.full((10, 3), 4.0)
    result = cronbach_alpha(cross_products(data), dimension="d", measure="perception")
    assert result.alpha is None
    assert result.notes == ("the items do not vary",)
