"""Comparisons of respondent dimension gaps across the levels of one factor, from each level's
n, mean and variance (methods.md, "Comparisons across groups").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from scipy import special, stats

from analysis.distributions import f_sf, t_quantile, t_sf
from analysis.results import PairDifference, WelchAnova
from analysis.sufficient import Moments


@lru_cache(maxsize=16)
def _gauss_legendre_unit(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(nodes)
    return x, w


def _gauss_legendre(
    low: float, high: float, nodes: int, panels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre nodes and weights on [low, high]."""
    x, w = _gauss_legendre_unit(nodes)
    edges = np.linspace(low, high, panels + 1)
    half = (edges[1:] - edges[:-1]) / 2
    middle = (edges[1:] + edges[:-1]) / 2
    return (half[:, None] * x + middle[:, None]).ravel(), (half[:, None] * w).ravel()


def welch_anova(groups: Sequence[Moments]) -> WelchAnova:
    """Welch's one-way ANOVA with η² (R ``oneway.test(y ~ g, var.equal = FALSE)``).

    With ``w_i = n_i / s_i²``, ``W = Σ w_i`` and ``m = Σ w_i ȳ_i / W``:

    .. math::
        A = \\frac{\\sum w_i (ȳ_i - m)^2}{k - 1},\\quad
        λ = \\sum \\frac{(1 - w_i/W)^2}{n_i - 1},\\quad
        F = \\frac{A}{1 + 2(k-2)λ/(k^2-1)},\\quad df_2 = \\frac{k^2 - 1}{3λ}

    on ``(k − 1, df_2)`` df. ``eta_squared = SS_between / SS_total`` of the same data.
    """
    k = len(groups)
    if k < 2:
        return WelchAnova(None, max(k - 1, 0), None, None, None, ("fewer than two groups",))
    if any(group.n < 2 for group in groups):
        return WelchAnova(None, k - 1, None, None, None, ("a group has fewer than 2 respondents",))
    eta = eta_squared(groups)
    if any(group.var <= 0 for group in groups):
        return WelchAnova(None, k - 1, None, None, eta, ("a group's gaps do not vary (sd = 0)",))
    weights = [group.n / group.var for group in groups]
    total_weight = sum(weights)
    centre = sum(w * g.mean for w, g in zip(weights, groups, strict=True)) / total_weight
    a = sum(w * (g.mean - centre) ** 2 for w, g in zip(weights, groups, strict=True)) / (k - 1)
    lam = sum((1 - w / total_weight) ** 2 / (g.n - 1) for w, g in zip(weights, groups, strict=True))
    f = a / (1 + 2 * (k - 2) * lam / (k * k - 1))
    df2 = (k * k - 1) / (3 * lam)
    p = f_sf(f, k - 1, df2)
    return WelchAnova(f, k - 1, df2, p, eta)


def eta_squared(groups: Sequence[Moments]) -> float | None:
    """η² = SS_between / SS_total, from each group's n, mean and Σ(x − mean)²."""
    n = sum(group.n for group in groups)
    if n == 0:
        return None
    grand = sum(group.total for group in groups) / n
    between = sum(group.n * (group.mean - grand) ** 2 for group in groups)
    within = sum(group.ss for group in groups)
    total = between + within
    return between / total if total > 0 else None


# The studentized range distribution -------------------------------------------------------------
# scipy's ``studentized_range`` is exact but slow (about 15 ms per tail probability and 0.2 s per
# quantile, by adaptive double integration), too slow for a dashboard comparing five segments on
# five dimensions. Both integrals below are smooth after the substitution s = e^v, so fixed
# Gauss–Legendre rules reach ~1e-9 (tests compare with scipy and, for k = 2, with the exact
# t distribution), in about a millisecond.
_Z_NODES, _Z_WEIGHTS = _gauss_legendre(-9.0, 9.0, 48, 3)
_PHI = np.exp(-(_Z_NODES**2) / 2) / math.sqrt(2 * math.pi)
_CDF = special.ndtr(_Z_NODES)
_Z_MASS = _Z_WEIGHTS * _PHI
#: Above this df the chi distribution of s is narrow enough for one panel of nodes.
_NARROW_DF = 100.0


