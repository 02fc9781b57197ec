"""Trends: periods, the slope test, control-chart limits and Western Electric signals
(methods.md, "Trends and control charts").

Every function takes per-period summaries (n, Σ, Σ² or counts), so a trend over a million
respondents costs O(periods).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from analysis.distributions import t_sf
from analysis.results import AnalysisError
from analysis.sufficient import Moments

PERIODS = ("month", "quarter")

BEYOND_3 = "beyond_3_sigma"
TWO_OF_THREE = "2_of_3_beyond_2_sigma"
FOUR_OF_FIVE = "4_of_5_beyond_1_sigma"
EIGHT_ON_ONE_SIDE = "8_on_one_side"


def period_of(month: str, per: str) -> str:
    """The period of a calendar month ``YYYY-MM``: itself, or its quarter ``YYYY-Qn``."""
    if per == "month":
        return month
    if per == "quarter":
        year, number = month.split("-")
        return f"{year}-Q{(int(number) - 1) // 3 + 1}"
    raise AnalysisError(f"unknown period {per!r}; choose month or quarter")


def period_number(period: str) -> int:
    """A running number of a month (``YYYY-MM``) or quarter (``YYYY-Qn``); consecutive periods
    differ by one."""
    year, part = period.split("-")
    if part.startswith("Q"):
        return int(year) * 4 + int(part[1:]) - 1
    return int(year) * 12 + int(part) - 1


def period_indices(periods: Sequence[str]) -> list[int]:
    """Period index for the slope: calendar periods since the first period present (0), so a
    period without data keeps its place on the time axis."""
    numbers = [period_number(p) for p in periods]
    first = min(numbers) if numbers else 0
    return [number - first for number in numbers]


@dataclass(frozen=True, slots=True)
class SlopeFit:
    n: int
    slope: float | None
    se: float | None
    t: float | None
    df: int | None
    p: float | None
    notes: tuple[str, ...] = ()


def trend_slope(indices: Sequence[int], series: Sequence[Moments]) -> SlopeFit:
    """OLS slope of the respondent-level metric on the period index, exactly from per-period
    n, Σ and Σ² (R ``summary(lm(y ~ index))``).

    With ``N = Σ n_t``, ``x̄ = Σ n_t x_t / N``, ``ȳ = Σ S_t / N``: ``Sxx = Σ n_t (x_t − x̄)²``,
    ``Sxy = Σ (x_t − x̄) S_t``, slope ``b = Sxy/Sxx``, residual SS ``Syy − b Sxy`` on ``N − 2`` df,
    ``se = √(RSS/(N − 2)/Sxx)``, ``t = b/se``, two-sided p.
    """
    n = sum(m.n for m in series)
    if n == 0:
        return SlopeFit(0, None, None, None, None, None, ("no respondents",))
    x_mean = sum(m.n * x for x, m in zip(indices, series, strict=True)) / n
    y_total = sum(m.total for m in series)
    sxx = sum(m.n * (x - x_mean) ** 2 for x, m in zip(indices, series, strict=True))
    if sxx == 0:
        return SlopeFit(n, None, None, None, None, None, ("one period: no slope",))
    sxy = sum((x - x_mean) * m.total for x, m in zip(indices, series, strict=True))
    y_mean = y_total / n
    # Σ(y − ȳ)² from each period's centred SS plus its mean's distance to ȳ (no cancellation).
    syy = sum(m.ss + m.n * (m.mean - y_mean) ** 2 for m in series if m.n)
    slope = sxy / sxx
    df = n - 2
    if df <= 0:
        return SlopeFit(n, slope, None, None, None, None, ("fewer than 3 respondents",))
    rss = max(syy - slope * sxy, 0.0)
    se = math.sqrt(rss / df / sxx)
    if se == 0:
        return SlopeFit(n, slope, 0.0, None, df, None, ("the values lie on a line: no test",))
    t = slope / se
    return SlopeFit(n, slope, se, t, df, 2 * t_sf(abs(t), df))


@dataclass(frozen=True, slots=True)
class ControlLimits:
    """Centre line and, per period, the 1σ width and the 3σ limits."""

    center: float | None
    sigmas: tuple[float | None, ...]
    lcl: tuple[float | None, ...]
    ucl: tuple[float | None, ...]


def mean_chart(series: Sequence[Moments]) -> ControlLimits:
    """X̄ chart with varying n: centre = grand mean of respondent values, σ̂ = pooled within-period
    sd ``√(Σ(n_t − 1)s_t² / Σ(n_t − 1))``, limits ``centre ± 3σ̂/√n_t``."""
    n = sum(m.n for m in series)
    if n == 0:
        return ControlLimits(None, (), (), ())
    center = sum(m.total for m in series) / n
    dof = sum(m.n - 1 for m in series if m.n > 0)
    if dof <= 0:
        none = tuple(None for _ in series)
        return ControlLimits(center, none, none, none)
    pooled = math.sqrt(sum(m.ss for m in series) / dof)
    sigmas = tuple(pooled / math.sqrt(m.n) if m.n else None for m in series)
    return ControlLimits(
        center,
        sigmas,
        tuple(center - 3 * s if s is not None else None for s in sigmas),
        tuple(center + 3 * s if s is not None else None for s in sigmas),
    )


def share_chart(successes: Sequence[int], sizes: Sequence[int]) -> ControlLimits:
    """p chart: ``p̄ ± 3√(p̄(1 − p̄)/n_t)``, clipped to [0, 1]."""
    n = sum(sizes)
    if n == 0:
        return ControlLimits(None, (), (), ())
    center = sum(successes) / n
    sigmas = tuple(math.sqrt(center * (1 - center) / size) if size else None for size in sizes)
    return ControlLimits(
        center,
        sigmas,
        tuple(max(0.0, center - 3 * s) if s is not None else None for s in sigmas),
        tuple(min(1.0, center + 3 * s) if s is not None else None for s in sigmas),
    )


def count_chart(counts: Sequence[float], exposures: Sequence[float]) -> ControlLimits:
    """u chart (a c chart when every exposure is 1): ``ū ± 3√(ū/a_t)``, the lower limit
    clipped at 0; ``ū = Σ counts / Σ exposures`` (e.g. complaints per 1,000 customers with
    exposure in thousands)."""
    exposure = sum(exposures)
    if exposure <= 0:
        return ControlLimits(None, (), (), ())
    center = sum(counts) / exposure
    sigmas = tuple(math.sqrt(center / a) if a > 0 else None for a in exposures)
    return ControlLimits(
        center,
        sigmas,
        tuple(max(0.0, center - 3 * s) if s is not None else None for s in sigmas),
        tuple(center + 3 * s if s is not None else None for s in sigmas),
    )


def western_electric(
    values: Sequence[float], center: float, sigmas: Sequence[float | None]
) -> tuple[tuple[str, ...], ...]:
    """Western Electric signals of each point, named by rule.

    1. one point beyond 3σ; 2. two of three consecutive points beyond 2σ on one side;
    3. four of five beyond 1σ on one side; 4. eight in a row on one side of the centre.
    A run rule fires at the point that completes it, and only if that point is itself one of
    the points beyond the zone; windows at the start of a series are shorter. σ is per point
    (limits vary with n).
    """
    z = [
        (v - center) / s if s else (0.0 if v == center else math.copysign(math.inf, v - center))
        for v, s in zip(values, sigmas, strict=True)
    ]
    signals: list[tuple[str, ...]] = []
    for i, zi in enumerate(z):
        found = []
        if abs(zi) > 3:
            found.append(BEYOND_3)
        side = 1 if zi > 0 else -1 if zi < 0 else 0
        if side:
            if _beyond(z[max(0, i - 2) : i + 1], 2, side) >= 2 and side * zi > 2:
                found.append(TWO_OF_THREE)
            if _beyond(z[max(0, i - 4) : i + 1], 1, side) >= 4 and side * zi > 1:
                found.append(FOUR_OF_FIVE)
            if i >= 7 and all(side * zj > 0 for zj in z[i - 7 : i + 1]):
                found.append(EIGHT_ON_ONE_SIDE)
        signals.append(tuple(found))
    return tuple(signals)


def _beyond(window: Sequence[float], limit: float, side: int) -> int:
    return sum(1 for value in window if side * value > limit)
