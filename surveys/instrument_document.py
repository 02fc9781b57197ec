"""The loaded instrument document with its lines, and its JSON Schema problems in plain words.

``Document`` gives the semantic checks well-formed views of the data (the schema reports the
malformed parts, which the checks then skip) and turns a field path into a problem that names
the file, the line and the field. The wording helpers here keep every message in the same voice.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache, cached_property
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from surveys.errors import InstrumentProblem
from surveys.instrument import SCALED_MEASURES, Measure
from surveys.instrument_codec import scale_bounds
from surveys.instrument_yaml import FieldPath, field_name, quoted

Problems = Iterator[InstrumentProblem]


# Wording ---------------------------------------------------------------------------------------
def listing(words: Iterable[str], limit: int = 12) -> str:
    """``a, b, c``; a long list ends with ``and 3 more``, an empty one reads ``none``."""
    shown = list(words)
    if len(shown) > limit:
        return ", ".join(shown[:limit]) + f" and {len(shown) - limit} more"
    return ", ".join(shown) or "none"


def unknown(what: str, value: str, known: Iterable[str]) -> str:
    """``unknown scale "agree5" (did you mean "agree7"?); declared scales are agree7, sat5``."""
    keys = sorted(known)
    message = f"unknown {what} {quoted(value)}"
    if close := difflib.get_close_matches(value, keys, n=1):
        message += f" (did you mean {quoted(close[0])}?)"
    return f"{message}; {declared(what + 's', keys)}"


def declared(what: str, keys: Iterable[str]) -> str:
    """``declared scales are agree7, sat5`` or ``no scales are declared``."""
    keys = sorted(keys)
    return f"declared {what} are {listing(keys)}" if keys else f"no {what} are declared"


class Document:
    """The loaded data with its lines, and well-formed views of it for the semantic checks
    (the schema reports the malformed parts, which the checks then skip)."""

    def __init__(self, data: Any, source: str, lines: Mapping[FieldPath, int]) -> None:
        self.data = data if isinstance(data, dict) else {}
        self.raw = data
        self.source = source
        self.lines = lines

    def problem(self, path: FieldPath, message: str) -> InstrumentProblem:
        return InstrumentProblem(self.source, self.line(path), field_name(path), message)

    def line(self, path: FieldPath) -> int | None:
        for end in range(len(path), -1, -1):
            if (line := self.lines.get(path[:end])) is not None:
                return line
        return None

    def entries(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        """``(position, mapping)`` of a top-level list's well-formed entries."""
        value = self.data.get(name)
        if not isinstance(value, list):
            return []
        return [(index, entry) for index, entry in enumerate(value) if isinstance(entry, dict)]

    def keyed(self, name: str) -> dict[str, int]:
        """Position of the first entry with each key in a top-level list."""
        found: dict[str, int] = {}
        for index, entry in self.entries(name):
            if isinstance(key := entry.get("key"), str):
                found.setdefault(key, index)
        return found

    @cached_property
    def languages(self) -> list[str]:
        value = self.data.get("languages")
        if not isinstance(value, list):
            return ["en"]
        return [lang for lang in value if isinstance(lang, str)] or ["en"]

    @cached_property
    def items(self) -> dict[str, dict[str, Any]]:
        return {key: self.data["items"][index] for key, index in self.keyed("items").items()}

    @cached_property
    def dimensions(self) -> dict[str, int]:
        return self.keyed("dimensions")

    @cached_property
    def scales(self) -> dict[str, tuple[int, int] | None]:
        value = self.data.get("scales")
        if not isinstance(value, dict):
            return {}
        return {
            key: _bounds(spec) if isinstance(spec, dict) else None for key, spec in value.items()
        }

    def bounds_of(self, item: Mapping[str, Any]) -> tuple[int, int] | None:
        if measures_of(item) == [Measure.NPS]:
            return 0, 10
        scale = item.get("scale")
        return self.scales.get(scale) if isinstance(scale, str) else None


def _bounds(spec: Mapping[str, Any]) -> tuple[int, int] | None:
    if not all(_is_whole(spec.get(name, 0)) for name in ("points", "min", "max")):
        return None
    return scale_bounds(spec)


