"""Target status and the one-sided p-value (methods.md, "Targets")."""

from __future__ import annotations

import pytest
from scipy import stats

from analysis.results import AnalysisError
from analysis.targets import (
    MET,
    MISSED,
    NOT_DISTINGUISHABLE,
    one_sided_p_share,
    one_sided_p_t,
    status_of,
)


@pytest.mark.parametrize(
    ("low", "high", "direction", "status"),
    [
        (0.2, 0.5, "at_least", MET),
        (-0.5, -0.2, "at_least", MISSED),
        (-0.1, 0.3, "at_least", NOT_DISTINGUISHABLE),
        (-0.5, -0.2, "at_most", MET),
        (0.2, 0.5, "at_most", MISSED),
        (0.0, 0.3, "at_least", NOT_DISTINGUISHABLE),
    ],
)
def test_status_from_the_interval(low: float, high: float, direction: str, status: str) -> None:
    assert status_of(low, high, 0.0, direction) == status


def test_unknown_direction() -> None:
    with pytest.raises(AnalysisError):
        status_of(0, 1, 0.5, "above")


def test_one_sided_t_p_is_in_the_direction_of_the_estimate() -> None:
    """R ``t.test(x, mu = threshold, alternative = "greater")`` when the mean is above."""
    assert one_sided_p_t(0.5, 0.2, 40, 0.0) == pytest.approx(stats.t.sf(2.5, 40))
    assert one_sided_p_t(-0.5, 0.2, 40, 0.0) == pytest.approx(stats.t.sf(2.5, 40))
    assert one_sided_p_t(0.5, 0.0, 40, 0.0) is None


def test_share_p_is_the_score_test() -> None:
    z = (30 / 50 - 0.5) / (0.5 * 0.5 / 50) ** 0.5
    assert one_sided_p_share(30, 50, 0.5) == pytest.approx(stats.norm.sf(z))
