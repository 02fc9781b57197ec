"""Semantic checks of an instrument document, run after its JSON Schema.

The schema says what each field may hold; these checks say how the fields fit together (known
keys, scales that fit their measures, texts in every language, pages and importance that add
up). Each check takes a ``Document`` and yields every ``InstrumentProblem`` it finds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from surveys.instrument import PAIRED_MEASURES, Measure
from surveys.instrument_document import (
    ON_OWN_SCALE,
    Document,
    Problems,
    declared,
    duplicate_keys,
    listing,
    measures_of,
    unknown,
)
from surveys.instrument_target_checks import check_targets
from surveys.instrument_yaml import FieldPath, field_name, quoted


def _text_fields(doc: Document) -> Iterator[tuple[FieldPath, Any]]:
    """Every text of the document, with its path."""
    for name in ("title", "description", "thanks"):
        if name in doc.data:
            yield (name,), doc.data[name]
    scales = doc.data.get("scales")
    for key, spec in scales.items() if isinstance(scales, dict) else ():
        labels = spec.get("labels") if isinstance(spec, dict) else None
        for point, label in labels.items() if isinstance(labels, dict) else ():
            yield ("scales", key, "labels", point), label
    fields = {
        "dimensions": ("label", "description"),
        "items": ("text", "help"),
        "sections": ("title", "intro"),
        "targets": ("label",),
    }
    for name, texts in fields.items():
        for index, entry in doc.entries(name):
            for text in texts:
                if text in entry:
                    yield (name, index, text), entry[text]
    for index, item in doc.entries("items"):
        options = item.get("options")
        for number, option in enumerate(options) if isinstance(options, list) else ():
            if isinstance(option, dict) and "label" in option:
                yield ("items", index, "options", number, "label"), option["label"]
    importance = doc.data.get("importance")
    if isinstance(importance, dict) and "text" in importance:
        yield ("importance", "text"), importance["text"]


LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")  # others are the schema's to report


def check_languages(doc: Document) -> Problems:
    """Every text gives every declared language, and no other."""
    languages = doc.languages
    for path, value in _text_fields(doc):
        if isinstance(value, str) and len(languages) > 1:
            yield doc.problem(
                path,
                f"is plain text, which counts as {languages[0]} only; give a mapping with "
                f"{listing(languages)} (the languages of this instrument)",
            )
        elif isinstance(value, dict):
            for lang in value:
                if lang not in languages and LANGUAGE.fullmatch(lang):
                    yield doc.problem(
                        (*path, lang),
                        f"language {quoted(lang)} is not in languages ({listing(languages)})",
                    )
            missing = [lang for lang in languages if lang not in value]
            if missing:
                yield doc.problem(path, f"has no {listing(missing)} text; give every language")


def check_scales(doc: Document) -> Problems:
    """Each scale gives points or min and max, and labels only its own points."""
    scales = doc.data.get("scales")
    for key, spec in scales.items() if isinstance(scales, dict) else ():
        if not isinstance(spec, dict):
            continue
        path: FieldPath = ("scales", key)
        has = {name for name in ("points", "min", "max") if name in spec}
        if "points" in has and has & {"min", "max"}:
            yield doc.problem((*path, "points"), "give either points or min and max, not both")
        elif not has:
            yield doc.problem(path, "is missing its points (e.g. points: 5) or min and max")
        elif has in ({"min"}, {"max"}):
            missing = ({"min", "max"} - has).pop()
            yield doc.problem((*path, missing), "is missing; give both min and max")
        bounds = doc.scales.get(key)
        if bounds is None:
            continue
        low, high = bounds
        if low >= high:
            yield doc.problem((*path, "max"), f"must be greater than min ({low}); got {high}")
            continue
        yield from _label_points(doc, path, spec.get("labels"), low, high)


def _label_points(doc: Document, path: FieldPath, labels: Any, low: int, high: int) -> Problems:
    seen: dict[int, str] = {}
    for point in labels if isinstance(labels, dict) else ():
        if not re.fullmatch(r"-?[0-9]{1,3}", point):
            continue
        number = int(point)
        where = (*path, "labels", point)
        if not low <= number <= high:
            yield doc.problem(where, f"point {number} is outside the scale ({low} to {high})")
        elif number in seen:
            yield doc.problem(where, f"labels point {number} again (as {quoted(seen[number])})")
        seen[number] = point


def check_dimensions(doc: Document) -> Problems:
    """Dimension keys are unique and each dimension has items."""
    yield from duplicate_keys(doc, "dimensions")
    used = {dim for item in doc.items.values() if isinstance(dim := item.get("dimension"), str)}
    for key, index in doc.dimensions.items():
        if key not in used and doc.items:
            yield doc.problem(
                ("dimensions", index),
                f"dimension {quoted(key)} has no items; give items dimension: {key}, or remove it",
            )


# One item's rules: each takes the document, the item's path and the item.
ItemRule = Callable[[Document, FieldPath, dict[str, Any]], Problems]


def _item_key(doc: Document, path: FieldPath, item: dict[str, Any]) -> Problems:
    key = item.get("key")
    if isinstance(key, str) and key in doc.dimensions:
        yield doc.problem(
            (*path, "key"),
            f"{quoted(key)} is also a dimension key; item and dimension keys must differ "
            "(their answer columns would collide)",
        )


def _item_dimension(doc: Document, path: FieldPath, item: dict[str, Any]) -> Problems:
    dim = item.get("dimension")
    if isinstance(dim, str) and dim not in doc.dimensions:
        yield doc.problem((*path, "dimension"), unknown("dimension", dim, doc.dimensions))


def _item_measures(doc: Document, path: FieldPath, item: dict[str, Any]) -> Problems:
    measures = measures_of(item)
    alone = [str(m) for m in measures if m not in PAIRED_MEASURES]
    if alone and len(measures) > 1:
        yield doc.problem(
            (*path, "measures"),
            f"{listing(alone)} must be asked alone; only expectation, perception and "
            "importance may be asked together (on the item's one scale)",
        )


def _item_scale(doc: Document, path: FieldPath, item: dict[str, Any]) -> Problems:
    measures = measures_of(item)
    scaled = [str(m) for m in measures if m in ON_OWN_SCALE]
    scale, where = item.get("scale"), (*path, "scale")
    if "scale" not in item:
        if scaled:
            known = declared("scales", doc.scales)
            yield doc.problem(where, f"is missing: {listing(scaled)} need a scale; {known}")
    elif measures == [Measure.NPS]:
        yield doc.problem(where, "an nps item always uses the 0 to 10 scale; remove scale")
    elif not scaled:
        yield doc.problem(where, f"a {measures[0]} item has no scale; remove scale")
    elif isinstance(scale, str) and scale not in doc.scales:
        yield doc.problem(where, unknown("scale", scale, doc.scales))


def _item_options(doc: Document, path: FieldPath, item: dict[str, Any]) -> Problems:
    is_choice = measures_of(item) == [Measure.CHOICE]
    if is_choice and "options" not in item:
        yield doc.problem((*path, "options"), "is missing: a choice item needs options")
    elif "options" in item and not is_choice:
        yield doc.problem((*path, "options"), "only choice items have options; remove them")
    options = item.get("options")
    first: dict[str, int] = {}
    for number, option in enumerate(options) if isinstance(options, list) else ():
        key = option.get("key") if isinstance(option, dict) else None
        if not isinstance(key, str):
            continue
        if key in first:
            earlier = field_name((*path, "options", first[key]))
            yield doc.problem(
                (*path, "options", number, "key"),
                f"{quoted(key)} is already the key of {earlier}; option keys must be unique",
            )
        first.setdefault(key, number)


def _item_flags(doc: Document, path: FieldPath, item: dict[str, Any]) -> Problems:
    measures = measures_of(item)
    if item.get("reverse") is True and not ON_OWN_SCALE.intersection(measures):
        yield doc.problem(
            (*path, "reverse"), "only items answered on a scale (not nps) can be reverse-keyed"
        )
    if "max_length" in item and measures != [Measure.TEXT]:
        yield doc.problem((*path, "max_length"), "applies to text items only; remove it")


def _needs_single(measure: Measure, points: int | None = None) -> Callable[..., bool]:
    def accepts(doc: Document, item: dict[str, Any]) -> bool:
        if measures_of(item) != [measure]:
            return False
        bounds = doc.bounds_of(item)
        return points is None or (bounds is not None and bounds[1] - bounds[0] + 1 == points)

    return accepts


#: What each headline score needs of its item: (wording, test).
SCORE_RULES: dict[str, tuple[str, Callable[[Document, dict[str, Any]], bool]]] = {
    "csat": ("a single rating on a 5-point scale", _needs_single(Measure.RATING, 5)),
    "nps": ("the single measure nps", _needs_single(Measure.NPS)),
    "ces": ("the single measure ces", _needs_single(Measure.CES)),
}


def _item_score(doc: Document, path: FieldPath, item: dict[str, Any]) -> Problems:
    score = item.get("score")
    if not isinstance(score, str) or score not in SCORE_RULES:
        return
    wording, accepts = SCORE_RULES[score]
    if not accepts(doc, item):
        yield doc.problem((*path, "score"), f"score {score} needs {wording}; {_asks(doc, item)}")


def _asks(doc: Document, item: dict[str, Any]) -> str:
    asked = f"this item asks {listing(str(m) for m in measures_of(item))}"
    scale = item.get("scale")
    bounds = doc.scales.get(scale) if isinstance(scale, str) else None
    if bounds is not None:
        asked += f" on scale {scale} ({bounds[1] - bounds[0] + 1} points)"
    return asked


def _item_classifies(doc: Document, path: FieldPath, item: dict[str, Any]) -> Problems:
    options = item.get("options") if isinstance(item.get("options"), list) else []
    with_segment = [o for o in options if isinstance(o, dict) and "segment" in o]
    if item.get("classifies") != "segment":
        if with_segment:
            yield doc.problem(
                (*path, "options"),
                "options name segments, but the item does not say classifies: segment",
            )
        return
    if measures_of(item) != [Measure.CHOICE]:
        yield doc.problem(
            (*path, "classifies"), "classifies: segment needs a choice item (measures: [choice])"
        )
    for number, option in enumerate(options):
        if isinstance(option, dict) and "segment" not in option:
            yield doc.problem(
                (*path, "options", number),
                "is missing segment: each option of a classifying item names its segment",
            )


#: Rules for every item, then rules that need a valid combination of measures.
ITEM_RULES: tuple[ItemRule, ...] = (_item_key, _item_dimension, _item_measures)
MEASURED_ITEM_RULES: tuple[ItemRule, ...] = (
    _item_scale,
    _item_options,
    _item_flags,
    _item_score,
    _item_classifies,
)


def check_items(doc: Document) -> Problems:
    """Item keys are unique; each item passes the rules above."""
    yield from duplicate_keys(doc, "items")
    for index, item in doc.entries("items"):
        measures = measures_of(item)
        combined = len(measures) == 1 or set(measures) <= PAIRED_MEASURES
        rules = ITEM_RULES + (MEASURED_ITEM_RULES if measures and combined else ())
        for rule in rules:
            yield from rule(doc, ("items", index), item)


def check_single_uses(doc: Document) -> Problems:
    """At most one item feeds each headline score, and at most one classifies the segment."""
    uses: dict[tuple[str, str], list[int]] = {}
    for index, item in doc.entries("items"):
        for name in ("score", "classifies"):
            if isinstance(value := item.get(name), str):
                uses.setdefault((name, value), []).append(index)
    for (name, value), indexes in uses.items():
        first = field_name(("items", indexes[0]))
        for index in indexes[1:]:
            message = f"{first} already has {name}: {value}; only one item may"
            yield doc.problem(("items", index, name), message)


def check_sections(doc: Document) -> Problems:
    """Pages list known items, each item on exactly one page."""
    if "sections" not in doc.data:
        return
    yield from duplicate_keys(doc, "sections")
    placed: dict[str, FieldPath] = {}
    complete = isinstance(doc.data["sections"], list)
    for index, section in doc.entries("sections"):
        keys = section.get("items")
        complete = complete and isinstance(keys, list)
        for number, key in enumerate(keys) if isinstance(keys, list) else ():
            path: FieldPath = ("sections", index, "items", number)
            if not isinstance(key, str):
                complete = False
            elif key not in doc.items:
                yield doc.problem(path, unknown("item", key, doc.items))
            elif key in placed:
                yield doc.problem(
                    path,
                    f"item {quoted(key)} is already on page {field_name(placed[key][:2])} "
                    f"(line {doc.line(placed[key])}); an item appears on one page only",
                )
            else:
                placed[key] = path
    if not complete or len(doc.entries("sections")) != len(doc.data["sections"]):
        return
    for key in doc.items:
        if key not in placed:
            index = doc.keyed("items")[key]
            yield doc.problem(
                ("items", index), f"item {quoted(key)} is on no page; add it to a section"
            )


def check_importance(doc: Document) -> Problems:
    """A points allocation needs dimensions; ``method: item`` needs items asking importance."""
    spec = doc.data.get("importance")
    if not isinstance(spec, dict):
        return
    asking = [i for i, item in doc.entries("items") if Measure.IMPORTANCE in measures_of(item)]
    if spec.get("method") == "points":
        if len(doc.dimensions) < 2:
            yield doc.problem(
                ("importance", "method"),
                f"a points allocation is shared over dimensions and needs at least two; "
                f"{declared('dimensions', doc.dimensions)}",
            )
        for index in asking:
            yield doc.problem(
                ("items", index, "measures"),
                "importance is asked by the points allocation (importance: method: points); "
                "remove importance from this item's measures",
            )
    elif spec.get("method") == "item":
        for name in ("total", "over", "text"):
            if name in spec:
                yield doc.problem(
                    ("importance", name), "applies to a points allocation only (method: points)"
                )
        if not asking:
            yield doc.problem(
                ("importance", "method"),
                "method item needs items that ask importance (e.g. measures: "
                "[expectation, perception, importance]); none do",
            )


#: The semantic checks, run in order after the schema; each yields its problems.
CHECKS: tuple[Callable[[Document], Problems], ...] = (
    check_languages,
    check_scales,
    check_dimensions,
    check_items,
    check_single_uses,
    check_sections,
    check_importance,
    check_targets,
)
