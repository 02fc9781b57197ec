"""Multiplicity adjustment against statsmodels (R ``p.adjust``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from analysis.multiplicity import adjust_pvalues
from analysis.results import AnalysisError

p_values = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=30)


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
@given(p=p_values)
@settings(max_examples=15, deadline=None)  # statsmodels' Holm runs gc.collect() per call
def test_adjustment_equals_statsmodels(method: str, p: list[float]) -> None:
    """Holm and Benjamini–Hochberg as ``multipletests`` computes them, ties included."""
    expected = multipletests(np.array(p), method=method)[1]
    assert adjust_pvalues(p, method) == pytest.approx(list(expected), abs=1e-15)


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_ties_and_ones_equal_statsmodels(method: str) -> None:
    p = [0.01, 0.01, 0.5, 1.0, 0.0, 0.03, 0.03, 0.2]
    expected = multipletests(np.array(p), method=method)[1]
    assert adjust_pvalues(p, method) == pytest.approx(list(expected), abs=1e-15)


def test_untestable_entries_stay_none_and_leave_the_family() -> None:
    """A None (no test) is not counted: the family is the two real p-values."""
    adjusted = adjust_pvalues([0.01, None, 0.04], "holm")
    assert adjusted == pytest.approx([0.02, None, 0.04])
    assert adjusted[1] is None


def test_none_correction_returns_the_p_values() -> None:
    assert adjust_pvalues([0.2, 0.01], "none") == [0.2, 0.01]


def test_unknown_correction_is_refused() -> None:
    with pytest.raises(AnalysisError, match="bonferroni"):
        adjust_pvalues([0.1], "bonferroni")


def test_empty_family() -> None:
    assert adjust_pvalues([None, None], "fdr_bh") == [None, None]
