"""The dashboard of one scope: the assessment (``analysis.scope.assess_scope``) and the PDF's
own report model (``analysis.report.build_report_model``), turned into rows for the template.

The charts are the report model's SVGs, drawn once by ``analysis.charts`` for both the PDF and
this page; the comments are the report's selection (``analysis.report.comments``). The words
and number formats are the report's ``Voice``, so the page and the PDF read the same. Every
shown number carries its n and the anchor of its method note (``METHOD_NOTES`` below, shown on
``/insights/methods``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analysis.assessment import Assessment
from analysis.report import contract, narrative
from analysis.report.blocks import Chart, Paragraph, Quotes
from analysis.report.comments import Comment
from analysis.report.model import build_report_model
from analysis.report.narrative import _metric_value  # the report's own number format
from analysis.report.sections import SCORES
from analysis.report.voice import DASH, Voice
from surveys.instrument import Instrument

Row = Mapping[str, Any]

#: Method notes shown on ``/insights/methods``, by anchor: (title, text).
METHOD_NOTES: dict[str, tuple[str, str]] = {
    "gap": (
        "Gap",
        "Gap = perception − expectation. A respondent's dimension gap is the mean of their item "
        "gaps (defined when at least half of the dimension's items have one); a dimension's gap "
        "is the mean of respondent gaps, with a 95% t interval, a paired t-test against 0 and a "
        "multiplicity-adjusted p-value (Holm by default; items one family, dimensions another).",
    ),
    "significance": (
        "Significant, not distinguishable",
        "'Significant' always refers to the adjusted p-value below alpha (0.05). A gap that is "
        "not significant is not distinguishable from zero: the data cannot tell its sign.",
    ),
    "nps": (
        "NPS",
        "Net Promoter Score on the 0–10 question: promoters answer 9–10, detractors 0–6; "
        "NPS = 100 (p₊ − p₋), 95% interval value ± z·100·√((p₊ + p₋ − (p₊ − p₋)²)/n).",
    ),
    "csat_top2": (
        "CSAT top-2-box",
        "Share of answers in the top two points of the 5-point satisfaction question, with a "
        "95% Wilson score interval.",
    ),
    "ces_mean": ("CES", "Mean customer-effort score with a 95% t interval."),
    "ratings": (
        "Mean ratings",
        "Mean of the answers to a rating item (reverse-keyed items recoded first) with a 95% t "
        "interval; 'not applicable' and unanswered are missing.",
    ),
    "overall_gap": (
        "Overall gap",
        "Unweighted SERVQUAL score: per respondent, the mean of their dimension gaps; shown as "
        "the mean over respondents with a 95% t interval.",
    ),
    "heatmap": (
        "Segment × stage heat map",
        "Dimension gaps of each segment × stage group of the scope. Groups with fewer "
        "respondents than the minimum reporting size (5 by default) are suppressed: none of "
        "their numbers are shown, and the cell says 'suppressed'. A marked cell is significant "
        "after adjustment within its group.",
    ),
    "trends": (
        "Trends and control charts",
        "Periods are calendar months (or quarters) of the submission time, UTC. Per period: the "
        "mean with a t interval; the slope is an OLS fit on the period index. Mean charts use "
        "centre ± 3σ̂/√n with the pooled within-period sd; share charts p̄ ± 3√(p̄(1 − p̄)/n). "
        "Signals are the Western Electric rules: 1 point beyond 3σ; 2 of 3 beyond 2σ on one side; "
        "4 of 5 beyond 1σ on one side; 8 in a row on one side. Periods below the minimum "
        "reporting size are left out.",
    ),
    "targets": (
        "Target status",
        "From the metric's 95% interval: met when the whole interval is on the good side of "
        "the threshold, missed when it is wholly on the bad side, not distinguishable otherwise. "
        "p is the one-sided p-value of the test against the threshold in the direction of the "
        "estimate. A target's scope below the minimum reporting size is suppressed.",
    ),
    "priorities": (
        "Priorities",
        "Significant negative gaps (adjusted p < alpha), ordered by the importance-weighted gap "
        "(points allocation), else by gap × importance, else by the gap.",
    ),
    "comments": (
        "Comments",
        "The same selection as the PDF: the two dimensions with the most negative significant "
        "gap; per area at most three comments from respondents whose own gap there is negative, "
        "most negative first, only from groups of at least 10 respondents (smaller groups' "
        "comments are withheld and counted). Text is shown as written, escaped.",
    ),
    "suppression": (
        "Suppression",
        "Anything with fewer respondents than the minimum reporting size (default 5) is "
        "suppressed and listed, never shown.",
    ),
}


@dataclass(frozen=True, slots=True)
class Number:
    """A shown number: its text, its interval, its n and its method note's anchor."""

    label: str
    value: str
    interval: str = ""
    n: str = DASH
    note: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard template shows, formatted."""

    meta: Row
    n: int
    generated_at: datetime
    headline: tuple[Number, ...] = ()
    ratings: tuple[dict[str, Any], ...] = ()
    dimensions: tuple[dict[str, Any], ...] = ()
    heatmap_columns: tuple[str, ...] = ()
    heatmap_rows: tuple[dict[str, Any], ...] = ()
    signals: tuple[dict[str, Any], ...] = ()
    slopes: tuple[dict[str, Any], ...] = ()
    targets: tuple[dict[str, Any], ...] = ()
    priorities: tuple[dict[str, Any], ...] = ()
    charts: Mapping[str, Chart] = field(default_factory=dict)
    comments: tuple[Paragraph | Quotes, ...] = ()
    suppressed_groups: int = 0
    empty: str = ""  # why there is nothing to show (the whole scope is suppressed)


def build_dashboard(
    assessment: Assessment,
    instrument: Instrument,
    *,
    comments: Sequence[Comment] = (),
    taxonomy_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Dashboard:
    """The dashboard of ``assessment`` (broken down by segment and stage)."""
    data = assessment.to_json()
    meta = contract.meta(data)
    voice = Voice(
        instrument=instrument,
        alpha=contract.alpha(data),
        correction=contract.correction(data),
        min_cell=contract.min_cell(data),
        taxonomy=taxonomy_labels or {},
    )
    whole = contract.whole(data)
    if whole is None:
        return Dashboard(
            meta,
            int(meta.get("n_responses") or 0),
            assessment.meta.generated_at,
            empty=(
                f"Fewer than {voice.min_cell} respondents in this scope: nothing is shown "
                "(the minimum reporting size)."
            ),
        )
    model = build_report_model(data, instrument, comments=comments, taxonomy_labels=taxonomy_labels)
    charts = {
        block.key: block
        for section in model.sections
        for block in section.blocks
        if isinstance(block, Chart)
    }
    comment_blocks = tuple(
        block
        for section in model.sections
        if section.key == "comments"
        for block in section.blocks
        if isinstance(block, Paragraph | Quotes)
    )
    columns, rows = heatmap(data, voice)
    return Dashboard(
        meta=meta,
        n=int(whole.get("n") or 0),
        generated_at=assessment.meta.generated_at,
        headline=headline(whole, voice),
        ratings=tuple(rating_row(row, voice) for row in whole.get("ratings") or []),
        dimensions=tuple(dimension_row(row, voice) for row in contract.dimensions(whole)),
        heatmap_columns=columns,
        heatmap_rows=rows,
        signals=signals(data, voice),
        slopes=tuple(slope_row(row, voice) for row in contract.slopes(data) if row.get("n")),
        targets=tuple(target_row(row, voice) for row in data.get("targets") or []),
        priorities=priority_rows(whole, voice),
        charts=charts,
        comments=comment_blocks,
        suppressed_groups=sum(1 for row in rows if row["suppressed"]),
    )


# Caching --------------------------------------------------------------------------------------
class DashboardCache:
    """Recently built dashboards, by what determines them: the cells' hash, the filters and
    options of the assessment, the instrument (with its targets) and the taxonomy labels.

    Drawing the charts is most of a dashboard's cost (about 2 s); the cells' hash changes with
    every new, imported or erased response, so a cached dashboard is never stale. Its
    "computed at" time is the first computation's.
    """

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self._boards: OrderedDict[str, Dashboard] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(
        assessment: Assessment,
        instrument: Instrument,
        taxonomy_labels: Mapping[str, Mapping[str, str]] | None,
    ) -> str:
        meta = assessment.meta
        parts = {
            "data": meta.data_hash,
            "filters": dict(meta.filters),
            "options": [meta.by, meta.period, meta.min_cell, meta.alpha, meta.correction],
            "instrument": instrument.content_hash,
            "targets": [repr(spec) for spec in instrument.targets],
            "labels": taxonomy_labels or {},
        }
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_or_build(
        self,
        assessment: Assessment,
        instrument: Instrument,
        comments: Callable[[], Sequence[Comment]],
        taxonomy_labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Dashboard:
        """The cached dashboard, or a new one (reading the comments only then)."""
        key = self.key(assessment, instrument, taxonomy_labels)
        with self._lock:
            if key in self._boards:
                self._boards.move_to_end(key)
                return self._boards[key]
        board = build_dashboard(
            assessment, instrument, comments=comments(), taxonomy_labels=taxonomy_labels
        )
        with self._lock:
            self._boards[key] = board
            while len(self._boards) > self.capacity:
                self._boards.popitem(last=False)
        return board

    def clear(self) -> None:
        with self._lock:
            self._boards.clear()


DASHBOARDS = DashboardCache()


# Rows -----------------------------------------------------------------------------------------
def headline(whole: Row, voice: Voice) -> tuple[Number, ...]:
    """Respondents, overall gap, NPS, CSAT top-2 and CES (each with interval and n)."""
    numbers = [Number("Respondents", voice.count(whole.get("n")), n=voice.count(whole.get("n")))]
    overall = whole.get("overall_gap") or {}
    if overall.get("mean") is not None:
        numbers.append(
            Number(
                "Overall gap",
                voice.signed(overall["mean"]),
                voice.ci(overall.get("ci_low"), overall.get("ci_high")),
                voice.count(overall.get("n")),
                "overall_gap",
            )
        )
    scores = whole.get("scores") or {}
    for name, header, _limits in SCORES:
        score = scores.get(name)
        if not score:
            numbers.append(
                Number(voice.t(header), DASH, note=name, detail="not measured by this instrument")
            )
            continue
        value = score.get("value")
        numbers.append(
            Number(
                voice.t(header),
                voice.score(name, value),
                (
                    f"[{voice.score(name, score.get('ci_low'))}, "
                    f"{voice.score(name, score.get('ci_high'))}]"
                    if value is not None
                    else ""
                ),
                voice.count(score.get("n")),
                name,
                "; ".join(score.get("notes") or ()) if value is None else "",
            )
        )
    return tuple(numbers)


def rating_row(row: Row, voice: Voice) -> dict[str, Any]:
    """A mean rating with its t interval and n (suppressed below the minimum size)."""
    shown = row.get("mean") is not None
    return {
        "label": f"{row.get('item')} {voice.short_item(str(row.get('item')), 60)}",
        "n": voice.count(row.get("n")),
        "mean": voice.num(row.get("mean")) if shown else "",
        "interval": voice.ci(row.get("ci_low"), row.get("ci_high")) if shown else "",
        "note": "; ".join(row.get("notes") or ()) if not shown else "",
    }


def verdict(row: Row, voice: Voice) -> tuple[str, str]:
    """``(words, css kind)`` of a gap: a significant shortfall or excess, or not
    distinguishable from zero (methods.md, "Reporting rules")."""
    if not contract.shown(row):
        return f"suppressed (n < {voice.min_cell})", "suppressed"
    gap, p_adjusted = row.get("gap_mean"), row.get("p_adjusted")
    if gap is None or p_adjusted is None:
        return "no test", "muted"
    if voice.significant(p_adjusted):
        return ("shortfall", "bad") if gap < 0 else ("exceeds expectations", "good")
    return "not distinguishable from zero", "muted"


def dimension_row(row: Row, voice: Voice) -> dict[str, Any]:
    words, kind = verdict(row, voice)
    shown = contract.shown(row)
    return {
        "label": voice.dimension(row.get("dimension")),
        "n": voice.count(row.get("n")),
        "expectation": voice.num(row.get("expectation_mean")) if shown else "",
        "perception": voice.num(row.get("perception_mean")) if shown else "",
        "gap": voice.signed(row.get("gap_mean")) if shown else "",
        "interval": voice.ci(row.get("gap_ci_low"), row.get("gap_ci_high")) if shown else "",
        "p_adjusted": voice.p_cell(row.get("p_adjusted")) if shown else "",
        "verdict": words,
        "kind": kind,
    }


def heatmap(data: Row, voice: Voice) -> tuple[tuple[str, ...], tuple[dict[str, Any], ...]]:
    """The segment × stage table behind the heat map: per group its n and each dimension's
    gap; a suppressed group (or cell) shows the word, never a number."""
    by = contract.breakdown(data)
    dims = [str(d["dimension"]) for d in contract.dimensions(contract.whole(data))]
    entries: list[tuple[Row, Row | None]] = [
        (contract.group_key(group), group) for group in contract.subgroups(data)
    ]
    # Only whole segment x stage groups (the suppressed list also names the marginal levels
    # a comparison left out, e.g. a stage on its own).
    entries += [
        (hidden["group"], None)
        for hidden in contract.suppressed_groups(data)
        if set(hidden["group"]) == set(by)
    ]
    entries.sort(key=lambda entry: tuple(str(entry[0].get(axis, "")) for axis in by))
    rows = []
    for group, values in entries:
        cells = []
        for dim in dims:
            row = contract.dimension_row(values, dim) if values is not None else None
            if values is None or not contract.shown(row):
                cells.append({"text": "suppressed", "kind": "suppressed"})
            else:
                significant = voice.significant(row.get("p_adjusted"))
                cells.append(
                    {
                        "text": voice.signed(row["gap_mean"]) + (" *" if significant else ""),
                        "kind": ("bad" if row["gap_mean"] < 0 else "good") if significant else "",
                        "n": voice.count(row.get("n")),
                    }
                )
        rows.append(
            {
                "label": voice.group(group),
                "n": voice.count(values.get("n")) if values is not None else "",
                "suppressed": values is None,
                "cells": cells,
            }
        )
    return tuple(voice.dimension(dim) for dim in dims), tuple(rows)


def signals(data: Row, voice: Voice) -> tuple[dict[str, Any], ...]:
    """Every control-chart signal: metric, period, n, value and the rules that fired."""
    found = []
    for (metric, dimension), rows in contract.trend_series(data).items():
        for row in rows:
            if row.get("signals"):
                found.append(
                    {
                        "metric": voice.metric(metric, dimension, capital=True),
                        "period": row.get("period"),
                        "n": voice.count(row.get("n")),
                        "value": _metric_value(voice, metric, row.get("value")),
                        "signals": voice.join(narrative.signal_names(voice, row["signals"])),
                    }
                )
    return tuple(found)


def slope_row(row: Row, voice: Voice) -> dict[str, Any]:
    significant = voice.significant(row.get("p"))
    return {
        "metric": voice.metric(str(row.get("metric")), row.get("dimension"), capital=True),
        "slope": f"{voice.signed(row.get('slope'), 3)} per {row.get('per', 'period')}",
        "p": voice.p_cell(row.get("p")),
        "n": voice.count(row.get("n")),
        "verdict": "significant" if significant else "not distinguishable from zero",
    }


def target_row(row: Row, voice: Voice) -> dict[str, Any]:
    facts = narrative.target_facts(row, voice)
    status = narrative.target_status(row) if row.get("status") is not None else None
    scope = row.get("scope") or {}
    metric = str(row.get("metric"))
    return {
        "key": row.get("target"),
        "name": facts["target"],
        "scope": voice.group(scope) if isinstance(scope, Mapping) else str(scope),
        "value": facts["value"] if row.get("value") is not None else "",
        "interval": (
            f"[{_metric_value(voice, metric, row.get('ci_low'))}, "
            f"{_metric_value(voice, metric, row.get('ci_high'))}]"
            if row.get("ci_low") is not None
            else ""
        ),
        "threshold": f"{facts['direction']} {facts['threshold']}",
        "p": voice.p_cell(row.get("p")),
        "n": voice.count(row.get("n")),
        "status": voice.t(f"status_{status}") if status else "suppressed",
        "kind": {"met": "good", "missed": "bad", "nd": "muted"}.get(status or "", "suppressed"),
        "stored": str(row.get("target", "")).startswith("db-"),
        "notes": "; ".join(row.get("notes") or ()),
    }


def priority_rows(whole: Row, voice: Voice) -> tuple[dict[str, Any], ...]:
    """The priority list with each row's n (from its dimension or item row)."""
    n_of = {("dimension", str(d["dimension"])): d.get("n") for d in contract.dimensions(whole)}
    n_of.update({("item", str(i["item"])): i.get("n") for i in contract.items(whole)})
    rows = []
    for row in whole.get("priorities") or []:
        level, key = str(row.get("level")), str(row.get("key"))
        label = voice.dimension(key) if level == "dimension" else f"{key} {voice.short_item(key)}"
        rows.append(
            {
                "rank": row.get("rank"),
                "label": label,
                "level": level,
                "gap": voice.signed(row.get("gap_mean")),
                "score": voice.signed(row.get("score"), 3),
                "basis": str(row.get("basis", "")).replace("_", " "),
                "quadrant": str(row.get("quadrant") or "").replace("_", " "),
                "p_adjusted": voice.p_cell(row.get("p_adjusted")),
                "n": voice.count(n_of.get((level, key))),
            }
        )
    return tuple(rows)
