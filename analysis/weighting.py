"""Importance weights, weighted gaps, the importance–performance analysis and the priority list
(methods.md, "Importance weights")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analysis.results import ImportancePerformance, Priority

#: Quadrants of the importance–performance grid (Martilla & James 1977), split at grand means.
CONCENTRATE = "concentrate_here"  # important, performing below the mean
KEEP_UP = "keep_up_the_good_work"
LOW_PRIORITY = "low_priority"
POSSIBLE_OVERKILL = "possible_overkill"


def importance_weight(n: int, points: int, total: int = 100) -> float | None:
    """``weight_d`` = mean over respondents of ``points_d / total`` (n respondents, Σ points)."""
    return points / total / n if n else None


def weighted_gap(n: int, weighted_sum: float) -> float | None:
    """``weighted_gap_d`` = mean of ``points_d / total × gap_d`` over respondents with both."""
    return weighted_sum / n if n else None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An item or dimension entering the importance–performance analysis and priority list."""

    level: str
    key: str
    dimension: str | None
    importance: float | None
    performance: float | None
    gap_mean: float | None
    p_adjusted: float | None
    weighted_gap: float | None = None


def quadrant(
    importance: float, performance: float, mean_importance: float, mean_performance: float
) -> str:
    high = importance > mean_importance
    good = performance >= mean_performance
    if high:
        return KEEP_UP if good else CONCENTRATE
    return POSSIBLE_OVERKILL if good else LOW_PRIORITY


def importance_performance(candidates: Sequence[Candidate]) -> tuple[ImportancePerformance, ...]:
    """Place each candidate with both an importance and a performance (mean perception) against
    the grand means of the candidates; "concentrate here" = importance above and performance
    below the mean."""
    placed = [c for c in candidates if c.importance is not None and c.performance is not None]
    if not placed:
        return ()
    mean_importance = sum(c.importance for c in placed) / len(placed)  # type: ignore[misc]
    mean_performance = sum(c.performance for c in placed) / len(placed)  # type: ignore[misc]
    return tuple(
        ImportancePerformance(
            c.level,
            c.key,
            c.importance,  # type: ignore[arg-type]
            c.performance,  # type: ignore[arg-type]
            quadrant(c.importance, c.performance, mean_importance, mean_performance),  # type: ignore[arg-type]
        )
        for c in placed
    )


def priorities(candidates: Sequence[Candidate], *, alpha: float = 0.05) -> tuple[Priority, ...]:
    """Significant negative gaps (adjusted p below ``alpha``), worst first.

    Ranked by the weighted gap when there is an importance allocation, else by gap × mean
    importance when importance is asked per item, else by the gap itself.
    """
    quadrants = {(p.level, p.key): p.quadrant for p in importance_performance(candidates)}
    chosen = []
    for c in candidates:
        if c.gap_mean is None or c.p_adjusted is None:
            continue
        if c.gap_mean >= 0 or c.p_adjusted >= alpha:
            continue
        if c.weighted_gap is not None:
            score, basis = c.weighted_gap, "weighted_gap"
        elif c.importance is not None:
            score, basis = c.gap_mean * c.importance, "gap_x_importance"
        else:
            score, basis = c.gap_mean, "gap"
        chosen.append((score, c, basis))
    chosen.sort(key=lambda entry: (entry[0], entry[1].key))
    return tuple(
        Priority(
            rank,
            c.level,
            c.key,
            c.dimension,
            c.gap_mean,  # type: ignore[arg-type]
            c.p_adjusted,  # type: ignore[arg-type]
            score,
            basis,
            quadrants.get((c.level, c.key)),
        )
        for rank, (score, c, basis) in enumerate(chosen, start=1)
    )
