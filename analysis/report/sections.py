"""The sections of the report after the summary: gap profile, segments and stages, trends,
service standards, scores, respondents' comments and the appendix (with provenance).

Each builder reads the assessment's JSON form and returns a ``Section`` of formatted blocks in
the voice's language. Suppressed groups, items and dimensions never reach a table or a chart with
a number: they are shown as suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from analysis import charts
from analysis.report import contract, narrative
from analysis.report.blocks import (
    Block,
    Cell,
    Chart,
    Findings,
    Heading,
    Paragraph,
    Provenance,
    Quote,
    Quotes,
    Section,
    Table,
)
from analysis.report.comments import CommentPolicy, CommentSelection
from analysis.report.contract import Row
from analysis.report.voice import DASH, Voice
from surveys.instrument import Measure, Score


# Cover and provenance -----------------------------------------------------------------------
def filter_values(meta: Row, *names: str) -> list[str]:
    """The first of ``names`` found in ``meta.filters`` (or ``meta``), as a list of strings."""
    filters = meta.get("filters") if isinstance(meta.get("filters"), Mapping) else {}
    for name in names:
        for source in (filters, meta):
            value = source.get(name)
            if value:
                return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    return []


#: Most values a cover fact lists by name; longer lists name the first few and count the rest
#: (the appendix's provenance lists them all).
COVER_LIST = 4


def short_list(values: list[str], voice: Voice, limit: int = COVER_LIST) -> str:
    """``a, b, c and 58 more (listed under Provenance)`` for a long list; the list otherwise."""
    if len(values) <= limit:
        return ", ".join(values)
    shown = ", ".join(values[: limit - 1])
    return voice.t("list_more", shown=shown, more=len(values) - (limit - 1))


def period_text(assessment: Row, voice: Voice) -> str:
    """``2026-01 to 2026-06``: the filter's dates, else the first and last period with data."""
    meta = contract.meta(assessment)
    first = filter_values(meta, "date_from", "from", "start", "since")
    last = filter_values(meta, "date_to", "to", "end", "until")
    if first or last:
        return voice.t(
            "period_range", first=(first or [DASH])[0][:10], last=(last or [DASH])[0][:10]
        )
    if meta.get("first_period") and meta.get("last_period"):
        return voice.t("period_range", first=meta["first_period"], last=meta["last_period"])
    periods = sorted({str(t.get("period")) for t in contract.trends(assessment)})
    if periods:
        return voice.t("period_range", first=periods[0], last=periods[-1])
    return DASH


def axis_values(assessment: Row, voice: Voice, axis: str, names: tuple[str, ...]) -> str:
    """The segments (stages, channels) the filter chose, labelled, or "All"."""
    chosen = filter_values(contract.meta(assessment), *names)
    if chosen:
        return short_list([voice.value_label(axis, v) for v in chosen], voice)
    return voice.t("all")


def generated_at_text(assessment: Row) -> str:
    value = contract.meta(assessment).get("generated_at")
    return str(value) if value else DASH


def _gapmeter_version() -> str:
    try:
        return metadata.version("gapmeter")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def provenance(assessment: Row, voice: Voice, language: str, paper: str) -> Provenance:
    """What the numbers were computed from and how, so the same inputs give the same report."""
    meta = contract.meta(assessment)
    known = {
        "instrument",
        "version",
        "title",
        "n_responses",
        "by",
        "period",
        "first_period",
        "last_period",
        "min_cell",
        "alpha",
        "confidence",
        "correction",
        "data_hash",
        "generated_at",
        "reference",
    }
    filters = dict(meta.get("filters") or {}) if isinstance(meta.get("filters"), Mapping) else {}
    filters.update({k: v for k, v in meta.items() if k not in known and k != "filters"})
    filter_text = "; ".join(f"{k} = {_plain(v)}" for k, v in sorted(filters.items())) or voice.t(
        "none"
    )
    data_hash = str(meta.get("data_hash") or DASH)
    key = meta.get("instrument") or voice.instrument.key
    instrument = f"{key} v{meta.get('version') or voice.instrument.version}"
    facts = (
        (voice.t("prov_instrument"), instrument),
        (voice.t("prov_filters"), filter_text),
        (voice.t("period"), period_text(assessment, voice)),
        (voice.t("prov_by"), ", ".join(contract.breakdown(assessment)) or voice.t("none")),
        (voice.t("prov_n"), voice.count(meta.get("n_responses"))),
        (voice.t("prov_min_cell"), str(voice.min_cell)),
        (voice.t("prov_alpha"), voice.num(voice.alpha, 2)),
        (voice.t("prov_correction"), voice.correction_name),
        (voice.t("prov_hash"), data_hash),
        (voice.t("prov_generated"), generated_at_text(assessment)),
        (voice.t("prov_version"), _gapmeter_version()),
        (voice.t("prov_language"), language),
        (voice.t("prov_paper"), paper),
    )
    footer = f"{instrument} \u00b7 n = {voice.count(meta.get('n_responses'))}"
    if data_hash != DASH:
        footer += f" \u00b7 {data_hash.removeprefix('sha256:')[:12]}"
    return Provenance(facts, footer, generated_at_text(assessment))