def _is_whole(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def measures_of(item: Mapping[str, Any]) -> list[Measure]:
    """The item's valid measures (unknown names are the schema's to report)."""
    value = item.get("measures")
    if not isinstance(value, list):
        return []
    return [Measure(name) for name in value if isinstance(name, str) and name in _MEASURES]


_MEASURES = frozenset(measure.value for measure in Measure)
#: Measures answered on the item's own scale (an nps item always uses 0 to 10).
ON_OWN_SCALE = SCALED_MEASURES - {Measure.NPS}


def duplicate_keys(doc: Document, name: str) -> Problems:
    """Each entry of a top-level list whose key an earlier entry already has."""
    first = doc.keyed(name)
    for index, entry in doc.entries(name):
        key = entry.get("key")
        if isinstance(key, str) and first[key] != index:
            earlier = (name, first[key])
            yield doc.problem(
                (name, index, "key"),
                f"{quoted(key)} is already the key of {field_name(earlier)} "
                f"(line {doc.line(earlier)}); keys must be unique",
            )


# JSON Schema -----------------------------------------------------------------------------------
@cache
def schema() -> dict[str, Any]:
    """The JSON Schema, read once and shared: callers must not change it."""
    text = resources.files("surveys").joinpath("instrument_schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def limit_problems(doc: Document) -> list[InstrumentProblem]:
    """List lengths over the schema's caps, checked before the (slower) full validation."""
    problems = []
    for name, spec in schema()["properties"].items():
        value = doc.data.get(name)
        limit = spec.get("maxItems")
        if isinstance(value, list) and limit is not None and len(value) > limit:
            problems.append(doc.problem((name,), _LIMIT_MESSAGES["maxItems"](value, limit)))
    return problems


def schema_problems(doc: Document) -> list[InstrumentProblem]:
    """Every schema error of the document, in plain words."""
    if doc.raw is None:
        return []
    return [
        doc.problem(path, message)
        for error in _validator().iter_errors(doc.raw)
        for path, message in _described(error)
    ]


COMMA_HINT = " (a comma inside {...} starts a new field: put such text in quotes)"
_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping (name: value lines)",
}


def _described(error: ValidationError) -> Iterator[tuple[FieldPath, str]]:
    """Plain-words problems (field path, message) for one schema error."""
    path: FieldPath = tuple(error.absolute_path)
    kind, limit, value = error.validator, error.validator_value, error.instance
    about = error.schema.get("description") if path and isinstance(error.schema, dict) else None
    if "propertyNames" in error.relative_schema_path:
        message = f"{quoted(value)} is not allowed here: use {about}"
        yield (*path, str(value)), message + (COMMA_HINT if " " in str(value) else "")
    elif kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(error.schema.get("properties", {}))
        for name in value:
            if name not in allowed:
                message = f"unknown field; the fields allowed here are {listing(allowed)}"
                yield (*path, name), message + (COMMA_HINT if value[name] is None else "")
    elif kind == "required" and isinstance(value, dict):
        for name in limit:
            if name not in value:
                yield (*path, name), "is missing; it is required here"
    elif kind == "type":
        wanted = about or " or ".join(_TYPE_WORDS.get(t, t) for t in _as_list(limit))
        yield path, f"must be {wanted}; got {quoted(value)}"
    elif kind == "enum":
        yield path, f"must be one of {listing(map(str, limit))}; got {quoted(value)}"
    elif kind == "pattern":
        yield path, f"{quoted(value)} is not {about or 'in the expected form'}"
    else:
        yield path, _LIMIT_MESSAGES.get(kind, _fallback)(value, limit)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _fallback(value: Any, limit: Any) -> str:
    return "is not valid here"


_LIMIT_MESSAGES: dict[str, Callable[[Any, Any], str]] = {
    "minLength": lambda value, limit: "must not be empty",
    "maxLength": lambda value, limit: (
        f"is {len(value):,} characters long; at most {limit:,} are allowed"
    ),
    "minimum": lambda value, limit: f"must be at least {limit}; got {quoted(value)}",
    "maximum": lambda value, limit: f"must be at most {limit}; got {quoted(value)}",
    "minItems": lambda value, limit: (
        "must not be empty" if limit == 1 else f"must list at least {limit} entries"
    ),
    "maxItems": lambda value, limit: f"lists {len(value):,} entries; at most {limit:,} are allowed",
    "uniqueItems": lambda value, limit: "lists the same value more than once",
    "minProperties": lambda value, limit: "must not be empty",
    "maxProperties": lambda value, limit: (
        f"has {len(value):,} entries; at most {limit} are allowed"
    ),
}
