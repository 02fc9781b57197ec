"""Target status: met, missed or not distinguishable, from the metric's interval
(methods.md, "Targets")."""

from __future__ import annotations

import math

from analysis.distributions import normal_sf, t_sf
from analysis.results import AnalysisError

MET = "met"
MISSED = "missed"
NOT_DISTINGUISHABLE = "not_distinguishable"
DIRECTIONS = ("at_least", "at_most")


def status_of(ci_low: float, ci_high: float, threshold: float, direction: str) -> str:
    """Met when the whole interval is on the good side of the threshold, missed when it is
    wholly on the bad side, not distinguishable otherwise (touching counts as not wholly)."""
    if direction not in DIRECTIONS:
        raise AnalysisError(f"unknown target direction {direction!r}; use at_least or at_most")
    if direction == "at_least":
        if ci_low > threshold:
            return MET
        if ci_high < threshold:
            return MISSED
    else:
        if ci_high < threshold:
            return MET
        if ci_low > threshold:
            return MISSED
    return NOT_DISTINGUISHABLE


def one_sided_p_t(mean: float, se: float, df: int, threshold: float) -> float | None:
    """One-sided p of the t-test of ``mean`` against ``threshold`` in the direction of the
    estimate: ``P(T_df ≥ |mean − threshold| / se)`` (R ``t.test(x, mu = threshold,
    alternative = "greater" or "less")``)."""
    if se <= 0:
        return None
    return t_sf(abs(mean - threshold) / se, df)


def one_sided_p_z(value: float, se: float, threshold: float) -> float | None:
    """One-sided p of a normal (Wald) test in the direction of the estimate (NPS)."""
    if se <= 0:
        return None
    return normal_sf(abs(value - threshold) / se)


def one_sided_p_share(successes: int, n: int, threshold: float) -> float | None:
    """One-sided p of the score test of a share against ``threshold`` in the direction of the
    estimate, ``z = (p̂ − p₀)/√(p₀(1 − p₀)/n)`` (R ``prop.test(x, n, p = p0, correct = FALSE,
    alternative = ...)``): the test the Wilson interval inverts, so status and p agree."""
    if n == 0 or not 0 < threshold < 1:
        return None
    se = math.sqrt(threshold * (1 - threshold) / n)
    return normal_sf(abs(successes / n - threshold) / se)
