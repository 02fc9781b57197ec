"""Frozen result types of the statistics engine.

Every estimate carries its ``n``. A value that cannot be computed is ``None`` and the estimate's
``notes`` say why (one respondent, every gap the same, a cell below the minimum reporting size...),
so each view can show the reason next to the empty cell. ``methods.md`` defines every number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from surveys.errors import SurveysError

#: A group as ``(factor, value)`` pairs in breakdown order; ``()`` is the whole scope.
GroupKey = tuple[tuple[str, str], ...]


class AnalysisError(SurveysError):
    """An analysis asked for something the data or the instrument cannot give (an unknown
    breakdown factor, a cell blob of another instrument...)."""


def group_json(group: GroupKey) -> dict[str, str]:
    return dict(group)


def group_label(group: GroupKey) -> str:
    """``segment=consumer, stage=renewal``; ``all respondents`` for the whole scope."""
    return ", ".join(f"{factor}={value}" for factor, value in group) or "all respondents"


@dataclass(frozen=True, slots=True)
class GapEstimate:
    """Statistics of one set of gaps ``g_1..g_n`` (methods.md, "Gap statistics").

    ``t``/``p`` are the paired t-test against 0 with ``df = n - 1``; ``wilcoxon_p`` the
    signed-rank test (normal approximation, tie and continuity corrections);
    ``effect_size_dz = mean / sd``.
    """

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    df: int | None
    p: float | None
    wilcoxon_p: float | None
    effect_size_dz: float | None
    notes: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        """The contract's gap fields (``p_adjusted`` is the caller's: it needs the family)."""
        return {
            "gap_mean": self.mean,
            "gap_sd": self.sd,
            "gap_ci_low": self.ci_low,
            "gap_ci_high": self.ci_high,
            "t": self.t,
            "df": self.df,
            "p": self.p,
            "wilcoxon_p": self.wilcoxon_p,
            "effect_size_dz": self.effect_size_dz,
        }

    @classmethod
    def hidden(cls, n: int, note: str) -> GapEstimate:
        """A suppressed estimate: its n, nothing else."""
        return cls(n, None, None, None, None, None, None, None, None, None, (note,))


@dataclass(frozen=True, slots=True)
class ItemGap:
    """One item in one group: the means of its measures and its gap."""

    item: str
    dimension: str | None
    n: int
    expectation_mean: float | None
    perception_mean: float | None
    importance_mean: float | None
    gap: GapEstimate
    p_adjusted: float | None
    suppressed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "dimension": self.dimension,
            "n": self.n,
            "expectation_mean": self.expectation_mean,
            "perception_mean": self.perception_mean,
            "importance_mean": self.importance_mean,
            **self.gap.fields(),
            "p_adjusted": self.p_adjusted,
            "suppressed": self.suppressed,
            "notes": list(self.gap.notes),
        }


@dataclass(frozen=True, slots=True)
class DimensionGap:
    """One dimension in one group: the respondent dimension gaps, their means, the importance
    weight and the weighted gap (methods.md, "Importance weights"). ``importance_mean`` is the
    mean allocated points, or else the mean of its items' importance means."""

    dimension: str
    n: int
    expectation_mean: float | None
    perception_mean: float | None
    gap: GapEstimate
    p_adjusted: float | None
    weight: float | None
    weight_n: int
    weighted_gap: float | None
    weighted_gap_n: int
    suppressed: bool = False
    importance_mean: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "n": self.n,
            "expectation_mean": self.expectation_mean,
            "perception_mean": self.perception_mean,
            "importance_mean": self.importance_mean,
            **self.gap.fields(),
            "p_adjusted": self.p_adjusted,
            "weight": self.weight,
            "weight_n": self.weight_n,
            "weighted_gap": self.weighted_gap,
            "weighted_gap_n": self.weighted_gap_n,
            "suppressed": self.suppressed,
            "notes": list(self.gap.notes),
        }


@dataclass(frozen=True, slots=True)
class Estimate:
    """A headline number with its interval (NPS, CSAT top-2-box, CES mean, a rating mean...)."""

    n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    sd: float | None = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "method": self.method,
            "notes": list(self.notes),
        }

    @classmethod
    def hidden(cls, n: int, method: str, note: str) -> Estimate:
        return cls(n, None, None, None, method, notes=(note,))


@dataclass(frozen=True, slots=True)
class ItemReliability:
    """One item of a scale: corrected item-total correlation and alpha without the item."""

    item: str
    item_total_r: float | None
    alpha_if_deleted: float | None


@dataclass(frozen=True, slots=True)
class Reliability:
    """Cronbach's alpha of one dimension and measure, listwise complete respondents, with the
    Feldt interval (methods.md, "Reliability")."""

    dimension: str
    measure: str
    n: int
    k: int
    alpha: float | None
    ci_low: float | None
    ci_high: float | None
    items: tuple[ItemReliability, ...]
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "measure": self.measure,
            "n": self.n,
            "k": self.k,
            "alpha": self.alpha,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "items": [
                {
                    "item": row.item,
                    "item_total_r": row.item_total_r,
                    "alpha_if_deleted": row.alpha_if_deleted,
                }
                for row in self.items
            ],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class GroupMoments:
    """n, mean and sd of one level of a factor, as entered into a comparison."""

    level: str
    n: int
    mean: float
    sd: float | None


