"""Instrument <-> canonical JSON, in the same grammar as the YAML files (docs/instruments.md).

``instrument_from_data`` turns a document that has already passed the loader's checks into an
``Instrument``; ``instrument_to_json`` writes it back in canonical form: every text as a mapping
of language to text, scales as ``min``/``max``, pages and an inferred ``importance`` spelled out.
The canonical form loads back to an equal ``Instrument``, and nothing in it depends on mapping
order (scales are sorted by key, labels by point, texts by the declared languages, scopes as
segment, stage, channel), so the content hash is stable even where a database reorders keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from surveys.instrument import (
    Dimension,
    Importance,
    Instrument,
    Item,
    Measure,
    Option,
    Scale,
    Score,
    Section,
    TargetSpec,
    Text,
)

DEFAULT_LANGUAGE = "en"
#: Order of a target's scope keys, in the JSON and in ``TargetSpec.scope``.
SCOPE_KEYS = ("segment", "stage", "channel")
#: Key of the default page that gathers the items outside any dimension.
REMAINING_SECTION = "overall"


def scale_bounds(spec: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(min, max)`` of a scale given as ``points`` (from 1) or as ``min`` and ``max``."""
    if "points" in spec and "min" not in spec and "max" not in spec:
        return 1, int(spec["points"])
    if "points" not in spec and "min" in spec and "max" in spec:
        return int(spec["min"]), int(spec["max"])
    return None


# Data -> Instrument --------------------------------------------------------------------------
def instrument_from_data(data: Mapping[str, Any]) -> Instrument:
    """The ``Instrument`` of a document that passed the schema and the semantic checks."""
    languages = tuple(data.get("languages") or (DEFAULT_LANGUAGE,))
    texts = _Texts(languages)
    dimensions = tuple(
        Dimension(spec["key"], texts(spec["label"]), texts.optional(spec.get("description")))
        for spec in data.get("dimensions", ())
    )
    items = tuple(_item(spec, texts) for spec in data["items"])
    sections = (
        tuple(_section(spec, texts) for spec in data["sections"])
        if "sections" in data
        else default_sections(dimensions, items)
    )
    return Instrument(
        key=data["key"],
        version=int(data["version"]),
        title=texts(data["title"]),
        languages=languages,
        scales=tuple(
            _scale(key, spec, texts) for key, spec in sorted(data.get("scales", {}).items())
        ),
        dimensions=dimensions,
        items=items,
        sections=sections,
        importance=_importance(data.get("importance"), items, texts),
        targets=tuple(_target(spec, texts) for spec in data.get("targets", ())),
        description=texts.optional(data.get("description")),
        thanks=texts.optional(data.get("thanks")),
    )


class _Texts:
    """Makes ``Text`` values in the instrument's language order (a plain string is the default
    language's)."""

    def __init__(self, languages: Sequence[str]) -> None:
        self.languages = tuple(languages)

    def __call__(self, value: str | Mapping[str, str]) -> Text:
        if isinstance(value, str):
            return Text(((self.languages[0], value),))
        return Text(tuple((lang, value[lang]) for lang in self.languages if lang in value))

    def optional(self, value: str | Mapping[str, str] | None) -> Text | None:
        return None if value is None else self(value)


def _scale(key: str, spec: Mapping[str, Any], texts: _Texts) -> Scale:
    bounds = scale_bounds(spec)
    if bounds is None:
        raise ValueError(f"scale {key} gives neither points nor min and max")
    labels = sorted((int(point), texts(label)) for point, label in spec.get("labels", {}).items())
    return Scale(key, *bounds, tuple(labels), bool(spec.get("not_applicable", False)))


def _item(spec: Mapping[str, Any], texts: _Texts) -> Item:
    extra: dict[str, Any] = {}
    if "max_length" in spec:
        extra["max_length"] = int(spec["max_length"])
    return Item(
        key=spec["key"],
        text=texts(spec["text"]),
        measures=tuple(Measure(measure) for measure in spec["measures"]),
        dimension=spec.get("dimension"),
        scale=spec.get("scale"),
        reverse=bool(spec.get("reverse", False)),
        required=bool(spec.get("required", True)),
        options=tuple(
            Option(option["key"], texts(option["label"]), option.get("segment"))
            for option in spec.get("options", ())
        ),
        score=Score(spec["score"]) if "score" in spec else None,
        classifies=spec.get("classifies"),
        help=texts.optional(spec.get("help")),
        **extra,
    )


def _section(spec: Mapping[str, Any], texts: _Texts) -> Section:
    return Section(
        spec["key"],
        texts.optional(spec.get("title")),
        tuple(spec["items"]),
        texts.optional(spec.get("intro")),
    )


