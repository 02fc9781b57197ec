"""Gap statistics of items and dimensions from a histogram of gaps (methods.md, "Gap statistics").

A gap histogram (``ValueCounts``) is exact for Likert data: item gaps are integers and respondent
dimension gaps are rationals with small denominators, so n, mean, sd, the t-test and the Wilcoxon
signed-rank test (ranks of tied absolute values are averages over exact ties) are the same as on
the raw respondent values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.distributions import normal_sf, t_quantile, t_sf
from analysis.results import GapEstimate
from analysis.sufficient import Moments, ValueCounts

NO_RESPONDENTS = "no respondent has this gap"
ONE_RESPONDENT = "one respondent: no sd, interval, test or effect size"
CONSTANT = "every gap is the same (sd = 0): no t-test, interval or effect size"
ALL_ZERO = "every gap is zero: no signed-rank test"


@dataclass(frozen=True, slots=True)
class SignedRank:
    """Wilcoxon signed-rank statistic: ``v`` = sum of positive ranks over ``n`` non-zero gaps."""

    n: int
    v: float
    z: float | None
    p: float | None


@dataclass(frozen=True, slots=True)
class TInterval:
    """Mean of respondent values with its t interval and the one-sample t-test against ``mu``."""

    n: int
    mean: float | None
    sd: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    df: int | None
    p: float | None
    notes: tuple[str, ...] = ()


def wilcoxon_signed_rank(counts: ValueCounts) -> SignedRank:
    """Wilcoxon signed-rank test of a histogram against 0, zeros dropped, normal approximation
    with tie and continuity corrections.

    With ``n`` non-zero values, ``V`` the sum of the ranks of the positive ones (ties get their
    average rank) and ``t_j`` the sizes of groups of tied absolute values:

    .. math::
        z = \\frac{V - n(n+1)/4 - \\tfrac12\\,\\mathrm{sign}(V - n(n+1)/4)}
                 {\\sqrt{n(n+1)(2n+1)/24 - \\sum_j (t_j^3 - t_j)/48}},
        \\qquad p = 2\\,\\Phi(-|z|)

    Matches R ``wilcox.test(g, exact = FALSE, correct = TRUE)`` and scipy
    ``wilcoxon(g, zero_method="wilcox", correction=True, method="approx")``; ranks come from the
    histogram, so the cost is O(distinct values), not O(n).
    """
    counts = counts.nonzero()
    values, freq = counts.values, counts.counts.astype(float)
    nonzero = values != 0
    values, freq = values[nonzero], freq[nonzero]
    n = int(freq.sum())
    if n == 0:
        return SignedRank(0, 0.0, None, None)
    magnitudes = np.abs(values)
    distinct, group = np.unique(magnitudes, return_inverse=True)
    tied = np.bincount(group, weights=freq, minlength=len(distinct))
    upper = np.cumsum(tied)
    average_rank = upper - (tied - 1) / 2
    positive = np.bincount(group, weights=np.where(values > 0, freq, 0.0), minlength=len(distinct))
    v = float(np.dot(positive, average_rank))
    centre = n * (n + 1) / 4
    variance = n * (n + 1) * (2 * n + 1) / 24 - float(np.sum(tied**3 - tied)) / 48
    if variance <= 0:
        return SignedRank(n, v, None, None)
    difference = v - centre
    z = (difference - 0.5 * math.copysign(1.0, difference) * (difference != 0)) / math.sqrt(
        variance
    )
    return SignedRank(n, v, z, min(1.0, 2 * normal_sf(abs(z))))


def t_interval(moments: Moments, *, alpha: float = 0.05, mu: float = 0.0) -> TInterval:
    """Mean with its ``1 - alpha`` t interval and the two-sided one-sample t-test against ``mu``.

    ``se = sd/√n``; ``t = (mean − mu)/se`` on ``n − 1`` df; CI ``mean ± t_{1−α/2, n−1} · se``
    (R ``t.test(x, mu = mu, conf.level = 1 - alpha)``). Null with a note for n < 2 or sd = 0.
    """
    n = moments.n
    if n == 0:
        return TInterval(0, None, None, None, None, None, None, None, None, (NO_RESPONDENTS,))
    mean = moments.mean
    if n == 1:
        return TInterval(1, mean, None, None, None, None, None, None, None, (ONE_RESPONDENT,))
    sd = moments.sd
    df = n - 1
    if sd == 0:
        return TInterval(n, mean, 0.0, 0.0, None, None, None, df, None, (CONSTANT,))
    se = sd / math.sqrt(n)
    t = (mean - mu) / se
    half = t_quantile(1 - alpha / 2, df) * se
    p = 2 * t_sf(abs(t), df)
    return TInterval(n, mean, sd, se, mean - half, mean + half, t, df, p)


def gap_estimate(counts: ValueCounts, *, alpha: float = 0.05) -> GapEstimate:
    """Every gap statistic of methods.md from a histogram of gaps ``g_1..g_n``.

    ``gap_mean`` and ``gap_sd`` (n − 1); the paired t-test of the gaps against 0 with its
    ``1 − alpha`` interval (R ``t.test(perception, expectation, paired = TRUE)``);
    ``effect_size_dz = mean/sd`` (null when sd = 0); ``wilcoxon_p`` from
    ``wilcoxon_signed_rank``.
    """
    interval = t_interval(counts.moments(), alpha=alpha)
    signed = wilcoxon_signed_rank(counts)
    notes = list(interval.notes)
    if interval.n > 0 and signed.p is None and signed.n == 0:
        notes.append(ALL_ZERO)
    dz = None
    if interval.sd and interval.mean is not None:
        dz = interval.mean / interval.sd
    return GapEstimate(
        n=interval.n,
        mean=interval.mean,
        sd=interval.sd,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        t=interval.t,
        df=interval.df,
        p=interval.p,
        wilcoxon_p=signed.p,
        effect_size_dz=dz,
        notes=tuple(notes),
    )
