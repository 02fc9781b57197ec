"""Checks of an instrument's targets: each metric's subject and the range of its threshold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from surveys.instrument import Measure
from surveys.instrument_document import Document, Problems, duplicate_keys, listing, measures_of
from surveys.instrument_yaml import FieldPath, quoted


@dataclass(frozen=True)
class MetricRule:
    """What a target metric's subject must be, and the range of its values."""

    kind: str  # "dimension" | "item"
    required: bool
    needs: str
    accepts: Callable[[Document, str], bool]
    bounds: Callable[[Document, str | None], tuple[float, float] | None]


def _item_asks(*measures: Measure) -> Callable[[Document, str], bool]:
    def accepts(doc: Document, key: str) -> bool:
        item = doc.items.get(key)
        return item is not None and set(measures) <= set(measures_of(item))

    return accepts


_asks_gap = _item_asks(Measure.EXPECTATION, Measure.PERCEPTION)


def _dimension_has_gap(doc: Document, key: str) -> bool:
    return any(item.get("dimension") == key and _asks_gap(doc, k) for k, item in doc.items.items())


def _scale_range(doc: Document, subject: str | None) -> tuple[float, float] | None:
    item = doc.items.get(subject) if subject else None
    return doc.bounds_of(item) if item is not None else None


def _gap_range(doc: Document, subject: str | None) -> tuple[float, float] | None:
    spans = [
        bounds[1] - bounds[0]
        for key, item in doc.items.items()
        if subject in (key, item.get("dimension"))
        and _asks_gap(doc, key)
        and (bounds := doc.bounds_of(item))
    ]
    return (-max(spans), max(spans)) if spans else None


def _fixed(low: float, high: float) -> Callable[[Document, str | None], tuple[float, float]]:
    return lambda doc, subject: (low, high)


METRIC_RULES: dict[str, MetricRule] = {
    "dimension_gap": MetricRule(
        "dimension",
        True,
        "a dimension whose items ask expectation and perception",
        _dimension_has_gap,
        _gap_range,
    ),
    "item_gap": MetricRule(
        "item",
        True,
        "an item asking expectation and perception",
        _asks_gap,
        _gap_range,
    ),
    "csat_top2": MetricRule(
        "item",
        False,
        "an item with score: csat",
        lambda doc, key: doc.items.get(key, {}).get("score") == "csat",
        _fixed(0.0, 1.0),
    ),
    "nps": MetricRule(
        "item", False, "an item asking nps", _item_asks(Measure.NPS), _fixed(-100.0, 100.0)
    ),
    "ces_mean": MetricRule(
        "item", False, "an item asking ces", _item_asks(Measure.CES), _scale_range
    ),
    "rating_mean": MetricRule(
        "item", True, "an item asking a rating", _item_asks(Measure.RATING), _scale_range
    ),
}


def check_targets(doc: Document) -> Problems:
    """Target keys are unique, subjects fit their metric and thresholds are possible values."""
    yield from duplicate_keys(doc, "targets")
    for index, target in doc.entries("targets"):
        metric, subject = target.get("metric"), target.get("subject")
        if not isinstance(metric, str) or not isinstance(subject, str | None):
            continue
        rule = METRIC_RULES.get(metric)
        if rule is not None:
            yield from _target_problems(doc, ("targets", index), target, rule)


def _target_problems(
    doc: Document, path: FieldPath, target: dict[str, Any], rule: MetricRule
) -> Problems:
    metric, subject = target["metric"], target.get("subject")
    keys = doc.dimensions if rule.kind == "dimension" else doc.items
    fitting = [key for key in keys if rule.accepts(doc, key)]
    if subject is None and rule.required:
        yield doc.problem(
            (*path, "subject"), f"is missing: {metric} needs {rule.needs} ({_choices(fitting)})"
        )
        return
    if subject is None and not fitting:
        yield doc.problem(
            (*path, "metric"), f"{metric} needs {rule.needs}; this instrument has none"
        )
        return
    if isinstance(subject, str) and subject not in fitting:
        yield doc.problem(
            (*path, "subject"),
            f"{quoted(subject)} is not {rule.needs} ({_choices(fitting)})",
        )
        return
    threshold = target.get("threshold")
    bounds = rule.bounds(doc, subject if subject is not None else (fitting or [None])[0])
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or bounds is None:
        return
    if not bounds[0] <= threshold <= bounds[1]:
        hint = " (a share: 0.6 means 60%)" if metric == "csat_top2" else ""
        yield doc.problem(
            (*path, "threshold"),
            f"{threshold:g} is outside the possible values of {metric}, "
            f"{bounds[0]:g} to {bounds[1]:g}{hint}",
        )


def _choices(keys: list[str]) -> str:
    return f"possible: {listing(keys)}" if keys else "this instrument has none"