def _range_tail(w: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """P(range of k standard normals > w) and its density, for each w ≥ 0.

    ``1 − W(w) = k ∫ φ(z) (Φ(z)^{k−1} − (Φ(z) − Φ(z−w))^{k−1}) dz``, written as
    ``Φ(z−w) Σ a^i b^{k−2−i}`` (summed by Horner's rule) so small tails keep their relative
    precision.
    """
    m = k - 1
    shifted = _Z_NODES[None, :] - w[:, None]
    c = special.ndtr(shifted)
    b = _CDF[None, :] - c
    # P_j = Σ_{i ≤ j} a^i b^{j−i}: P_0 = 1, P_j = b·P_{j−1} + a^j; the density needs b^{m−1}.
    powers = np.ones_like(b)
    b_power = np.ones_like(b)
    for j in range(1, m):
        powers = powers * b + _CDF**j
        b_power = b_power * b
    tail = k * (c * powers) @ _Z_MASS
    phi_shift = np.exp(-(shifted**2) / 2) / math.sqrt(2 * math.pi)
    density = k * m * (phi_shift * b_power) @ _Z_MASS
    return tail, density


def _chi_rule(df: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes s and weights (times the density of s = √(χ²_df/df)) covering s's mass, for v =
    log s between the 1e-16 and 1 − 1e-16 quantiles (one panel when df is large: s is narrow)."""
    lo = math.log(float(stats.chi2.ppf(1e-16, df)) / df) / 2
    hi = math.log(float(stats.chi2.isf(1e-16, df)) / df) / 2
    v, weights = _gauss_legendre(lo, hi, 48, 1 if df > _NARROW_DF else 3)
    s = np.exp(v)
    log_density = (
        (df / 2) * math.log(df)
        - special.gammaln(df / 2)
        - (df / 2 - 1) * math.log(2)
        + df * v
        - df * s * s / 2
    )
    return s, weights * np.exp(log_density)


def _studentized_range(
    q: float, k: int, df: float, rule: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[float, float]:
    """(P(Q > q), density at q) of the studentized range with k groups and df (``rule`` is
    ``_chi_rule(df)`` when the caller has it already)."""
    s, mass = rule if rule is not None else _chi_rule(df)
    tail, density = _range_tail(q * s, k)
    return float(mass @ tail), float((mass * s) @ density)


def studentized_range_sf(q: float, k: int, df: float) -> float:
    """P(Q_{k,df} > q) (scipy ``studentized_range.sf``; R ``ptukey(q, k, df, lower = FALSE)``).
    For k = 2, Q = √2 |T_df| exactly."""
    if q <= 0:
        return 1.0
    if k == 2:
        return 2 * t_sf(q / math.sqrt(2), df)
    return min(max(_studentized_range(q, k, df)[0], 0.0), 1.0)


def studentized_range_ppf(level: float, k: int, df: float) -> float:
    """The ``level`` quantile of Q_{k,df} (scipy ``studentized_range.ppf``; R ``qtukey``), by
    safeguarded Newton steps on the tail probability."""
    if k == 2:
        return math.sqrt(2) * t_quantile(1 - (1 - level) / 2, df)
    target = 1 - level
    # Bonferroni over the k(k-1)/2 pairs: a close upper bound to start from.
    pairs = k * (k - 1) / 2
    q = math.sqrt(2) * t_quantile(1 - target / (2 * pairs), df)
    low, high = 0.0, math.inf
    rule = _chi_rule(df)
    for _ in range(60):
        tail, density = _studentized_range(q, k, df, rule)
        if tail > target:
            low = q
        else:
            high = q
        step = (tail - target) / density if density > 0 else math.inf
        # The integrals are good to ~1e-9, so a finer step is noise.
        if abs(step) <= 1e-10 * max(q, 1.0):
            return q + step
        candidate = q + step
        if not low < candidate < high:
            candidate = (low + high) / 2 if math.isfinite(high) else 2 * q
        q = candidate
    return q


def games_howell(
    groups: Mapping[str, Moments], *, alpha: float = 0.05
) -> tuple[PairDifference, ...]:
    """Games–Howell pairs ``(a, b)`` in sorted order of the level names.

    ``diff = ȳ_b − ȳ_a``, ``se = √(s_a²/n_a + s_b²/n_b)``, Welch–Satterthwaite ``df``;
    ``p_adjusted = P(Q_{k,df} > |diff|/se · √2)`` and the simultaneous interval
    ``diff ± q_{1−α,k,df}/√2 · se`` (R ``ptukey(q, k, df, lower.tail = FALSE)`` and
    ``qtukey(1 - alpha, k, df)``).
    """
    names = sorted(groups)
    k = len(names)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ga, gb = groups[a], groups[b]
            diff = gb.mean - ga.mean
            if ga.n < 2 or gb.n < 2:
                pairs.append(PairDifference(a, b, diff, None, None, None, None, None))
                continue
            va, vb = ga.var / ga.n, gb.var / gb.n
            se = math.sqrt(va + vb)
            if se == 0:
                pairs.append(PairDifference(a, b, diff, 0.0, None, None, None, None))
                continue
            df = (va + vb) ** 2 / (va**2 / (ga.n - 1) + vb**2 / (gb.n - 1))
            q = abs(diff) / se * math.sqrt(2)
            p = studentized_range_sf(q, k, df)
            half = studentized_range_ppf(1 - alpha, k, df) / math.sqrt(2) * se
            pairs.append(PairDifference(a, b, diff, se, df, diff - half, diff + half, min(p, 1.0)))
    return tuple(pairs)
