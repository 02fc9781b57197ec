"""A readable terminal summary of an assessment (``gapmeter analyze --format text``).

Follows the reporting rules of methods.md: every number with its n, "significant" only for the
adjusted test, "not distinguishable from zero" rather than "no difference". An empty value is
shown as ``–`` and the reason is printed under its table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from analysis.assessment import Assessment, GroupResult, MeanEstimate
from analysis.results import Comparison, Estimate, Reliability, group_label

DASH = "–"


def number(value: float | None, digits: int = 2, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def p_value(value: float | None) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def interval(low: float | None, high: float | None, digits: int = 2) -> str:
    if low is None or high is None:
        return DASH
    return f"[{number(low, digits)}, {number(high, digits)}]"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers."""
    body = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    lines = []
    for row in body:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


class _Notes:
    """Reasons for empty values, printed under the table they belong to."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, subject: str, notes: Iterable[str]) -> None:
        for note in notes:
            line = f"    {subject}: {note}"
            if line not in self.lines:
                self.lines.append(line)

    def flush(self, out: list[str]) -> None:
        if self.lines:
            out.append("  Empty values:")
            out.extend(self.lines)
        self.lines = []


def render_text(assessment: Assessment) -> str:
    meta = assessment.meta
    confidence = round(100 * (1 - meta.alpha), 1)
    confidence_text = f"{confidence:g}%"
    out = [
        f"Gapmeter assessment: {meta.title} ({meta.instrument} v{meta.version})",
        f"{meta.n_responses} responses"
        + (f", {meta.periods[0]} to {meta.periods[-1]}" if meta.periods else "")
        + f"; breakdown: {', '.join(meta.by) or 'none'}; periods: {meta.period}",
        f"Minimum reporting size {meta.min_cell}; {confidence_text} intervals; p-values adjusted "
        f"({meta.correction}); significant = adjusted p < {meta.alpha:g}.",
        f"Data {meta.data_hash or 'not hashed'}; generated {meta.generated_at.isoformat()}",
    ]
    for group in assessment.groups:
        out += ["", *_group(group, meta.alpha)]
    if assessment.comparisons:
        out += ["", *_comparisons(assessment.comparisons, meta.alpha)]
    elif meta.by:
        out += ["", "Comparisons: none (fewer than two shown groups for each factor)."]
    out += ["", *_trends(assessment)]
    if assessment.targets:
        out += ["", *_targets(assessment)]
    out += ["", *_suppressed(assessment)]
    out += ["", "Method notes:", *(f"  - {note}" for note in assessment.notes)]
    return "\n".join(out) + "\n"


def _verdict(gap: float | None, p_adjusted: float | None, alpha: float) -> str:
    if gap is None or p_adjusted is None:
        return DASH
    if p_adjusted >= alpha:
        return "not distinguishable from 0"
    return "below expectation" if gap < 0 else "above expectation"


def _group(group: GroupResult, alpha: float) -> list[str]:
    out = [f"== {group_label(group.group)} (n = {group.n}) =="]
    notes = _Notes()
    if group.dimensions:
        out.append("Dimensions (respondent dimension gaps)")
        rows = []
        for row in group.dimensions:
            gap = row.gap
            rows.append(
                [
                    row.dimension,
                    str(row.n),
                    number(row.expectation_mean),
                    number(row.perception_mean),
                    number(gap.mean, signed=True),
                    interval(gap.ci_low, gap.ci_high),
                    p_value(row.p_adjusted),
                    number(gap.effect_size_dz, signed=True),
                    number(row.weight),
                    number(row.weighted_gap, 3, signed=True),
                    _verdict(gap.mean, row.p_adjusted, alpha),
                ]
            )
            notes.add(row.dimension, gap.notes)
        out += table(
            ["dimension", "n", "E", "P", "gap", "CI", "p adj", "d_z", "weight", "w.gap", ""],
            rows,
        )
        notes.flush(out)
    if group.items:
        out.append("Items")
        rows = []
        for item in group.items:
            gap = item.gap
            rows.append(
                [
                    item.item,
                    str(item.n),
                    number(item.expectation_mean),
                    number(item.perception_mean),
                    number(gap.mean, signed=True),
                    interval(gap.ci_low, gap.ci_high),
                    p_value(gap.p),
                    p_value(item.p_adjusted),
                    p_value(gap.wilcoxon_p),
                    number(gap.effect_size_dz, signed=True),
                    _verdict(gap.mean, item.p_adjusted, alpha),
                ]
            )
            notes.add(item.item, gap.notes)
        header = ["item", "n", "E", "P", "gap", "CI", "p", "p adj", "Wilcoxon p", "d_z", ""]
        out += table(header, rows)
        notes.flush(out)
    out += _means("Overall gap", [group.overall_gap, group.weighted_overall_gap], notes)
    if group.scores:
        out.append("Scores")
        out += table(
            ["score", "n", "value", "CI"],
            [_score_row(name, estimate, notes) for name, estimate in group.scores.items()],
        )
        notes.flush(out)
    if group.reliability:
        out += _reliability(group.reliability, notes)
    if group.priorities:
        out.append("Priorities (significant negative gaps, worst first)")
        for row in group.priorities:
            quadrant = f", {row.quadrant.replace('_', ' ')}" if row.quadrant else ""
            out.append(
                f"  {row.rank}. {row.key}: gap {number(row.gap_mean, signed=True)} "
                f"(adjusted p {p_value(row.p_adjusted)}), {row.basis.replace('_', ' ')} "
                f"{number(row.score, 3, signed=True)}{quadrant}"
            )
    return out


def _means(title: str, rows: Sequence[MeanEstimate | None], notes: _Notes) -> list[str]:
    shown = [row for row in rows if row is not None]
    if not shown:
        return []
    body = []
    for row in shown:
        body.append(
            [
                row.key.replace("_", " "),
                str(row.n),
                number(row.interval.mean, 3, signed=True),
                interval(row.interval.ci_low, row.interval.ci_high, 3),
                p_value(row.interval.p),
            ]
        )
        notes.add(row.key, row.interval.notes)
    out = [title, *table(["", "n", "mean", "CI", "p"], body)]
    notes.flush(out)
    return out


def _score_row(name: str, estimate: Estimate, notes: _Notes) -> list[str]:
    notes.add(name, estimate.notes)
    if name == "csat_top2":
        scale = 100.0
        unit = "%"
    else:
        scale, unit = 1.0, ""

    def scaled(value: float | None) -> float | None:
        return None if value is None else value * scale

    value = number(scaled(estimate.value), 1 if unit or name == "nps" else 2)
    low = scaled(estimate.ci_low)
    high = scaled(estimate.ci_high)
    digits = 1 if unit or name == "nps" else 2
    return [
        name,
        str(estimate.n),
        value + (unit if estimate.value is not None else ""),
        interval(low, high, digits),
    ]


def _reliability(rows: Sequence[Reliability], notes: _Notes) -> list[str]:
    out = ["Reliability (Cronbach's alpha, listwise complete; Feldt interval)"]
    body = []
    warnings: list[str] = []
    for row in rows:
        subject = f"{row.dimension} / {row.measure}"
        body.append(
            [subject, str(row.n), str(row.k), number(row.alpha), interval(row.ci_low, row.ci_high)]
        )
        notes.add(subject, row.notes)
        warnings += [f"    {subject}: {warning}" for warning in row.warnings]
    out += table(["scale", "n", "items", "alpha", "CI"], body)
    if warnings:
        out += ["  Warnings:", *warnings]
    notes.flush(out)
    return out


def _comparisons(rows: Sequence[Comparison], alpha: float) -> list[str]:
    out = ["Comparisons of dimension gaps (Welch's ANOVA; Games–Howell pairs)"]
    for row in rows:
        anova = row.anova
        levels = ", ".join(f"{g.level} n={g.n}" for g in row.levels)
        if anova.f is None:
            out.append(f"  {row.factor} / {row.dimension}: – ({'; '.join(anova.notes)})")
            continue
        verdict = (
            "groups differ"
            if row.p_adjusted is not None and row.p_adjusted < alpha
            else "not distinguishable"
        )
        out.append(
            f"  {row.factor} / {row.dimension} ({levels}): F({anova.df1}, "
            f"{number(anova.df2, 1)}) = {number(anova.f)}, p {p_value(anova.p)}, "
            f"adjusted {p_value(row.p_adjusted)}, η² = {number(anova.eta_squared, 3)}: {verdict}"
        )
        for pair in row.pairs:
            out.append(
                f"    {pair.b} − {pair.a}: {number(pair.diff, signed=True)} "
                f"{interval(pair.ci_low, pair.ci_high)}, adjusted p {p_value(pair.p_adjusted)}"
            )
    return out


def _trends(assessment: Assessment) -> list[str]:
    out = [f"Trends by {assessment.meta.period}"]
    if not assessment.trends:
        return [*out, "  none (no periods shown)"]
    series: dict[tuple[str, str | None], list[list[str]]] = {}
    for point in assessment.trends:
        digits = 1 if point.metric == "nps" else 3
        series.setdefault((point.metric, point.dimension), []).append(
            [
                point.period,
                str(point.n),
                number(point.value, digits, signed=point.metric != "share_dissatisfied"),
                interval(point.ci_low, point.ci_high, digits),
                interval(point.lcl, point.ucl, digits),
                ", ".join(point.signals) or DASH,
            ]
        )
    slopes = {(s.metric, s.dimension): s for s in assessment.slopes}
    for (metric, dimension), rows in series.items():
        name = metric + (f" / {dimension}" if dimension else "")
        out.append(f"  {name}")
        out += [
            "  " + line for line in table(["period", "n", "value", "CI", "limits", "signals"], rows)
        ]
        slope = slopes.get((metric, dimension))
        if slope is not None:
            if slope.slope is None:
                out.append(f"    slope: – ({'; '.join(slope.notes)})")
            else:
                out.append(
                    f"    slope: {number(slope.slope, 4, signed=True)} per {slope.per} "
                    f"(se {number(slope.se, 4)}, p {p_value(slope.p)}, n = {slope.n})"
                )
    return out


def _targets(assessment: Assessment) -> list[str]:
    out = ["Targets"]
    for row in assessment.targets:
        scope = group_label(row.scope)
        subject = f" {row.subject}" if row.subject else ""
        relation = "≥" if row.direction == "at_least" else "≤"
        status = (row.status or DASH).replace("_", " ")
        reason = f" ({'; '.join(row.notes)})" if row.notes else ""
        out.append(
            f"  {row.target}: {row.metric}{subject} {relation} {row.threshold:g} for {scope}: "
            f"{number(row.value, 3)} {interval(row.ci_low, row.ci_high, 3)} n = {row.n}: "
            f"{status}, one-sided p {p_value(row.p)}{reason}"
        )
    return out


def _suppressed(assessment: Assessment) -> list[str]:
    min_cell = assessment.meta.min_cell
    if not assessment.suppressed:
        return [f"Suppressed (fewer than {min_cell} respondents): nothing"]
    out = [f"Suppressed (fewer than {min_cell} respondents; not shown)"]
    for entry in assessment.suppressed:
        parts = [
            f"{name} {getattr(entry, name)}"
            for name in ("item", "dimension", "measure", "metric", "period", "target")
            if getattr(entry, name) is not None
        ]
        what = f" {', '.join(parts)}" if parts else ""
        out.append(f"  {group_label(entry.group)}{what}: n = {entry.n}")
    return out
