"""Headline scores from value counts: NPS, CSAT top-2-box, CES and rating means
(methods.md, "Scores")."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis.gaps import NO_RESPONDENTS, t_interval
from analysis.results import Estimate
from analysis.sufficient import Moments, ValueCounts

NPS_METHOD = "NPS = 100 (promoters − detractors); normal interval"
WILSON_METHOD = "top-2-box share; Wilson score interval"
T_METHOD = "mean; t interval"


def nps(counts: ValueCounts, *, alpha: float = 0.05) -> Estimate:
    """Net Promoter Score from 0–10 counts: promoters 9–10, detractors 0–6.

    ``value = 100 (p₊ − p₋)``; ``var = (p₊ + p₋ − (p₊ − p₋)²)/n``; interval
    ``value ± z_{1−α/2} · 100 · √var`` (R ``qnorm(0.975)`` at the default alpha).
    """
    n = counts.n
    if n == 0:
        return Estimate(0, None, None, None, NPS_METHOD, notes=(NO_RESPONDENTS,))
    promoters = float(counts.counts[counts.values >= 9].sum()) / n
    detractors = float(counts.counts[counts.values <= 6].sum()) / n
    return _nps(n, promoters + detractors, promoters - detractors, alpha)


def nps_of_values(moments: Moments, *, alpha: float = 0.05) -> Estimate:
    """NPS from the n, Σ and Σ² of respondent values 100 / 0 / −100 (``promoter_values``):
    ``Σx/100n = p₊ − p₋`` and ``Σx²/10⁴n = p₊ + p₋``, so the same estimate and interval."""
    n = moments.n
    if n == 0:
        return Estimate(0, None, None, None, NPS_METHOD, notes=(NO_RESPONDENTS,))
    return _nps(n, moments.total_sq / 10_000 / n, moments.total / 100 / n, alpha)


def _nps(n: int, both: float, net: float, alpha: float) -> Estimate:
    value = 100 * net
    var = max((both - net * net) / n, 0.0)
    half = float(stats.norm.ppf(1 - alpha / 2)) * 100 * math.sqrt(var)
    return Estimate(n, value, value - half, value + half, NPS_METHOD, sd=100 * math.sqrt(var * n))


def share(successes: int, n: int, *, alpha: float = 0.05, method: str = WILSON_METHOD) -> Estimate:
    """A proportion with its Wilson score interval (R ``prop.test(x, n, correct = FALSE)``;
    statsmodels ``proportion_confint(method="wilson")``)."""
    if n == 0:
        return Estimate(0, None, None, None, method, notes=(NO_RESPONDENTS,))
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    value = successes / n
    # The interval contains the estimate; at 0 (or n) successes statsmodels' bound is off by
    # rounding (1.4e-17 for 0 of 18), which would put the estimate outside its own interval.
    return Estimate(n, value, min(float(low), value), max(float(high), value), method)


def top2_count(counts: ValueCounts, *, high: float | None = None) -> int:
    """Answers in the top two points of the scale; ``high`` is the scale's top point (default:
    the highest value in ``counts``, which ``CellStats`` lists over the whole scale)."""
    top = high if high is not None else (counts.values.max() if len(counts.values) else 0)
    return int(counts.counts[counts.values >= top - 1].sum())


def bottom2_count(counts: ValueCounts, *, low: float | None = None) -> int:
    """Answers in the bottom two points of the scale (1 or 2 of a 5-point CSAT item)."""
    bottom = low if low is not None else (counts.values.min() if len(counts.values) else 0)
    return int(counts.counts[counts.values <= bottom + 1].sum())


def csat_top2(counts: ValueCounts, *, high: float | None = None, alpha: float = 0.05) -> Estimate:
    """Share answering one of the top two points of the scale (4 or 5 of a 5-point CSAT item),
    with its Wilson interval."""
    return share(top2_count(counts, high=high), counts.n, alpha=alpha)


def bottom2_share(
    counts: ValueCounts, *, low: float | None = None, alpha: float = 0.05
) -> Estimate:
    """Share dissatisfied: one of the bottom two points, with its Wilson interval."""
    return share(
        bottom2_count(counts, low=low),
        counts.n,
        alpha=alpha,
        method="bottom-2-box share; Wilson interval",
    )


def mean_score(counts: ValueCounts, *, alpha: float = 0.05) -> Estimate:
    """Mean of a rating (e.g. CES) with its t interval (R ``t.test(x)$conf.int``)."""
    interval = t_interval(counts.moments(), alpha=alpha)
    return Estimate(
        interval.n,
        interval.mean,
        interval.ci_low,
        interval.ci_high,
        T_METHOD,
        sd=interval.sd,
        notes=interval.notes,
    )


def promoter_values(counts: ValueCounts) -> ValueCounts:
    """NPS counts as respondent values 100 (promoter), 0 (passive), −100 (detractor): their mean
    is the NPS, so the mean chart and the slope of NPS use the same machinery as gaps."""
    values = np.array([-100.0, 0.0, 100.0])
    grouped = np.array(
        [
            counts.counts[counts.values <= 6].sum(),
            counts.counts[(counts.values > 6) & (counts.values < 9)].sum(),
            counts.counts[counts.values >= 9].sum(),
        ],
        dtype=np.int64,
    )
    return ValueCounts(values, grouped)
