"""The assessment: per-cell sufficient statistics + a breakdown → every number of a report.

``assess`` merges the cells of each group (the whole scope ``{}`` first, then each combination of
the ``by`` factors) and computes everything from the merged ``CellStats``, whether the cells were
built from a CSV file or read from the aggregate table. The result is one frozen object that the
terminal summary, the JSON contract (``to_json``, documented in ``docs/assessment-json.md``), the
dashboard and the PDF all render. ``methods.md`` defines each number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from analysis import gaps, scores
from analysis.comparisons import games_howell, welch_anova
from analysis.multiplicity import CORRECTIONS, adjust_pvalues
from analysis.reliability import cronbach_alpha
from analysis.results import (
    AnalysisError,
    Comparison,
    DimensionGap,
    Estimate,
    GapEstimate,
    GroupKey,
    GroupMoments,
    ImportancePerformance,
    ItemGap,
    MissingCounts,
    Priority,
    Reliability,
    Slope,
    Suppressed,
    TargetResult,
    TrendPoint,
    group_json,
)
from analysis.sufficient import CellKey, CellLayout, CellStats, Moments, ValueCounts, sum_cells
from analysis.suppression import MIN_CELL, Suppression, reason
from analysis.targets import (
    one_sided_p_share,
    one_sided_p_t,
    one_sided_p_z,
    status_of,
)
from analysis.trends import (
    PERIODS,
    ControlLimits,
    mean_chart,
    period_indices,
    period_of,
    share_chart,
    trend_slope,
    western_electric,
)
from analysis.weighting import (
    Candidate,
    importance_performance,
    importance_weight,
    priorities,
    weighted_gap,
)
from surveys.clock import utcnow
from surveys.instrument import Instrument, Measure, Score, TargetSpec

#: Breakdown factors: the cell key's fields (``period`` is the month or quarter).
FACTORS = ("segment", "stage", "channel", "period", "campaign")
#: Factors whose levels are compared (a period is a trend, not a comparison).
COMPARED = ("segment", "stage", "channel", "campaign")

METHOD_NOTES = (
    "Gap = perception − expectation. A dimension's gap is computed per respondent first (the "
    "mean of the respondent's item gaps, when at least half of the items have one).",
    "Intervals are two-sided at the chosen confidence level; 'significant' always refers to the "
    "multiplicity-adjusted p-value (items one family, dimensions another, within each group).",
    "A gap or difference that is not significant is not distinguishable from zero: the data "
    "cannot tell its sign.",
    "Difference scores are less reliable than their parts, so reliability is reported for "
    "expectations and perceptions separately.",
    "Groups, items, dimensions and periods with fewer respondents than the minimum reporting "
    "size are suppressed and listed, never shown.",
)


# Results --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MeanEstimate:
    """A mean of respondent values with its t interval (overall gaps, rating means)."""

    key: str
    n: int
    interval: gaps.TInterval
    item: str | None = None
    measure: str | None = None

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"item": self.item, "measure": self.measure} if self.item else {}
        if self.item:
            row["slot"] = self.key
        return {
            **row,
            "n": self.n,
            "mean": self.interval.mean,
            "sd": self.interval.sd,
            "ci_low": self.interval.ci_low,
            "ci_high": self.interval.ci_high,
            "t": self.interval.t,
            "df": self.interval.df,
            "p": self.interval.p,
            "notes": list(self.interval.notes),
        }


@dataclass(frozen=True, slots=True)
class ChoiceCounts:
    slot: str
    item: str
    n: int
    counts: tuple[tuple[str, int], ...] | None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "item": self.item,
            "n": self.n,
            "counts": dict(self.counts) if self.counts is not None else None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class GroupResult:
    """Every statistic of one shown group."""

    group: GroupKey
    n: int
    items: tuple[ItemGap, ...]
    dimensions: tuple[DimensionGap, ...]
    scores: Mapping[str, Estimate]
    reliability: tuple[Reliability, ...]
    overall_gap: MeanEstimate
    weighted_overall_gap: MeanEstimate | None
    ratings: tuple[MeanEstimate, ...]
    choices: tuple[ChoiceCounts, ...]
    importance_performance: tuple[ImportancePerformance, ...]
    priorities: tuple[Priority, ...]
    missing: tuple[MissingCounts, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "group": group_json(self.group),
            "n": self.n,
            "items": [row.to_json() for row in self.items],
            "dimensions": [row.to_json() for row in self.dimensions],
            "scores": {name: estimate.to_json() for name, estimate in self.scores.items()},
            "reliability": [row.to_json() for row in self.reliability],
            "overall_gap": self.overall_gap.to_json(),
            "weighted_overall_gap": (
                self.weighted_overall_gap.to_json() if self.weighted_overall_gap else None
            ),
            "ratings": [row.to_json() for row in self.ratings],
            "choices": [row.to_json() for row in self.choices],
            "importance_performance": [row.to_json() for row in self.importance_performance],
            "priorities": [row.to_json() for row in self.priorities],
            "missing": [row.to_json() for row in self.missing],
        }


@dataclass(frozen=True)
class AssessmentMeta:
    instrument: str
    version: int
    title: str
    n_responses: int
    by: tuple[str, ...]
    period: str
    min_cell: int
    alpha: float
    correction: str
    data_hash: str
    generated_at: datetime
    filters: Mapping[str, Any]
    periods: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "version": self.version,
            "title": self.title,
            "n_responses": self.n_responses,
            "by": list(self.by),
            "period": self.period,
            "min_cell": self.min_cell,
            "alpha": self.alpha,
            "confidence": 1 - self.alpha,
            "correction": self.correction,
            "data_hash": self.data_hash,
            "generated_at": self.generated_at.isoformat(),
            "filters": dict(self.filters),
            "first_period": self.periods[0] if self.periods else None,
            "last_period": self.periods[-1] if self.periods else None,
        }


@dataclass(frozen=True)
class Assessment:
    """The one object every view renders."""

    meta: AssessmentMeta
    groups: tuple[GroupResult, ...]
    comparisons: tuple[Comparison, ...]
    trends: tuple[TrendPoint, ...]
    slopes: tuple[Slope, ...]
    targets: tuple[TargetResult, ...]
    suppressed: tuple[Suppressed, ...]
    notes: tuple[str, ...] = METHOD_NOTES

    @property
    def whole(self) -> GroupResult | None:
        """The whole-scope group (None only when it is itself suppressed)."""
        return self.groups[0] if self.groups and not self.groups[0].group else None

    def to_json(self) -> dict[str, Any]:
        """The ``gapmeter analyze --format json`` contract: plain floats, ``null`` where a value
        cannot be computed (the row's ``notes`` say why)."""
        return _clean(
            {
                "meta": self.meta.to_json(),
                "groups": [group.to_json() for group in self.groups],
                "comparisons": [row.to_json() for row in self.comparisons],
                "trends": [row.to_json() for row in self.trends],
                "slopes": [row.to_json() for row in self.slopes],
                "targets": [row.to_json() for row in self.targets],
                "suppressed": [row.to_json() for row in self.suppressed],
                "notes": list(self.notes),
            }
        )


def _clean(value: Any) -> Any:
    """Plain JSON types; a non-finite float (never expected) becomes null rather than invalid
    JSON."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


# The computation ------------------------------------------------------------------------------
def assess(
    cells: Mapping[CellKey, CellStats],
    instrument: Instrument,
    *,
    by: Sequence[str] = (),
    period: str = "month",
    min_cell: int = MIN_CELL,
    alpha: float = 0.05,
    correction: str = "holm",
    targets: Sequence[TargetSpec] = (),
    data_hash: str = "",
    filters: Mapping[str, Any] | None = None,
    generated_at: datetime | None = None,
) -> Assessment:
    """The assessment of the responses in ``cells`` (already filtered), broken down by ``by``.

    ``period`` (month or quarter) sets both the ``period`` factor and the trend periods.
    """
    by = tuple(by)
    _check_options(by, period, alpha, correction)
    layout = CellLayout.of(instrument)
    context = _Context(instrument, layout, Suppression(min_cell), alpha, correction, period)
    whole = sum_cells(cells.values(), layout)

    groups: list[GroupResult] = []
    if context.suppression.check(whole.n, ()):
        groups.append(context.group((), whole))
    if by:
        for key, merged in sorted(_groups(cells, by, period, layout).items()):
            if context.suppression.check(merged.n, key):
                groups.append(context.group(key, merged))

    comparisons = [
        comparison
        for factor in by
        if factor in COMPARED
        for comparison in context.comparisons(factor, _groups(cells, (factor,), period, layout))
    ]
    by_period = {
        key[0][1]: merged for key, merged in _groups(cells, ("period",), period, layout).items()
    }
    trends, slopes = context.trends(by_period)
    target_results = [context.target(spec, cells) for spec in targets]

    meta = AssessmentMeta(
        instrument=instrument.key,
        version=instrument.version,
        title=str(instrument.title),
        n_responses=whole.n,
        by=by,
        period=period,
        min_cell=min_cell,
        alpha=alpha,
        correction=correction,
        data_hash=data_hash,
        generated_at=generated_at or utcnow(),
        filters=dict(filters or {}),
        periods=tuple(sorted(by_period)),
    )
    return Assessment(
        meta,
        tuple(groups),
        tuple(comparisons),
        tuple(trends),
        tuple(slopes),
        tuple(target_results),
        _unique(context.suppression.listed()),
    )


def _check_options(by: tuple[str, ...], period: str, alpha: float, correction: str) -> None:
    unknown = [factor for factor in by if factor not in FACTORS]
    if unknown:
        raise AnalysisError(
            f"cannot break down by {', '.join(unknown)}; choose from {', '.join(FACTORS)}"
        )
    if len(set(by)) != len(by):
        raise AnalysisError("a breakdown factor is named twice")
    if period not in PERIODS:
        raise AnalysisError(f"unknown period {period!r}; choose month or quarter")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be between 0 and 1, not {alpha}")
    if correction not in CORRECTIONS:
        raise AnalysisError(
            f"unknown correction {correction!r}; choose one of {', '.join(CORRECTIONS)}"
        )


def factor_value(key: CellKey, factor: str, period: str) -> str:
    if factor == "period":
        return period_of(key.period, period)
    value = getattr(key, factor)
    return "" if value is None else str(value)


def _groups(
    cells: Mapping[CellKey, CellStats], by: Sequence[str], period: str, layout: CellLayout
) -> dict[GroupKey, CellStats]:
    members: dict[GroupKey, list[CellStats]] = {}
    for key, cell in cells.items():
        group = tuple((factor, factor_value(key, factor, period)) for factor in by)
        members.setdefault(group, []).append(cell)
    return {group: sum_cells(chosen, layout) for group, chosen in members.items()}


def _unique(entries: Sequence[Suppressed]) -> tuple[Suppressed, ...]:
    seen: dict[Suppressed, None] = {}
    for entry in entries:
        seen.setdefault(entry, None)
    return tuple(seen)


def _mean_or_none(values: Iterable[float | None]) -> float | None:
    """The plain mean of the values that are not None (None when there are none)."""
    present = [value for value in values if value is not None]
    return math.fsum(present) / len(present) if present else None


def _score_item_slot(instrument: Instrument, score: Score) -> str | None:
    item = instrument.score_item(score)
    if item is None and score is Score.NPS:
        item = next(iter(instrument.items_with(Measure.NPS)), None)
    if item is None:
        return None
    measure = next((m for m in item.measures if m not in (Measure.CHOICE, Measure.TEXT)), None)
    return item.slot_name(measure) if measure is not None else None


@dataclass
class _Context:
    instrument: Instrument
    layout: CellLayout
    suppression: Suppression
    alpha: float
    correction: str
    period: str
    _slots: dict[str, str | None] = field(default_factory=dict)

    def score_slot(self, score: Score) -> str | None:
        if score.value not in self._slots:
            slot = _score_item_slot(self.instrument, score)
            self._slots[score.value] = slot if slot and self.layout.has_single(slot) else None
        return self._slots[score.value]

    # Groups -----------------------------------------------------------------------------------
    def group(self, key: GroupKey, cell: CellStats) -> GroupResult:
        items = self.items(key, cell)
        dimensions = self.dimensions(key, cell, items)
        candidates = self.candidates(items, dimensions)
        return GroupResult(
            group=key,
            n=cell.n,
            items=items,
            dimensions=dimensions,
            scores=self.scores(key, cell),
            reliability=self.reliability(key, cell),
            overall_gap=self.mean_of("overall_gap", key, cell.overall_gap()),
            weighted_overall_gap=(
                self.mean_of("weighted_overall_gap", key, cell.weighted_overall_gap())
                if self.layout.allocation
                else None
            ),
            ratings=self.ratings(key, cell),
            choices=self.choices(key, cell),
            importance_performance=importance_performance(candidates),
            priorities=priorities(candidates, alpha=self.alpha),
            missing=tuple(
                MissingCounts(slot, cell.n - sum(cell.missing(slot)), *cell.missing(slot))
                for slot in self.layout.slots
            ),
        )

    def items(self, key: GroupKey, cell: CellStats) -> tuple[ItemGap, ...]:
        rows = []
        for block in self.layout.pairs:
            counts, e_mean, p_mean = cell.item_gaps(block.item)
            item = self.instrument.item(block.item)
            importance = None
            slot = item.slot_name(Measure.IMPORTANCE)
            if Measure.IMPORTANCE in item.measures:
                values = cell.value_counts(slot)
                if not self.suppression.hides(values.n):
                    importance = values.moments().mean
            n = counts.n
            if self.suppression.check(n, key, item=block.item):
                rows.append(
                    ItemGap(
                        block.item,
                        block.dimension,
                        n,
                        e_mean,
                        p_mean,
                        importance,
                        gaps.gap_estimate(counts, alpha=self.alpha),
                        None,
                    )
                )
            else:
                hidden = GapEstimate.hidden(n, reason(n, self.suppression.min_cell))
                rows.append(
                    ItemGap(block.item, block.dimension, n, None, None, None, hidden, None, True)
                )
        adjusted = adjust_pvalues([row.gap.p for row in rows], self.correction)
        return tuple(replace(row, p_adjusted=p) for row, p in zip(rows, adjusted, strict=True))

    def dimensions(
        self, key: GroupKey, cell: CellStats, items: Sequence[ItemGap]
    ) -> tuple[DimensionGap, ...]:
        rows = []
        hide = self.suppression.hides
        for block in self.layout.dimensions:
            counts = cell.dimension_gaps(block.dimension)
            n = counts.n
            weight = weighted = importance = None
            weight_n = weighted_n = 0
            if block.dimension in self.layout.allocation:
                weight_n, points = cell.allocation(block.dimension)
                weighted_n, weighted_sum = cell.weighted_gap(block.dimension)
                if not hide(weight_n):
                    weight = importance_weight(weight_n, points, self.layout.allocation_total)
                    importance = points / weight_n
                if not hide(weighted_n):
                    weighted = weighted_gap(weighted_n, weighted_sum)
            else:
                importance = _mean_or_none(
                    row.importance_mean for row in items if row.dimension == block.dimension
                )
            if self.suppression.check(n, key, dimension=block.dimension):
                e_mean, p_mean = cell.dimension_means(block.dimension)
                estimate = gaps.gap_estimate(counts, alpha=self.alpha)
                rows.append(
                    DimensionGap(
                        block.dimension,
                        n,
                        e_mean,
                        p_mean,
                        estimate,
                        None,
                        weight,
                        weight_n,
                        weighted,
                        weighted_n,
                        importance_mean=importance,
                    )
                )
            else:
                hidden = GapEstimate.hidden(n, reason(n, self.suppression.min_cell))
                rows.append(
                    DimensionGap(
                        block.dimension,
                        n,
                        None,
                        None,
                        hidden,
                        None,
                        None,
                        weight_n,
                        None,
                        weighted_n,
                        True,
                    )
                )
        adjusted = adjust_pvalues([row.gap.p for row in rows], self.correction)
        return tuple(replace(row, p_adjusted=p) for row, p in zip(rows, adjusted, strict=True))

    def candidates(
        self, items: Sequence[ItemGap], dimensions: Sequence[DimensionGap]
    ) -> list[Candidate]:
        if self.layout.allocation:
            return [
                Candidate(
                    "dimension",
                    row.dimension,
                    row.dimension,
                    row.weight,
                    row.perception_mean,
                    row.gap.mean,
                    row.p_adjusted,
                    row.weighted_gap,
                )
                for row in dimensions
            ]
        if any(row.importance_mean is not None for row in items):
            return [
                Candidate(
                    "item",
                    row.item,
                    row.dimension,
                    row.importance_mean,
                    row.perception_mean,
                    row.gap.mean,
                    row.p_adjusted,
                )
                for row in items
            ]
        return [
            Candidate(
                "dimension",
                row.dimension,
                row.dimension,
                None,
                row.perception_mean,
                row.gap.mean,
                row.p_adjusted,
            )
            for row in dimensions
        ]

    def scores(self, key: GroupKey, cell: CellStats) -> dict[str, Estimate]:
        result: dict[str, Estimate] = {}
        makers: tuple[tuple[str, Score, Callable[[ValueCounts], Estimate]], ...] = (
            ("nps", Score.NPS, lambda c: scores.nps(c, alpha=self.alpha)),
            ("csat_top2", Score.CSAT, lambda c: scores.csat_top2(c, alpha=self.alpha)),
            ("ces_mean", Score.CES, lambda c: scores.mean_score(c, alpha=self.alpha)),
        )
        for name, score, make in makers:
            slot = self.score_slot(score)
            if slot is None:
                continue
            counts = cell.value_counts(slot)
            estimate = make(counts)
            if not self.suppression.check(counts.n, key, metric=name):
                estimate = Estimate.hidden(
                    counts.n, estimate.method, reason(counts.n, self.suppression.min_cell)
                )
            result[name] = estimate
        return result

    def mean_of(self, name: str, key: GroupKey, moments: Moments) -> MeanEstimate:
        if not self.suppression.check(moments.n, key, metric=name):
            note = reason(moments.n, self.suppression.min_cell)
            hidden = gaps.TInterval(
                moments.n, None, None, None, None, None, None, None, None, (note,)
            )
            return MeanEstimate(name, moments.n, hidden)
        return MeanEstimate(name, moments.n, gaps.t_interval(moments, alpha=self.alpha))

    def ratings(self, key: GroupKey, cell: CellStats) -> tuple[MeanEstimate, ...]:
        rows = []
        for block in self.layout.singles:
            if block.labels:
                continue
            moments = cell.value_counts(block.slot).moments()
            estimate = self.mean_of(block.slot, key, moments)
            rows.append(
                MeanEstimate(block.slot, moments.n, estimate.interval, block.item, block.measure)
            )
        return tuple(rows)

    def choices(self, key: GroupKey, cell: CellStats) -> tuple[ChoiceCounts, ...]:
        rows = []
        for block in self.layout.singles:
            if not block.labels:
                continue
            counts = cell.value_counts(block.slot)
            if self.suppression.check(counts.n, key, item=block.item, metric="choice"):
                pairs = tuple(
                    (label, int(count))
                    for label, count in zip(block.labels, counts.counts, strict=True)
                )
                rows.append(ChoiceCounts(block.slot, block.item, counts.n, pairs))
            else:
                note = reason(counts.n, self.suppression.min_cell)
                rows.append(ChoiceCounts(block.slot, block.item, counts.n, None, (note,)))
        return tuple(rows)

    def reliability(self, key: GroupKey, cell: CellStats) -> tuple[Reliability, ...]:
        rows = []
        for block in self.layout.reliability:
            data = cell.cross_products(block.dimension, block.measure.value)
            if self.suppression.check(
                data.n, key, dimension=block.dimension, measure=block.measure.value
            ):
                rows.append(
                    cronbach_alpha(
                        data,
                        dimension=block.dimension,
                        measure=block.measure.value,
                        level=self.alpha,
                    )
                )
            else:
                rows.append(
                    Reliability(
                        block.dimension,
                        block.measure.value,
                        data.n,
                        len(block.items),
                        None,
                        None,
                        None,
                        (),
                        (),
                        (reason(data.n, self.suppression.min_cell),),
                    )
                )
        return tuple(rows)

    # Comparisons ------------------------------------------------------------------------------
    def comparisons(self, factor: str, levels: Mapping[GroupKey, CellStats]) -> list[Comparison]:
        shown = {
            key[0][1]: cell
            for key, cell in sorted(levels.items())
            if self.suppression.check(cell.n, key)
        }
        rows = []
        for block in self.layout.dimensions:
            moments: dict[str, Moments] = {}
            for level, cell in shown.items():
                counts = cell.dimension_gaps(block.dimension)
                if self.suppression.check(counts.n, ((factor, level),), dimension=block.dimension):
                    moments[level] = counts.moments()
            if len(moments) < 2:
                continue
            names = sorted(moments)
            anova = welch_anova([moments[name] for name in names])
            summaries = tuple(
                GroupMoments(
                    name,
                    moments[name].n,
                    moments[name].mean,
                    moments[name].sd if moments[name].n > 1 else None,
                )
                for name in names
            )
            rows.append(
                Comparison(
                    factor,
                    block.dimension,
                    "welch_anova",
                    summaries,
                    anova,
                    None,
                    games_howell(moments, alpha=self.alpha),
                )
            )
        adjusted = adjust_pvalues([row.anova.p for row in rows], self.correction)
        return [
            Comparison(r.factor, r.dimension, r.test, r.levels, r.anova, p, r.pairs)
            for r, p in zip(rows, adjusted, strict=True)
        ]

    # Trends -----------------------------------------------------------------------------------
    def trends(self, by_period: Mapping[str, CellStats]) -> tuple[list[TrendPoint], list[Slope]]:
        periods = sorted(by_period)
        points: list[TrendPoint] = []
        slopes: list[Slope] = []
        series: list[tuple[str, str | None, Callable[[CellStats], ValueCounts | Moments]]] = [
            ("overall_gap", None, lambda cell: cell.overall_gap())
        ]
        for block in self.layout.dimensions:
            series.append(
                (
                    "dimension_gap",
                    block.dimension,
                    lambda cell, d=block.dimension: cell.dimension_gaps(d),
                )
            )
        nps_slot = self.score_slot(Score.NPS)
        if nps_slot is not None:
            series.append(
                ("nps", None, lambda cell: scores.promoter_values(cell.value_counts(nps_slot)))
            )
        for metric, dimension, summary in series:
            chosen: list[tuple[str, Moments]] = []
            for name in periods:
                value = summary(by_period[name])
                moments = value.moments() if isinstance(value, ValueCounts) else value
                if self.suppression.check(
                    moments.n, (("period", name),), metric=metric, dimension=dimension, period=name
                ):
                    chosen.append((name, moments))
            points += self.mean_trend(metric, dimension, chosen)
            slopes.append(self.slope(metric, dimension, chosen))
        csat_slot = self.score_slot(Score.CSAT)
        if csat_slot is not None:
            chosen_shares: list[tuple[str, int, int]] = []
            for name in periods:
                counts = by_period[name].value_counts(csat_slot)
                if self.suppression.check(
                    counts.n, (("period", name),), metric="share_dissatisfied", period=name
                ):
                    # Counts run over the whole scale, so the bottom two are the scale's.
                    chosen_shares.append((name, scores.bottom2_count(counts), counts.n))
            points += self.share_trend("share_dissatisfied", chosen_shares)
            slopes.append(
                self.slope(
                    "share_dissatisfied",
                    None,
                    [(name, Moments(n, float(x), float(x))) for name, x, n in chosen_shares],
                )
            )
        return points, slopes

    def mean_trend(
        self, metric: str, dimension: str | None, chosen: Sequence[tuple[str, Moments]]
    ) -> list[TrendPoint]:
        limits = mean_chart([m for _, m in chosen])
        rows = []
        for name, moments in chosen:
            if metric == "nps":
                estimate = scores.nps_of_values(moments, alpha=self.alpha)
                low, high = estimate.ci_low, estimate.ci_high
            else:
                interval = gaps.t_interval(moments, alpha=self.alpha)
                low, high = interval.ci_low, interval.ci_high
            rows.append((name, moments.n, moments.mean, low, high))
        return self._points(metric, dimension, rows, limits, "xbar")

    def share_trend(self, metric: str, chosen: Sequence[tuple[str, int, int]]) -> list[TrendPoint]:
        limits = share_chart([x for _, x, _ in chosen], [n for _, _, n in chosen])
        rows = []
        for name, successes, n in chosen:
            estimate = scores.share(successes, n, alpha=self.alpha)
            rows.append((name, n, estimate.value, estimate.ci_low, estimate.ci_high))
        return self._points(metric, None, rows, limits, "p")

    def _points(
        self,
        metric: str,
        dimension: str | None,
        rows: Sequence[tuple[str, int, float | None, float | None, float | None]],
        limits: ControlLimits,
        chart: str,
    ) -> list[TrendPoint]:
        signals: Sequence[tuple[str, ...]] = [() for _ in rows]
        values = [row[2] for row in rows]
        if limits.center is not None and all(v is not None for v in values):
            signals = western_electric(values, limits.center, limits.sigmas)  # type: ignore[arg-type]
        return [
            TrendPoint(
                metric,
                dimension,
                name,
                n,
                value,
                low,
                high,
                limits.center,
                limits.lcl[i],
                limits.ucl[i],
                tuple(signals[i]),
                chart,
            )
            for i, (name, n, value, low, high) in enumerate(rows)
        ]

    def slope(
        self, metric: str, dimension: str | None, chosen: Sequence[tuple[str, Moments]]
    ) -> Slope:
        fit = trend_slope(period_indices([name for name, _ in chosen]), [m for _, m in chosen])
        return Slope(
            metric,
            dimension,
            self.period,
            fit.n,
            fit.slope,
            fit.se,
            fit.t,
            fit.df,
            fit.p,
            fit.notes,
        )

    # Targets ----------------------------------------------------------------------------------
    def target(self, spec: TargetSpec, cells: Mapping[CellKey, CellStats]) -> TargetResult:
        scope: GroupKey = tuple(spec.scope)
        for factor, _ in scope:
            if factor not in FACTORS:
                raise AnalysisError(f"target {spec.key}: unknown scope factor {factor!r}")
        chosen = [
            cell
            for key, cell in cells.items()
            if all(factor_value(key, factor, self.period) == value for factor, value in scope)
        ]
        cell = sum_cells(chosen, self.layout)
        n, value, low, high, p = self.target_estimate(spec, cell)
        status: str | None = None
        notes: tuple[str, ...] = ()
        if not self.suppression.check(n, scope, target=spec.key):
            value = low = high = p = None
            notes = (reason(n, self.suppression.min_cell),)
        elif low is None or high is None:
            notes = ("no interval: the metric cannot be estimated here",)
        else:
            status = status_of(low, high, spec.threshold, spec.direction)
        return TargetResult(
            spec.key,
            spec.metric,
            spec.subject,
            scope,
            spec.direction,
            spec.threshold,
            n,
            value,
            low,
            high,
            status,
            p if status is not None else None,
            notes,
        )

    def target_estimate(
        self, spec: TargetSpec, cell: CellStats
    ) -> tuple[int, float | None, float | None, float | None, float | None]:
        metric, threshold = spec.metric, spec.threshold
        if metric in ("dimension_gap", "item_gap", "ces_mean", "rating_mean"):
            counts = self.target_counts(spec, cell)
            interval = gaps.t_interval(counts.moments(), alpha=self.alpha)
            p = None
            if interval.mean is not None and interval.se and interval.df:
                p = one_sided_p_t(interval.mean, interval.se, interval.df, threshold)
            return interval.n, interval.mean, interval.ci_low, interval.ci_high, p
        if metric == "nps":
            counts = self.target_counts(spec, cell)
            estimate = scores.nps(counts, alpha=self.alpha)
            p = None
            if estimate.value is not None and estimate.sd is not None and estimate.n:
                p = one_sided_p_z(estimate.value, estimate.sd / math.sqrt(estimate.n), threshold)
            return estimate.n, estimate.value, estimate.ci_low, estimate.ci_high, p
        if metric == "csat_top2":
            counts = self.target_counts(spec, cell)
            estimate = scores.csat_top2(counts, alpha=self.alpha)
            p = None
            if estimate.value is not None:
                p = one_sided_p_share(scores.top2_count(counts), estimate.n, threshold)
            return estimate.n, estimate.value, estimate.ci_low, estimate.ci_high, p
        raise AnalysisError(f"target {spec.key}: unknown metric {metric!r}")

    def target_counts(self, spec: TargetSpec, cell: CellStats) -> ValueCounts:
        subject = spec.subject
        try:
            if spec.metric == "dimension_gap":
                return cell.dimension_gaps(subject or "")
            if spec.metric == "item_gap":
                return cell.item_gaps(subject or "")[0]
            score = {"nps": Score.NPS, "csat_top2": Score.CSAT, "ces_mean": Score.CES}.get(
                spec.metric
            )
            slot = subject
            if subject is not None and subject not in self.layout.slots:
                item = self.instrument.item(subject)
                slot = item.slot_name(item.measures[0])
            if slot is None and score is not None:
                slot = self.score_slot(score)
            if slot is None:
                raise KeyError(spec.metric)
            return cell.value_counts(slot)
        except KeyError as error:
            raise AnalysisError(
                f"target {spec.key}: {spec.metric} of {subject or 'the instrument'} is not "
                "measured by this instrument"
            ) from error
