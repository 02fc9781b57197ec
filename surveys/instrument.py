"""The instrument: a versioned questionnaire as frozen, hashable dataclasses.

An ``Instrument`` is what the loader (``instrument_loader``) returns after the YAML has passed the
JSON Schema and the semantic checks. Every other part (forms, storage, import/export, analysis)
reads instruments through these types only, never the YAML.

Answer slots: each (item, measure) an item asks is one *slot*, named ``<item>__<measure>`` when the
item asks more than one measure and ``<item>`` alone otherwise. A 100-point importance allocation
over dimensions adds one slot per dimension, ``<dimension>__importance``. The slot name is the form
field name, the CSV column and the API field alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Measure(StrEnum):
    """What one answer slot measures."""

    EXPECTATION = "expectation"
    PERCEPTION = "perception"
    IMPORTANCE = "importance"
    RATING = "rating"
    NPS = "nps"
    CES = "ces"
    CHOICE = "choice"
    TEXT = "text"


#: Measures that may be asked together of one item, on the item's one scale.
PAIRED_MEASURES = frozenset({Measure.EXPECTATION, Measure.PERCEPTION, Measure.IMPORTANCE})
#: Measures answered with a number on a scale (everything except choice and text).
SCALED_MEASURES = frozenset(set(Measure) - {Measure.CHOICE, Measure.TEXT})


class Score(StrEnum):
    """Headline score an item feeds (``score:`` in the YAML)."""

    CSAT = "csat"  # top-2-box of a 5-point satisfaction rating
    NPS = "nps"  # 0-10 likelihood to recommend
    CES = "ces"  # customer effort, lower is less effort


@dataclass(frozen=True, slots=True)
class Text:
    """Text in one or more languages: ``(language, string)`` pairs, first is the default."""

    values: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, value: str | Mapping[str, str], default_language: str = "en") -> Text:
        if isinstance(value, str):
            return cls(((default_language, value),))
        return cls(tuple((lang, str(text)) for lang, text in value.items()))

    def get(self, language: str | None = None) -> str:
        """The text in ``language``, else in its base language (``zh`` for ``zh-Hant``), else
        the first one given."""
        table = dict(self.values)
        if language:
            if language in table:
                return table[language]
            base = language.split("-")[0].lower()
            for lang, text in self.values:
                if lang.split("-")[0].lower() == base:
                    return text
        return self.values[0][1] if self.values else ""

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang, _ in self.values)

    def to_json(self) -> dict[str, str]:
        return dict(self.values)

    def __str__(self) -> str:
        return self.get()


@dataclass(frozen=True, slots=True)
class Scale:
    """Answer points ``min..max`` with optional anchor labels and a not-applicable choice."""

    key: str
    min: int
    max: int
    labels: tuple[tuple[int, Text], ...] = ()
    not_applicable: bool = False

    @property
    def points(self) -> int:
        return self.max - self.min + 1

    @property
    def values(self) -> range:
        return range(self.min, self.max + 1)

    def label(self, value: int, language: str | None = None) -> str | None:
        for point, text in self.labels:
            if point == value:
                return text.get(language)
        return None

    def reverse(self, value: float) -> float:
        """Recode a reverse-keyed answer: ``min + max - x`` (methods.md, Data conventions)."""
        return self.min + self.max - value


#: The fixed 0-10 scale of an NPS item (an instrument need not declare it).
NPS_SCALE = Scale(
    "nps",
    0,
    10,
    (
        (0, Text((("en", "Not at all likely"), ("zh-Hant", "完全不可能")))),
        (10, Text((("en", "Extremely likely"), ("zh-Hant", "非常可能")))),
    ),
)


@dataclass(frozen=True, slots=True)
class Option:
    """One answer of a choice item; ``segment`` set on a classification item's options."""

    key: str
    label: Text
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class Dimension:
    key: str
    label: Text
    description: Text | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One statement or question. ``measures`` is non-empty; scaled measures use ``scale``."""

    key: str
    text: Text
    measures: tuple[Measure, ...]
    dimension: str | None = None
    scale: str | None = None
    reverse: bool = False
    required: bool = True
    options: tuple[Option, ...] = ()
    score: Score | None = None
    classifies: str | None = None  # "segment": the chosen option's ``segment`` is the response's
    help: Text | None = None
    max_length: int = 2000  # text items only

    def slot_name(self, measure: Measure) -> str:
        return f"{self.key}__{measure}" if len(self.measures) > 1 else self.key


@dataclass(frozen=True, slots=True)
class Section:
    """A page of the survey: a title and the keys of its items, in order."""

    key: str
    title: Text | None
    items: tuple[str, ...]
    intro: Text | None = None


@dataclass(frozen=True, slots=True)
class Importance:
    """How importance is asked: a ``points`` allocation (``total``) over dimensions, or as an
    ``item`` measure (``importance`` in an item's measures)."""

    method: str  # "points" | "item"
    total: int = 100
    over: str = "dimensions"
    text: Text | None = None


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A service standard shipped with the instrument (the database may hold more).

    ``metric`` is one of ``dimension_gap``, ``item_gap``, ``csat_top2``, ``nps``, ``ces_mean``,
    ``rating_mean``; ``subject`` names the dimension or item where the metric needs one; ``scope``
    restricts it to segment / stage / channel values.
    """

    key: str
    metric: str
    threshold: float
    direction: str  # "at_least" | "at_most"
    subject: str | None = None
    scope: tuple[tuple[str, str], ...] = ()
    label: Text | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """One answer slot: the unit the form, the CSV column and the API field share."""

    name: str
    measure: Measure
    item: str | None  # None for an importance allocation slot
    dimension: str | None


@dataclass(frozen=True)
class Instrument:
    """A validated questionnaire. Immutable and hashable, so forms can be cached per version."""

    key: str
    version: int
    title: Text
    languages: tuple[str, ...]
    scales: tuple[Scale, ...]
    dimensions: tuple[Dimension, ...]
    items: tuple[Item, ...]
    sections: tuple[Section, ...]
    importance: Importance | None = None
    targets: tuple[TargetSpec, ...] = ()
    description: Text | None = None
    thanks: Text | None = None
    _index: dict[str, Any] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        self._index.update(
            items={item.key: item for item in self.items},
            scales={scale.key: scale for scale in self.scales},
            dimensions={dim.key: dim for dim in self.dimensions},
        )

    def __hash__(self) -> int:
        # Equal instruments share key and version, so this agrees with ``==``; hashing the
        # whole tree (the dataclass default) cost every cached form lookup a deep walk.
        return hash((self.key, self.version))

    # Lookups -------------------------------------------------------------------------------
    def item(self, key: str) -> Item:
        return self._index["items"][key]  # type: ignore[no-any-return]

    def dimension(self, key: str) -> Dimension:
        return self._index["dimensions"][key]  # type: ignore[no-any-return]

    def scale_of(self, item: Item) -> Scale:
        """The item's scale; NPS items use the fixed 0-10 scale."""
        if item.scale is None:
            if Measure.NPS in item.measures:
                return NPS_SCALE
            raise KeyError(f"item {item.key} has no scale")
        return self._index["scales"][item.scale]  # type: ignore[no-any-return]

    def dimension_items(self, dimension: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.dimension == dimension)

    def items_with(self, measure: Measure) -> tuple[Item, ...]:
        return tuple(item for item in self.items if measure in item.measures)

    def score_item(self, score: Score) -> Item | None:
        """The first item feeding a headline score, if any."""
        return next((item for item in self.items if item.score == score), None)

    @property
    def gap_items(self) -> tuple[Item, ...]:
        """Items that ask both expectation and perception, so have a gap."""
        return tuple(
            item
            for item in self.items
            if Measure.EXPECTATION in item.measures and Measure.PERCEPTION in item.measures
        )

    @property
    def allocates_importance(self) -> bool:
        return self.importance is not None and self.importance.method == "points"

    # Slots ---------------------------------------------------------------------------------
    def slots(self) -> tuple[Slot, ...]:
        """Every answer slot in questionnaire order, allocation slots last (worked out once)."""
        cached: tuple[Slot, ...] | None = self._index.get("slots")
        if cached is not None:
            return cached
        slots = [
            Slot(item.slot_name(measure), measure, item.key, item.dimension)
            for item in self.items
            for measure in item.measures
        ]
        if self.allocates_importance:
            slots += [
                Slot(f"{dim.key}__importance", Measure.IMPORTANCE, None, dim.key)
                for dim in self.dimensions
            ]
        self._index["slots"] = tuple(slots)
        return self._index["slots"]  # type: ignore[no-any-return]

    def slots_of(self, item: Item) -> Iterator[Slot]:
        for measure in item.measures:
            yield Slot(item.slot_name(measure), measure, item.key, item.dimension)

    # Identity ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form stored with each version (and hashed)."""
        from surveys.instrument_codec import instrument_to_json

        return instrument_to_json(self)

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