@dataclass(frozen=True, slots=True)
class PairDifference:
    """Games–Howell pair: ``diff = mean_b - mean_a`` with its simultaneous interval."""

    a: str
    b: str
    diff: float
    se: float | None
    df: float | None
    ci_low: float | None
    ci_high: float | None
    p_adjusted: float | None


@dataclass(frozen=True, slots=True)
class WelchAnova:
    """Welch's one-way ANOVA (R ``oneway.test(var.equal = FALSE)``) with η²."""

    f: float | None
    df1: int
    df2: float | None
    p: float | None
    eta_squared: float | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Comparison:
    """Respondent dimension gaps compared across the levels of one factor."""

    factor: str
    dimension: str
    test: str
    levels: tuple[GroupMoments, ...]
    anova: WelchAnova
    p_adjusted: float | None
    pairs: tuple[PairDifference, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "dimension": self.dimension,
            "test": self.test,
            "groups": [
                {"level": g.level, "n": g.n, "mean": g.mean, "sd": g.sd} for g in self.levels
            ],
            "f": self.anova.f,
            "df1": self.anova.df1,
            "df2": self.anova.df2,
            "p": self.anova.p,
            "p_adjusted": self.p_adjusted,
            "effect_size": self.anova.eta_squared,
            "effect_size_measure": "eta_squared",
            "pairs": [
                {
                    "a": pair.a,
                    "b": pair.b,
                    "diff": pair.diff,
                    "se": pair.se,
                    "df": pair.df,
                    "ci_low": pair.ci_low,
                    "ci_high": pair.ci_high,
                    "p_adjusted": pair.p_adjusted,
                }
                for pair in self.pairs
            ],
            "notes": list(self.anova.notes),
        }


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One period of one metric with its interval, control limits and Western Electric signals."""

    metric: str
    dimension: str | None
    period: str
    n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    center: float | None
    lcl: float | None
    ucl: float | None
    signals: tuple[str, ...] = ()
    chart: str = "xbar"

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "dimension": self.dimension,
            "period": self.period,
            "n": self.n,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "chart": self.chart,
            "center": self.center,
            "lcl": self.lcl,
            "ucl": self.ucl,
            "signals": list(self.signals),
        }


@dataclass(frozen=True, slots=True)
class Slope:
    """OLS slope of a respondent-level metric on the period index."""

    metric: str
    dimension: str | None
    per: str
    n: int
    slope: float | None
    se: float | None
    t: float | None
    df: int | None
    p: float | None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "dimension": self.dimension,
            "per": self.per,
            "n": self.n,
            "slope": self.slope,
            "se": self.se,
            "t": self.t,
            "df": self.df,
            "p": self.p,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class TargetResult:
    """A service standard checked against the data: met, missed or not distinguishable."""

    target: str
    metric: str
    subject: str | None
    scope: GroupKey
    direction: str
    threshold: float
    n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    status: str | None
    p: float | None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "metric": self.metric,
            "subject": self.subject,
            "scope": group_json(self.scope),
            "direction": self.direction,
            "threshold": self.threshold,
            "n": self.n,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "status": self.status,
            "p": self.p,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class ImportancePerformance:
    """One point of the importance–performance analysis, placed against the grand means."""

    level: str  # "dimension" | "item"
    key: str
    importance: float
    performance: float
    quadrant: str

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "key": self.key,
            "importance": self.importance,
            "performance": self.performance,
            "quadrant": self.quadrant,
        }


@dataclass(frozen=True, slots=True)
class Priority:
    """A significant negative gap, ranked by its weighted gap (or gap × importance)."""

    rank: int
    level: str
    key: str
    dimension: str | None
    gap_mean: float
    p_adjusted: float
    score: float
    basis: str  # "weighted_gap" | "gap_x_importance" | "gap"
    quadrant: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "level": self.level,
            "key": self.key,
            "dimension": self.dimension,
            "gap_mean": self.gap_mean,
            "p_adjusted": self.p_adjusted,
            "score": self.score,
            "basis": self.basis,
            "quadrant": self.quadrant,
        }


@dataclass(frozen=True, slots=True)
class MissingCounts:
    """Data quality of one answer slot: answered, left empty, answered not applicable."""

    slot: str
    answered: int
    empty: int
    not_applicable: int

    def to_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "answered": self.answered,
            "empty": self.empty,
            "not_applicable": self.not_applicable,
        }


@dataclass(frozen=True, slots=True)
class Suppressed:
    """Something not shown because fewer than ``min_cell`` respondents are behind it."""

    group: GroupKey
    n: int
    item: str | None = None
    dimension: str | None = None
    measure: str | None = None
    metric: str | None = None
    period: str | None = None
    target: str | None = None

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"group": group_json(self.group), "n": self.n}
        for name in ("item", "dimension", "measure", "metric", "period", "target"):
            value = getattr(self, name)
            if value is not None:
                row[name] = value
        return row
