"""Reading the assessment's JSON form (``gapmeter analyze --format json``) for the report.

The report is built from the documented JSON contract rather than from the Python object so that
any assessment (a fresh one, a stored one, one computed elsewhere) renders the same way. These
helpers normalise the few spellings that exist (``trend_slope`` in the reference data, ``slopes``
in the contract) and answer the questions every section asks (the whole-scope group, alpha, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from analysis.report.voice import ReportError

Row = Mapping[str, Any]


def meta(assessment: Row) -> Row:
    value = assessment.get("meta") or {}
    if not isinstance(value, Mapping):
        raise ReportError("assessment: 'meta' must be an object")
    return value


def alpha(assessment: Row) -> float:
    return float(meta(assessment).get("alpha") or 0.05)


def correction(assessment: Row) -> str:
    return str(meta(assessment).get("correction") or "holm")


def min_cell(assessment: Row) -> int:
    return int(meta(assessment).get("min_cell") or 5)


def breakdown(assessment: Row) -> tuple[str, ...]:
    """The ``by`` axes: ``"segment"``, ``["segment", "stage"]`` or nothing."""
    by = meta(assessment).get("by")
    if not by:
        return ()
    if isinstance(by, str):
        return tuple(part for part in by.replace("+", ",").split(",") if part)
    return tuple(str(part) for part in by)


def groups(assessment: Row) -> list[Row]:
    value = assessment.get("groups") or []
    if not isinstance(value, Sequence):
        raise ReportError("assessment: 'groups' must be a list")
    return [g for g in value if isinstance(g, Mapping)]


def group_key(group: Row) -> Row:
    return group.get("group") or {}


def whole(assessment: Row) -> Row | None:
    """The whole-scope group (``group: {}``), which every assessment has."""
    return next((g for g in groups(assessment) if not group_key(g)), None)


def subgroups(assessment: Row) -> list[Row]:
    return [g for g in groups(assessment) if group_key(g)]


def dimensions(group: Row | None) -> list[Row]:
    return list((group or {}).get("dimensions") or [])


def items(group: Row | None) -> list[Row]:
    return list((group or {}).get("items") or [])


def dimension_row(group: Row | None, key: str) -> Row | None:
    return next((d for d in dimensions(group) if d.get("dimension") == key), None)


def shown(row: Row | None) -> TypeGuard[Row]:
    """A row with statistics; a suppressed item or dimension has a null gap."""
    return row is not None and row.get("gap_mean") is not None


def slopes(assessment: Row) -> list[Row]:
    value = assessment.get("slopes")
    if value is None:
        single = assessment.get("trend_slope")
        value = [single] if single else []
    return [s for s in value if isinstance(s, Mapping)]


def trends(assessment: Row) -> list[Row]:
    return [t for t in assessment.get("trends") or [] if isinstance(t, Mapping)]


def trend_series(assessment: Row) -> dict[tuple[str, str | None], list[Row]]:
    """Trend rows by (metric, dimension), each list in period order."""
    series: dict[tuple[str, str | None], list[Row]] = {}
    for row in trends(assessment):
        series.setdefault((str(row.get("metric")), row.get("dimension")), []).append(row)
    for rows in series.values():
        rows.sort(key=lambda r: str(r.get("period")))
    return series


def suppressed(assessment: Row) -> list[Row]:
    return [s for s in assessment.get("suppressed") or [] if isinstance(s, Mapping)]


def suppressed_groups(assessment: Row) -> list[Row]:
    """Suppressed whole groups (not single items or dimensions inside a shown group)."""
    parts = ("item", "dimension", "measure", "metric", "period", "target")
    return [
        s
        for s in suppressed(assessment)
        if isinstance(s.get("group"), Mapping) and not any(s.get(part) for part in parts)
    ]


def same_group(a: Row, b: Row) -> bool:
    return {k: str(v) for k, v in a.items()} == {k: str(v) for k, v in b.items()}