def default_sections(dimensions: Sequence[Dimension], items: Sequence[Item]) -> tuple[Section, ...]:
    """Pages when a file gives none: one per dimension in order (titled with its label), then
    one for the items outside any dimension."""
    pages = [
        Section(dim.key, dim.label, keys, dim.description)
        for dim in dimensions
        if (keys := tuple(item.key for item in items if item.dimension == dim.key))
    ]
    remaining = tuple(item.key for item in items if item.dimension is None)
    if remaining:
        taken = {page.key for page in pages}
        key = REMAINING_SECTION if REMAINING_SECTION not in taken else f"{REMAINING_SECTION}_items"
        pages.append(Section(key, None, remaining))
    return tuple(pages)


def _importance(
    spec: Mapping[str, Any] | None, items: Sequence[Item], texts: _Texts
) -> Importance | None:
    if spec is None:
        asks = any(Measure.IMPORTANCE in item.measures for item in items)
        return Importance("item") if asks else None
    if spec["method"] == "item":
        return Importance("item")
    extra: dict[str, Any] = {}
    if "total" in spec:
        extra["total"] = int(spec["total"])
    if "over" in spec:
        extra["over"] = spec["over"]
    return Importance("points", text=texts.optional(spec.get("text")), **extra)


def _target(spec: Mapping[str, Any], texts: _Texts) -> TargetSpec:
    scope = spec.get("scope", {})
    return TargetSpec(
        key=spec["key"],
        metric=spec["metric"],
        threshold=float(spec["threshold"]),
        direction=spec["direction"],
        subject=spec.get("subject"),
        scope=tuple((name, scope[name]) for name in SCOPE_KEYS if name in scope),
        label=texts.optional(spec.get("label")),
    )


# Instrument -> canonical JSON ----------------------------------------------------------------
def instrument_to_json(instrument: Instrument) -> dict[str, Any]:
    """The canonical JSON of ``instrument`` (stored with each version and hashed)."""
    data: dict[str, Any] = {
        "key": instrument.key,
        "version": instrument.version,
        "title": instrument.title.to_json(),
        "languages": list(instrument.languages),
    }
    _put_text(data, "description", instrument.description)
    _put_text(data, "thanks", instrument.thanks)
    data["scales"] = {scale.key: _scale_json(scale) for scale in instrument.scales}
    data["dimensions"] = [_dimension_json(dim) for dim in instrument.dimensions]
    data["items"] = [_item_json(item) for item in instrument.items]
    data["sections"] = [_section_json(section) for section in instrument.sections]
    if instrument.importance is not None:
        data["importance"] = _importance_json(instrument.importance)
    data["targets"] = [_target_json(target) for target in instrument.targets]
    return data


def _put_text(data: dict[str, Any], name: str, text: Text | None) -> None:
    if text is not None:
        data[name] = text.to_json()


def _scale_json(scale: Scale) -> dict[str, Any]:
    return {
        "min": scale.min,
        "max": scale.max,
        "labels": {str(point): text.to_json() for point, text in scale.labels},
        "not_applicable": scale.not_applicable,
    }


def _dimension_json(dim: Dimension) -> dict[str, Any]:
    data: dict[str, Any] = {"key": dim.key, "label": dim.label.to_json()}
    _put_text(data, "description", dim.description)
    return data


def _item_json(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"key": item.key}
    if item.dimension is not None:
        data["dimension"] = item.dimension
    data["text"] = item.text.to_json()
    _put_text(data, "help", item.help)
    data["measures"] = [str(measure) for measure in item.measures]
    if item.scale is not None:
        data["scale"] = item.scale
    if item.reverse:
        data["reverse"] = True
    data["required"] = item.required
    if item.options:
        data["options"] = [_option_json(option) for option in item.options]
    if item.score is not None:
        data["score"] = str(item.score)
    if item.classifies is not None:
        data["classifies"] = item.classifies
    if Measure.TEXT in item.measures:
        data["max_length"] = item.max_length
    return data


def _option_json(option: Option) -> dict[str, Any]:
    data: dict[str, Any] = {"key": option.key, "label": option.label.to_json()}
    if option.segment is not None:
        data["segment"] = option.segment
    return data


def _section_json(section: Section) -> dict[str, Any]:
    data: dict[str, Any] = {"key": section.key}
    _put_text(data, "title", section.title)
    _put_text(data, "intro", section.intro)
    data["items"] = list(section.items)
    return data


def _importance_json(importance: Importance) -> dict[str, Any]:
    if importance.method != "points":
        return {"method": importance.method}
    data: dict[str, Any] = {
        "method": importance.method,
        "total": importance.total,
        "over": importance.over,
    }
    _put_text(data, "text", importance.text)
    return data


def _target_json(target: TargetSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"key": target.key, "metric": target.metric}
    if target.subject is not None:
        data["subject"] = target.subject
    data["threshold"] = target.threshold
    data["direction"] = target.direction
    if target.scope:
        data["scope"] = dict(target.scope)
    _put_text(data, "label", target.label)
    return data