def _plain(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


# Gap profile --------------------------------------------------------------------------------
def _gap_cells(voice: Voice, row: Row | None) -> tuple[Cell, ...]:
    """n, expectation, perception, gap, CI, adjusted p, dz; or suppressed."""
    if row is None or not contract.shown(row):
        return (Cell(voice.t("suppressed"), "suppressed"),) + (Cell("", "suppressed"),) * 6
    significant = voice.significant(row.get("p_adjusted"))
    return (
        Cell(voice.count(row.get("n")), "num"),
        Cell(voice.num(row.get("expectation_mean")), "num"),
        Cell(voice.num(row.get("perception_mean")), "num"),
        Cell(voice.num(row.get("gap_mean")), "sig" if significant else "num"),
        Cell(voice.ci(row.get("gap_ci_low"), row.get("gap_ci_high")), "num"),
        Cell(voice.p_cell(row.get("p_adjusted")), "sig" if significant else "num"),
        Cell(voice.num(row.get("effect_size_dz")), "num"),
    )


def _gap_headers(voice: Voice, first: str) -> tuple[str, ...]:
    return (
        first,
        voice.t("col_n"),
        voice.t("col_expectation"),
        voice.t("col_perception"),
        voice.t("col_gap"),
        voice.t("col_ci"),
        voice.t("col_p_adj"),
        voice.t("col_dz"),
    )


def _n_note(voice: Voice, rows: Sequence[Row]) -> str:
    return n_span(voice, [int(r["n"]) for r in rows if r.get("n") is not None])


def n_span(voice: Voice, ns: Sequence[int]) -> str:
    """``n = 3,499–3,500`` (or ``n = 240``) for a chart's note; empty without any n."""
    if not ns:
        return ""
    low, high = voice.count(min(ns)), voice.count(max(ns))
    return voice.t("n_single", n=low) if low == high else voice.t("n_range", low=low, high=high)


def _scale_of_gap_items(voice: Voice) -> tuple[int, int] | None:
    items = voice.instrument.gap_items
    if not items:
        return None
    scale = voice.instrument.scale_of(items[0])
    return scale.min, scale.max


def gaps_section(assessment: Row, voice: Voice) -> Section:
    whole = contract.whole(assessment)
    dims = contract.dimensions(whole)
    shown_dims = [d for d in dims if contract.shown(d)]
    blocks: list[Block] = [Paragraph(voice.t("gaps_intro"))]
    scale = _scale_of_gap_items(voice)
    means = [
        charts.Dumbbell(
            voice.dimension(d["dimension"]), d["expectation_mean"], d["perception_mean"], d["n"]
        )
        for d in shown_dims
        if d.get("expectation_mean") is not None and d.get("perception_mean") is not None
    ]
    if means:
        blocks.append(
            Chart(
                "dimension-means",
                charts.dumbbell_chart(
                    means,
                    key="dimension-means",
                    title=voice.t("chart_dimensions"),
                    xlabel=voice.t("axis_mean", points=scale[1] - scale[0] + 1 if scale else ""),
                    expectation_label=voice.t("measure_expectation"),
                    perception_label=voice.t("measure_perception"),
                    note=_n_note(voice, shown_dims),
                    scale=(scale[0] - 0.2, scale[1] + 0.2) if scale else None,
                ),
                voice.t("chart_dimensions"),
            )
        )
    blocks.append(Heading(voice.t("sub_dimensions")))
    blocks.append(
        Table(
            "dimensions",
            _gap_headers(voice, voice.t("col_dimension")),
            tuple((Cell(voice.dimension(d["dimension"])), *_gap_cells(voice, d)) for d in dims),
            note=voice.t("sig_shading_note"),
            numeric=(False,) + (True,) * 7,
        )
    )
    items = contract.items(whole)
    shown_items = [i for i in items if contract.shown(i)]
    if shown_items:
        blocks.append(Heading(voice.t("sub_items")))
        blocks.append(
            Chart(
                "item-gaps",
                charts.interval_chart(
                    [
                        charts.Interval(
                            f"{i['item']}  {voice.short_item(str(i['item']), 34)}",
                            i["gap_mean"],
                            i["gap_ci_low"],
                            i["gap_ci_high"],
                            int(i["n"]),
                            voice.significant(i.get("p_adjusted")),
                        )
                        for i in shown_items
                    ],
                    key="item-gaps",
                    title=voice.t("chart_items"),
                    xlabel=voice.t("axis_gap"),
                    note=_n_note(voice, shown_items),
                    significant_label=voice.t("significant", alpha=voice.num(voice.alpha)),
                    not_significant_label=voice.t("not_significant"),
                    groups=[str(i.get("dimension")) for i in shown_items],
                ),
                voice.t("chart_items"),
            )
        )
        blocks.append(
            Table(
                "items",
                _gap_headers(voice, voice.t("col_item")),
                tuple(
                    (
                        Cell(str(i["item"]), "", voice.item(str(i["item"]))),
                        *_gap_cells(voice, i),
                    )
                    for i in items
                ),
                numeric=(False,) + (True,) * 7,
            )
        )
    blocks += importance_blocks(assessment, voice)
    return Section("gaps", voice.t("sec_gaps"), tuple(blocks))


def importance_blocks(assessment: Row, voice: Voice) -> list[Block]:
    """Weights, weighted gaps and the importance-performance chart, when importance was asked."""
    dims = [d for d in contract.dimensions(contract.whole(assessment)) if contract.shown(d)]
    weighted = [d for d in dims if d.get("weight") is not None]
    if not weighted:
        return []
    priority = {
        str(row["dimension"]): rank
        for rank, row in enumerate(narrative.priority_rows(assessment, voice), start=1)
    }
    blocks: list[Block] = [
        Heading(voice.t("sub_importance")),
        Paragraph(voice.t("importance_intro")),
    ]
    points, ylabel = _ipa_points(assessment, voice, weighted)
    if len(points) >= 2:
        blocks.append(
            Chart(
                "importance-performance",
                charts.importance_performance_chart(
                    points,
                    key="importance-performance",
                    title=voice.t("chart_ipa"),
                    xlabel=voice.t("axis_importance"),
                    ylabel=ylabel,
                    focus_label=voice.t("focus"),
                    note=_n_note(voice, weighted),
                ),
                voice.t("chart_ipa"),
            )
        )
    rows = sorted(weighted, key=lambda d: d.get("weighted_gap") or 0.0)
    blocks.append(
        Table(
            "importance",
            (
                voice.t("col_dimension"),
                voice.t("col_n"),
                voice.t("col_weight"),
                voice.t("col_gap"),
                voice.t("col_weighted"),
                voice.t("col_p_adj"),
                voice.t("sub_priorities"),
            ),
            tuple(
                (
                    Cell(voice.dimension(d["dimension"])),
                    Cell(voice.count(d.get("n")), "num"),
                    Cell(voice.pct(d.get("weight")), "num"),
                    Cell(voice.num(d.get("gap_mean")), "num"),
                    Cell(voice.num(d.get("weighted_gap"), 3), "num"),
                    Cell(
                        voice.p_cell(d.get("p_adjusted")),
                        "sig" if voice.significant(d.get("p_adjusted")) else "num",
                    ),
                    Cell(str(priority.get(str(d["dimension"]), DASH)), "num"),
                )
                for d in rows
            ),
            numeric=(False,) + (True,) * 6,
        )
    )
    return blocks


def _ipa_points(
    assessment: Row, voice: Voice, weighted: list[Row]
) -> tuple[list[charts.Quadrant], str]:
    """The engine's dimension-level importance-performance points (importance weight against
    mean perception), else importance weight against gap."""
    given = [
        p
        for p in (contract.whole(assessment) or {}).get("importance_performance") or []
        if isinstance(p, Mapping)
        and p.get("level") == "dimension"
        and p.get("importance") is not None
        and p.get("performance") is not None
    ]
    if given:
        return (
            [
                charts.Quadrant(voice.dimension(str(p["key"])), p["importance"], p["performance"])
                for p in given
            ],
            voice.t("axis_perception"),
        )
    return (
        [
            charts.Quadrant(voice.dimension(d["dimension"]), d["weight"], d["gap_mean"])
            for d in weighted
        ],
        voice.t("axis_gap"),
    )


# Segments and stages ------------------------------------------------------------------------
def segments_section(assessment: Row, voice: Voice) -> Section:
    by = contract.breakdown(assessment)
    subgroups = contract.subgroups(assessment)
    hidden = contract.suppressed_groups(assessment)
    blocks: list[Block] = []
    if not by or (not subgroups and not hidden):
        blocks.append(Paragraph(voice.t("no_breakdown")))
    else:
        by_text = " \u00d7 ".join(voice.axis(axis) for axis in by)
        blocks.append(Paragraph(voice.t("segments_intro", by=by_text)))
        blocks += heatmap_blocks(assessment, voice, by, subgroups, hidden)
    blocks += comparison_blocks(assessment, voice)
    return Section("segments", voice.t("sec_segments"), tuple(blocks))


def heatmap_blocks(
    assessment: Row,
    voice: Voice,
    by: tuple[str, ...],
    subgroups: list[Row],
    hidden: list[Row],
) -> list[Block]:
    """The heat map of dimension gaps per group; each row label carries its n, and suppressed
    groups and cells are hatched with no number (and no n)."""
    dims = [str(d["dimension"]) for d in contract.dimensions(contract.whole(assessment))]
    if not dims:
        dims = [d.key for d in voice.instrument.dimensions]
    entries: list[tuple[Row, Row | None]] = [(contract.group_key(g), g) for g in subgroups]
    entries += [(h["group"], None) for h in hidden]
    entries.sort(key=lambda entry: tuple(str(entry[0].get(axis, "")) for axis in by))
    cells = []
    labels = []
    for group, data in entries:
        if data is None:
            cells.append([charts.HeatCell(None) for _ in dims])
            labels.append(f"{voice.group(group)} ({voice.t('suppressed')})")
            continue
        line = []
        for dim in dims:
            row = contract.dimension_row(data, dim)
            if contract.shown(row):
                line.append(
                    charts.HeatCell(row["gap_mean"], voice.significant(row.get("p_adjusted")))
                )
            else:
                line.append(charts.HeatCell(None))
        cells.append(line)
        labels.append(f"{voice.group(group)} (n = {voice.count(data.get('n'))})")
    shown_n = [int(g.get("n") or 0) for g in subgroups]
    note = n_span(voice, shown_n)
    return [
        Heading(voice.t("sub_heatmap")),
        Chart(
            "heatmap",
            charts.heatmap_chart(
                cells,
                key="heatmap",
                title=voice.t("chart_heatmap"),
                row_labels=labels,
                column_labels=[voice.dimension(d) for d in dims],
                suppressed_label=voice.t("suppressed_cell"),
                note=note,
                colorbar_label=voice.t("colorbar_gap"),
            ),
            voice.t("chart_heatmap"),
        ),
        Paragraph(voice.t("sig_marker_note"), "note"),
    ]


def comparison_blocks(assessment: Row, voice: Voice) -> list[Block]:
    found = [c for c in assessment.get("comparisons") or [] if isinstance(c, Mapping)]
    if not found:
        return [Heading(voice.t("sub_comparisons")), Paragraph(voice.t("no_comparisons"))]
    overview = []
    pairs = []
    other_pairs = 0
    for comparison in found:
        p_value = comparison.get("p_adjusted", comparison.get("p"))
        significant = voice.significant(p_value)
        df = f"({voice.num(comparison.get('df1'), 0)}, {voice.num(comparison.get('df2'), 1)})"
        overview.append(
            (
                Cell(voice.dimension(comparison.get("dimension"))),
                Cell(voice.axis(str(comparison.get("factor")))),
                Cell(f"{voice.num(comparison.get('f'))} {df}", "num"),
                Cell(voice.p_cell(p_value), "sig" if significant else "num"),
                Cell(voice.num(comparison.get("effect_size"), 3), "num"),
                Cell(_n_of_comparison(assessment, voice, comparison), "num"),
            )
        )
        factor = str(comparison.get("factor"))
        for pair in comparison.get("pairs") or []:
            if not voice.significant(pair.get("p_adjusted")):
                other_pairs += 1
                continue
            pairs.append(
                (
                    Cell(voice.dimension(comparison.get("dimension"))),
                    Cell(
                        f"{voice.value_label(factor, str(pair.get('b')))} \u2212 "
                        f"{voice.value_label(factor, str(pair.get('a')))}"
                    ),
                    Cell(voice.signed(pair.get("diff")), "sig"),
                    Cell(voice.ci(pair.get("ci_low"), pair.get("ci_high")), "num"),
                    Cell(voice.p_cell(pair.get("p_adjusted")), "sig"),
                )
            )
    blocks: list[Block] = [
        Heading(voice.t("sub_comparisons")),
        Paragraph(voice.t("comparisons_intro")),
        Table(
            "comparisons",
            (
                voice.t("col_dimension"),
                voice.t("col_factor"),
                voice.t("col_f"),
                voice.t("col_p_adj"),
                voice.t("col_eta"),
                voice.t("col_n"),
            ),
            tuple(overview),
            numeric=(False, False, True, True, True, True),
        ),
    ]
    if pairs or other_pairs:
        blocks.append(Heading(voice.t("sub_pairs")))
    if pairs:
        blocks.append(
            Table(
                "pairs",
                (
                    voice.t("col_dimension"),
                    voice.t("col_pair"),
                    voice.t("col_diff"),
                    voice.t("col_ci"),
                    voice.t("col_p_adj"),
                ),
                tuple(pairs),
                numeric=(False, False, True, True, True),
            )
        )
    if other_pairs:
        blocks.append(Paragraph(voice.t("pairs_rest", count=other_pairs), "note"))
    return blocks


def _n_of_comparison(assessment: Row, voice: Voice, comparison: Row) -> str:
    """Respondents behind a comparison: the dimension's n summed over the compared groups."""
    if comparison.get("n") is not None:
        return voice.count(comparison["n"])
    levels = [g for g in comparison.get("groups") or [] if isinstance(g, Mapping)]
    if levels:
        return voice.count(sum(int(g.get("n") or 0) for g in levels))
    factor = str(comparison.get("factor"))
    total = 0
    for group in contract.subgroups(assessment):
        key = contract.group_key(group)
        if set(key) == {factor}:
            row = contract.dimension_row(group, str(comparison.get("dimension")))
            if contract.shown(row):
                total += int(row.get("n") or 0)
    return voice.count(total) if total else DASH


# Trends -------------------------------------------------------------------------------------
def _trend_points(voice: Voice, rows: list[Row]) -> list[charts.TrendPoint]:
    return [
        charts.TrendPoint(
            period=str(r.get("period")),
            value=r["value"],
            low=r.get("ci_low"),
            high=r.get("ci_high"),
            n=int(r.get("n") or 0),
            center=r.get("center"),
            lcl=r.get("lcl"),
            ucl=r.get("ucl"),
            signals=tuple(narrative.signal_names(voice, r.get("signals") or [])),
        )
        for r in rows
        if r.get("value") is not None
    ]


def _trend_labels(voice: Voice) -> dict[str, str]:
    return {
        "estimate": voice.t("legend_estimate"),
        "center": voice.t("legend_center"),
        "limits": voice.t("legend_limits"),
        "signal": voice.t("legend_signal"),
    }


def trends_section(assessment: Row, voice: Voice) -> Section:
    """One control chart per headline metric (overall gap, NPS, CSAT...), one chart of the
    dimension gaps together, the slope tests and every signal."""
    series = contract.trend_series(assessment)
    if not series:
        return Section("trends", voice.t("sec_trends"), (Paragraph(voice.t("no_trends")),))
    blocks: list[Block] = [Paragraph(voice.t("trends_intro"))]
    signal_rows = []
    for (metric, dimension), rows in series.items():
        name = voice.metric(metric, dimension, capital=True)
        points = _trend_points(voice, rows)
        for point in points:
            if point.signals:
                signal_rows.append(
                    (
                        Cell(name),
                        Cell(point.period),
                        Cell(voice.count(point.n), "num"),
                        Cell(_trend_value(voice, metric, point.value), "num"),
                        Cell(voice.join(list(point.signals))),
                    )
                )
        if metric == "dimension_gap" or not points:
            continue
        percent = metric in {"csat_top2", "share_dissatisfied"}
        ns = [p.n for p in points]
        key = f"trend-{metric}-{dimension or 'all'}"
        blocks.append(
            Chart(
                key,
                charts.trend_chart(
                    points,
                    key=key,
                    title=voice.t("chart_trend", metric=name),
                    ylabel=name + (" (%)" if percent else ""),
                    xlabel=voice.t("axis_period"),
                    note=n_span(voice, ns),
                    labels=_trend_labels(voice),
                    percent=percent,
                ),
                voice.t("chart_trend", metric=name),
            )
        )
    dimension_series = [
        (voice.dimension(dimension), _trend_points(voice, rows))
        for (metric, dimension), rows in series.items()
        if metric == "dimension_gap"
    ]
    dimension_series = [(label, points) for label, points in dimension_series if points]
    if dimension_series:
        ns = [p.n for _, points in dimension_series for p in points]
        blocks.append(
            Chart(
                "trend-dimensions",
                charts.multi_trend_chart(
                    dimension_series,
                    key="trend-dimensions",
                    title=voice.t("chart_dimension_trends"),
                    ylabel=voice.t("axis_gap"),
                    xlabel=voice.t("axis_period"),
                    note=n_span(voice, ns),
                    signal_label=voice.t("legend_signal"),
                ),
                voice.t("chart_dimension_trends"),
            )
        )
    slopes = contract.slopes(assessment)
    if slopes:
        blocks.append(Heading(voice.t("sub_slopes")))
        blocks.append(
            Table(
                "slopes",
                (
                    voice.t("col_metric"),
                    voice.t("col_slope"),
                    voice.t("col_se"),
                    voice.t("col_t"),
                    voice.t("col_p"),
                    voice.t("col_periods"),
                    voice.t("col_n"),
                ),
                tuple(_slope_row(voice, s, series) for s in slopes),
                note=voice.t("slopes_note"),
                numeric=(False,) + (True,) * 6,
            )
        )
    if signal_rows:
        blocks.append(Heading(voice.t("sub_signals")))
        blocks.append(
            Table(
                "signals",
                (
                    voice.t("col_metric"),
                    voice.t("col_period"),
                    voice.t("col_n"),
                    voice.t("col_value"),
                    voice.t("col_signals"),
                ),
                tuple(signal_rows),
                numeric=(False, False, True, True, False),
            )
        )
    return Section("trends", voice.t("sec_trends"), tuple(blocks))


def _trend_value(voice: Voice, metric: str, value: float | None) -> str:
    if metric in {"csat_top2", "share_dissatisfied"}:
        return voice.pct(value)
    return voice.num(value, 1 if metric == "nps" else 2)


def _slope_row(voice: Voice, slope: Row, series: Mapping[tuple[str, Any], list[Row]]) -> tuple:
    metric = str(slope.get("metric"))
    rows = series.get((metric, slope.get("dimension")), [])
    significant = voice.significant(slope.get("p"))
    per = voice.t(f"per_{slope.get('per', 'period')}")
    return (
        Cell(voice.metric(metric, slope.get("dimension"), capital=True)),
        Cell(
            f"{narrative.slope_text(voice, metric, slope.get('slope'))} / {per}",
            "sig" if significant else "num",
        ),
        Cell(narrative.slope_text(voice, metric, slope.get("se"), signed=False), "num"),
        Cell(voice.num(slope.get("t")), "num"),
        Cell(voice.p_cell(slope.get("p")), "sig" if significant else "num"),
        Cell(str(len(rows)) if rows else DASH, "num"),
        Cell(voice.count(narrative.slope_n(slope, rows)), "num"),
    )


# Targets ------------------------------------------------------------------------------------
def targets_section(assessment: Row, voice: Voice) -> Section:
    rows = [r for r in assessment.get("targets") or [] if isinstance(r, Mapping)]
    if not rows:
        return Section("targets", voice.t("sec_targets"), (Paragraph(voice.t("no_targets")),))
    order = {"missed": 0, "nd": 1, "met": 2}
    table_rows = []
    for row in sorted(rows, key=lambda r: order[narrative.target_status(r)]):
        facts = narrative.target_facts(row, voice)
        status = narrative.target_status(row)
        kind = {"met": "good", "missed": "bad", "nd": "muted"}[status]
        scope = row.get("scope")
        scope_text = voice.group(scope) if isinstance(scope, Mapping) else str(scope or "")
        table_rows.append(
            (
                Cell(facts["target"]),
                Cell(scope_text or voice.t("group_all")),
                Cell(facts["value"], "num"),
                Cell(f"{facts['direction']} {facts['threshold']}", "num"),
                Cell(voice.p_cell(row.get("p")), "num"),
                Cell(voice.count(row.get("n")) if row.get("n") is not None else DASH, "num"),
                Cell(voice.t(f"status_{status}"), kind),
            )
        )
    return Section(
        "targets",
        voice.t("sec_targets"),
        (
            Paragraph(voice.t("targets_intro")),
            Table(
                "targets",
                (
                    voice.t("col_target"),
                    voice.t("col_scope"),
                    voice.t("col_value"),
                    voice.t("col_threshold"),
                    voice.t("col_p"),
                    voice.t("col_n"),
                    voice.t("col_status"),
                ),
                tuple(table_rows),
                numeric=(False, False, True, True, True, True, False),
            ),
        ),
    )


# Scores -------------------------------------------------------------------------------------
SCORES = (("nps", "col_nps", (-100.0, 100.0)), ("csat_top2", "col_csat", (0.0, 1.0)),
          ("ces_mean", "col_ces", None))  # fmt: skip


def scores_section(
    assessment: Row, voice: Voice, distributions: Mapping[str, Mapping[Any, int]] | None
) -> Section:
    groups = [g for g in contract.groups(assessment) if g.get("scores")]
    present = [s for s in SCORES if any((g["scores"] or {}).get(s[0]) for g in groups)]
    blocks: list[Block] = []
    if not present:
        blocks.append(Paragraph(voice.t("no_scores")))
    else:
        blocks.append(Paragraph(voice.t("scores_intro")))
        panels = []
        for name, header, _limits in present:
            scale = 100 if name == "csat_top2" else 1
            data = []
            for g in groups:
                score = (g["scores"] or {}).get(name)
                if score and score.get("value") is not None:
                    value = score["value"]
                    data.append(
                        charts.Interval(
                            voice.group(contract.group_key(g)),
                            value * scale,
                            (score.get("ci_low") if score.get("ci_low") is not None else value)
                            * scale,
                            (score.get("ci_high") if score.get("ci_high") is not None else value)
                            * scale,
                            int(score.get("n") or 0),
                        )
                    )
            if data:
                title = voice.t(header) + (" (%)" if name == "csat_top2" else "")
                panels.append((title, data, None))
        if panels:
            all_n = [
                int(s.get("n") or 0)
                for g in groups
                for s in (g["scores"] or {}).values()
                if isinstance(s, Mapping)
            ]
            blocks.append(
                Chart(
                    "scores",
                    charts.score_panels(
                        panels,
                        key="scores",
                        title=voice.t("chart_scores"),
                        note=n_span(voice, all_n),
                    ),
                    voice.t("chart_scores"),
                )
            )
        headers = [voice.t("col_group")]
        for _name, header, _limits in present:
            headers += [voice.t(header), voice.t("col_ci"), voice.t("col_n")]
        rows = []
        for g in groups:
            line = [Cell(voice.group(contract.group_key(g)))]
            for name, _header, _limits in present:
                score = (g["scores"] or {}).get(name)
                if score and score.get("value") is not None:
                    line += [
                        Cell(voice.score(name, score["value"]), "num"),
                        Cell(
                            f"[{voice.score(name, score.get('ci_low'))}, "
                            f"{voice.score(name, score.get('ci_high'))}]",
                            "num",
                        ),
                        Cell(voice.count(score.get("n")), "num"),
                    ]
                else:
                    line += [Cell(DASH, "muted"), Cell(""), Cell("")]
            rows.append(tuple(line))
        blocks.append(
            Table(
                "scores",
                tuple(headers),
                tuple(rows),
                numeric=(False,) + (True,) * (len(headers) - 1),
            )
        )
    blocks.append(Heading(voice.t("sub_distributions")))
    blocks += distribution_blocks(voice, distributions)
    return Section("scores", voice.t("sec_scores"), tuple(blocks))


def distribution_blocks(
    voice: Voice, distributions: Mapping[str, Mapping[Any, int]] | None
) -> list[Block]:
    if not distributions:
        return [Paragraph(voice.t("no_distributions"))]
    blocks: list[Block] = []
    for item_key, counts in distributions.items():
        try:
            item = voice.instrument.item(item_key)
            values = list(voice.instrument.scale_of(item).values)
        except KeyError:
            item, values = None, sorted(int(v) for v in counts)
        by_value = {int(k): int(v) for k, v in counts.items()}
        data = [(str(v), by_value.get(v, 0)) for v in values]
        n = sum(c for _, c in data)
        bands: list[tuple[int, int, str, str]] = []
        if item is not None and (Measure.NPS in item.measures or item.score == Score.NPS):
            bands = [
                (0, 6, voice.t("detractors"), "vermillion"),
                (7, 8, voice.t("passives"), "sky"),
                (9, 10, voice.t("promoters"), "blue"),
            ]
        name = voice.short_item(item_key, 90) if item is not None else item_key
        blocks.append(
            Chart(
                f"distribution-{item_key}",
                charts.distribution_chart(
                    data,
                    key=f"distribution-{item_key}",
                    title=voice.t("chart_distribution", item=name),
                    xlabel=voice.t("axis_answer"),
                    ylabel=voice.t("axis_count"),
                    note=n_span(voice, [n]),
                    bands=bands,
                ),
                voice.t("chart_distribution", item=name),
                half=True,
            )
        )
    return blocks


# Comments -----------------------------------------------------------------------------------
def comments_section(voice: Voice, selection: CommentSelection, policy: CommentPolicy) -> Section:
    intro = voice.t(
        "comments_intro",
        areas=policy.areas,
        per_area=policy.per_area,
        k=selection.threshold,
        chars=policy.max_chars,
    )
    blocks: list[Block] = [Paragraph(intro)]
    if not selection.read:
        return Section(
            "comments",
            voice.t("sec_comments"),
            (*blocks, Paragraph(voice.t("comments_not_supplied"))),
        )
    if not selection.areas:
        blocks.append(Paragraph(voice.t("comments_none")))
    for area in selection.areas:
        row = area.gap_row
        title = voice.t(
            "comments_area",
            dimension=voice.dimension(area.dimension),
            gap=voice.num(row.get("gap_mean")),
            n=voice.count(row.get("n")),
        )
        quotes = tuple(
            Quote(
                c.text,
                voice.t("comments_respondent_in", gap=voice.num(c.gap), group=voice.group(c.group))
                if c.group
                else voice.t("comments_respondent", gap=voice.num(c.gap)),
            )
            for c in area.comments
        )
        blocks.append(Quotes(title, quotes, voice.t("comments_none_area")))
    if selection.withheld:
        blocks.append(
            Paragraph(
                voice.t("comments_withheld", count=selection.withheld, k=selection.threshold),
                "note",
            )
        )
    return Section("comments", voice.t("sec_comments"), tuple(blocks))


# Appendix -----------------------------------------------------------------------------------
def appendix_section(
    assessment: Row, voice: Voice, language: str, paper: str, policy: CommentPolicy
) -> Section:
    blocks: list[Block] = [Heading(voice.t("sub_reliability"))]
    reliability = list((contract.whole(assessment) or {}).get("reliability") or [])
    if not reliability:
        blocks.append(Paragraph(voice.t("no_reliability")))
    else:
        blocks.append(Paragraph(voice.t("reliability_intro")))
        rows = []
        for r in reliability:
            low = r.get("alpha") is not None and r["alpha"] < 0.7
            weak = [
                f"{i['item']} (r = {voice.num(i.get('item_total_r'))})"
                for i in r.get("items") or []
                if i.get("item_total_r") is not None and i["item_total_r"] < 0.3
            ]
            rows.append(
                (
                    Cell(voice.dimension(r.get("dimension"))),
                    Cell(voice.t(f"measure_{r.get('measure')}")),
                    Cell(voice.count(r.get("n")), "num"),
                    Cell(voice.num(r.get("alpha")), "warn" if low else "num"),
                    Cell(voice.ci(r.get("ci_low"), r.get("ci_high")), "num"),
                    Cell(", ".join(weak) or DASH, "warn" if weak else "muted"),
                )
            )
        blocks.append(
            Table(
                "reliability",
                (
                    voice.t("col_dimension"),
                    voice.t("col_measure"),
                    voice.t("col_n"),
                    voice.t("col_alpha"),
                    voice.t("col_ci"),
                    voice.t("col_weak_items"),
                ),
                tuple(rows),
                numeric=(False, False, True, True, True, False),
            )
        )
    blocks.append(Heading(voice.t("sub_methods")))
    kc = policy.threshold(voice.min_cell)
    for topic in (
        "gap",
        "interval",
        "multiplicity",
        "min_cell",
        "comparisons",
        "trends",
        "changes",
        "priorities",
    ):
        blocks.append(Findings(voice.t(f"m_{topic}_title"), (voice.t(f"m_{topic}", kc=kc),)))
    hidden = contract.suppressed_groups(assessment)
    if hidden:
        blocks.append(
            Paragraph(
                voice.t(
                    "suppressed_note",
                    groups=voice.join([voice.group(h["group"]) for h in hidden]),
                ),
                "note",
            )
        )
    blocks.append(Heading(voice.t("sub_provenance")))
    prov = provenance(assessment, voice, language, paper)
    blocks.append(
        Table(
            "provenance",
            ("", ""),
            tuple((Cell(label), Cell(value)) for label, value in prov.facts),
        )
    )
    blocks.append(Paragraph(voice.t("prov_note"), "note"))
    return Section("appendix", voice.t("sec_appendix"), tuple(blocks))
