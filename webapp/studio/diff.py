"""What changed between two instrument versions: a readable diff of their canonical JSON.

Keyed lists (items, dimensions, sections, targets) and the scales mapping are compared entry by
entry: an entry is added, removed or changed, and a changed one lists each field that differs
(``text.en``, ``measures``...) with its old and new value. Everything else is compared as a
top-level field. Values are shown as compact JSON text, escaped by the template like any text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Parts of the definition compared entry by entry, in the order they are shown.
KEYED = ("items", "dimensions", "scales", "sections", "targets")
#: Longest value shown in full.
VALUE_LENGTH = 300


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class EntryChange:
    key: str
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class PartDiff:
    """The changes of one part (``items``...): keys added and removed, entries changed."""

    name: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[EntryChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class InstrumentDiff:
    fields: tuple[FieldChange, ...] = ()
    parts: tuple[PartDiff, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.fields and all(part.empty for part in self.parts)


def diff_definitions(old: Mapping[str, Any], new: Mapping[str, Any]) -> InstrumentDiff:
    """The differences from ``old`` to ``new`` (two ``Instrument.to_json()`` documents); the
    version number itself is not a change."""
    top = sorted((set(old) | set(new)) - set(KEYED) - {"version", "key"})
    fields = tuple(
        change for name in top for change in _changes(name, old.get(name), new.get(name))
    )
    parts = tuple(_part(name, old.get(name), new.get(name)) for name in KEYED)
    return InstrumentDiff(fields, parts)


def _entries(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list):
        return {str(entry.get("key")): entry for entry in value if isinstance(entry, Mapping)}
    return {}


def _part(name: str, old: Any, new: Any) -> PartDiff:
    before, after = _entries(old), _entries(new)
    added = tuple(key for key in after if key not in before)
    removed = tuple(key for key in before if key not in after)
    changed = []
    for key in after:
        if key in before and before[key] != after[key]:
            changes = tuple(_changes("", before[key], after[key]))
            changed.append(EntryChange(key, changes))
    old_order = [key for key in before if key in after]
    new_order = [key for key in after if key in before]
    if old_order != new_order:
        changed.append(
            EntryChange("(order)", (FieldChange("order", _shown(old_order), _shown(new_order)),))
        )
    return PartDiff(name, added, removed, tuple(changed))


def _changes(path: str, old: Any, new: Any) -> Iterator[FieldChange]:
    """Leaf-level changes between two JSON values (mappings are walked, lists compared whole)."""
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in list(old) + [key for key in new if key not in old]:
            yield from _changes(f"{path}.{key}" if path else str(key), old.get(key), new.get(key))
        return
    yield FieldChange(path or "(value)", _shown(old), _shown(new))


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_LENGTH else text[: VALUE_LENGTH - 1] + "…"
