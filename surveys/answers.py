"""Answers checked against an instrument: the one validator behind the survey form, the API and the
CSV import, and the mapping between answer slots and ``Answer`` rows.

Raw values are strings keyed by slot name (``<item>__<measure>`` or ``<item>``); ``""`` or a
missing key is *not answered* and ``NA`` (any case) is *not applicable* (both are missing for
analysis, counted apart).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from surveys.errors import AnswerError, FieldProblem
from surveys.instrument import Instrument, Measure, Slot
from surveys.models.responses import NA

NOT_APPLICABLE = "NA"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

#: Answer column of each measure, and the bit marking it not applicable.
COLUMN_OF: dict[Measure, tuple[str, int]] = {
    Measure.EXPECTATION: ("expectation", NA.EXPECTATION),
    Measure.PERCEPTION: ("perception", NA.PERCEPTION),
    Measure.IMPORTANCE: ("importance", NA.IMPORTANCE),
    Measure.RATING: ("value", NA.VALUE),
    Measure.NPS: ("value", NA.VALUE),
    Measure.CES: ("value", NA.VALUE),
    Measure.CHOICE: ("text", NA.VALUE),
    Measure.TEXT: ("text", NA.VALUE),
}


@dataclass(frozen=True)
class AnswerSet:
    """Valid answers of one response: ``values`` (int for scaled slots and allocation points,
    str for choice keys and text) and the slots answered not applicable."""

    values: Mapping[str, int | str] = field(default_factory=dict)
    not_applicable: frozenset[str] = frozenset()

    def raw(self) -> dict[str, str]:
        """Back to raw strings (the inverse of ``parse_answers``)."""
        raw = {slot: str(value) for slot, value in self.values.items()}
        raw.update(dict.fromkeys(self.not_applicable, NOT_APPLICABLE))
        return raw


def parse_answers(
    instrument: Instrument,
    raw: Mapping[str, Any],
    *,
    require_complete: bool = True,
    strict: bool = False,
    slots: Iterable[Slot] | None = None,
) -> AnswerSet:
    """Check ``raw`` against ``instrument`` and return the typed answers.

    ``require_complete`` enforces required items (the survey page and the API; an import of
    historical data keeps its gaps). ``strict`` refuses keys that are no slot (the API; a form
    carries other fields). ``slots`` limits the check to some slots (one page of a paged survey).
    Every problem is collected and raised at once as ``AnswerError``.
    """
    chosen = tuple(slots) if slots is not None else instrument.slots()
    rules = _rules(instrument)
    problems: list[FieldProblem] = []
    values: dict[str, int | str] = {}
    not_applicable: set[str] = set()

    if strict:
        problems += [
            FieldProblem(str(key)[:80] or '""', "is not a question of this survey")
            for key in raw
            if key not in rules
        ]

    for slot in chosen:
        value = raw.get(slot.name)
        if value is None:
            continue
        rule = rules[slot.name]
        if isinstance(value, str):
            stripped = value.strip()
            if rule.kind is None and stripped.isdecimal() and len(value) < _MAX_DIGITS:
                # The common case, a rating posted by a form: what _parse_int does, sooner.
                number = _in_range(slot.name, int(stripped), rule.low, rule.high)
                if isinstance(number, FieldProblem):
                    problems.append(number)
                else:
                    values[slot.name] = number
                continue
            if not stripped:
                continue
            if stripped.upper() == NOT_APPLICABLE:
                if rule.not_applicable:
                    not_applicable.add(slot.name)
                else:
                    problems.append(FieldProblem(slot.name, "“not applicable” is not offered here"))
                continue
        parsed = rule.parse(slot.name, value)
        if isinstance(parsed, FieldProblem):
            problems.append(parsed)
        else:
            values[slot.name] = parsed

    if require_complete:
        problems += [
            FieldProblem(slot.name, "please answer this question")
            for slot in chosen
            if rules[slot.name].required
            and slot.name not in values
            and slot.name not in not_applicable
        ]
    problems += _allocation_problems(instrument, chosen, values)
    if problems:
        raise AnswerError(problems)
    return AnswerSet(values, frozenset(not_applicable))


@dataclass(frozen=True, slots=True)
class _Rule:
    """How one slot's raw value is checked, worked out once per instrument (``_rules``)."""

    kind: Measure | None  # TEXT, CHOICE, or None for a whole number from low to high
    low: int = 0
    high: int = 0
    not_applicable: bool = False
    required: bool = False
    max_length: int = 0
    options: tuple[str, ...] = ()

    def parse(self, name: str, value: Any) -> int | str | FieldProblem:
        if self.kind is Measure.TEXT:
            if not isinstance(value, str):
                return FieldProblem(name, "must be text")
            if "\x00" in value:
                return FieldProblem(name, "contains a NUL character, which cannot be stored")
            if _LONE_SURROGATE.search(value):  # a JSON "\ud800" escape: no UTF-8 can hold it
                return FieldProblem(name, "contains an invalid character (a lone surrogate)")
            if len(value) > self.max_length:
                return FieldProblem(name, f"is longer than {self.max_length} characters")
            return value
        if self.kind is Measure.CHOICE:
            if not isinstance(value, str) or value not in self.options:
                return FieldProblem(name, "choose one of the options given")
            return value
        return _parse_int(name, value, self.low, self.high)


@functools.lru_cache(maxsize=64)
def _rules(instrument: Instrument) -> dict[str, _Rule]:
    """The rule of every slot of ``instrument``, by slot name."""
    rules = {}
    for slot in instrument.slots():
        if slot.item is None:  # importance allocation points
            total = instrument.importance.total if instrument.importance else 100
            rules[slot.name] = _Rule(None, 0, total)
            continue
        item = instrument.item(slot.item)
        if slot.measure is Measure.TEXT:
            rule = _Rule(Measure.TEXT, required=item.required, max_length=item.max_length)
        elif slot.measure is Measure.CHOICE:
            options = tuple(option.key for option in item.options)
            rule = _Rule(Measure.CHOICE, required=item.required, options=options)
        else:
            scale = instrument.scale_of(item)
            rule = _Rule(
                None,
                scale.min,
                scale.max,
                not_applicable=slot.measure is not Measure.NPS and scale.not_applicable,
                required=item.required,
            )
        rules[slot.name] = rule
    return rules


#: A posted whole number is shorter than this (longer digit strings are refused unparsed).
_MAX_DIGITS = 12


def _parse_int(name: str, value: Any, low: int, high: int) -> int | FieldProblem:
    if isinstance(value, bool):
        return FieldProblem(name, f"must be a whole number from {low} to {high}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif (
        isinstance(value, str)
        and value.strip().lstrip("-").isdecimal()
        and len(value) < _MAX_DIGITS
    ):
        number = int(value.strip())
    else:
        return FieldProblem(name, f"must be a whole number from {low} to {high}")
    return _in_range(name, number, low, high)


def _in_range(name: str, number: int, low: int, high: int) -> int | FieldProblem:
    if not low <= number <= high:
        return FieldProblem(name, f"must be from {low} to {high}")
    return number


def _allocation_problems(
    instrument: Instrument, slots: tuple[Slot, ...], values: Mapping[str, int | str]
) -> list[FieldProblem]:
    allocation = [slot.name for slot in slots if slot.item is None]
    given = [name for name in allocation if name in values]
    if not given or instrument.importance is None:
        return []
    total = instrument.importance.total
    if len(given) < len(allocation):
        missing = [name for name in allocation if name not in values]
        return [FieldProblem(name, "give every area points (0 is allowed)") for name in missing]
    spent = sum(int(values[name]) for name in allocation)
    if spent != total:
        return [
            FieldProblem(
                allocation[0], f"the points must add up to {total}; they add up to {spent}"
            )
        ]
    return []


def segment_from_answers(instrument: Instrument, answers: AnswerSet) -> str | None:
    """The segment a classification item's chosen option maps to, if the instrument has one."""
    for item in instrument.items:
        if item.classifies == "segment":
            chosen = answers.values.get(item.slot_name(Measure.CHOICE))
            for option in item.options:
                if option.key == chosen and option.segment:
                    return option.segment
    return None


# Slots <-> Answer rows ------------------------------------------------------------------------
def answer_rows(instrument: Instrument, answers: AnswerSet) -> list[dict[str, Any]]:
    """One ``Answer`` column mapping per item answered (and per allocated dimension)."""
    rows: dict[str, dict[str, Any]] = {}
    for slot in instrument.slots():
        answered = slot.name in answers.values
        na = slot.name in answers.not_applicable
        if not (answered or na):
            continue
        key = slot.item or slot.dimension or ""
        row = rows.setdefault(key, {"item": key, "na_mask": 0})
        column, bit = COLUMN_OF[slot.measure]
        if na:
            row["na_mask"] |= bit
        else:
            row[column] = answers.values[slot.name]
    return list(rows.values())


def answers_from_rows(instrument: Instrument, rows: Iterable[Any]) -> AnswerSet:
    """Rebuild an ``AnswerSet`` from stored ``Answer`` rows (objects or mappings)."""
    by_item = {_get(row, "item"): row for row in rows}
    values: dict[str, int | str] = {}
    na: set[str] = set()
    for slot in instrument.slots():
        key = slot.item if slot.item is not None else slot.dimension
        row = by_item.get(key)
        if row is None:
            continue
        column, bit = COLUMN_OF[slot.measure]
        if (_get(row, "na_mask") or 0) & bit:
            na.add(slot.name)
        elif (value := _get(row, column)) is not None:
            values[slot.name] = value
    return AnswerSet(values, frozenset(na))


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)
