"""Instrument files: safe YAML with line numbers -> JSON Schema -> semantic checks -> Instrument.

The public entry points; each stage lives in its own module. ``instrument_yaml`` reads hostile
files safely (security.md §1.3, threat T6): the size is checked before anything is parsed, the
document is built straight from the parser's events (no anchors, aliases or tags other than
``!!str``; depth and node count capped; duplicate keys reported) and every node keeps its line.
``instrument_document`` holds the loaded ``Document`` and its JSON Schema problems,
``instrument_checks`` (with ``instrument_target_checks``) the semantic checks, and
``instrument_codec`` builds the ``Instrument``. Every problem names the file, the line and the
field, and all of them are collected and raised at once as one ``InstrumentError``.

The grammar is documented in docs/instruments.md; ``instrument_schema()`` is its JSON Schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from instruments import library_files
from surveys.errors import InstrumentError, InstrumentProblem
from surveys.instrument import Instrument
from surveys.instrument_checks import CHECKS
from surveys.instrument_codec import instrument_from_data
from surveys.instrument_document import Document, limit_problems, schema, schema_problems
from surveys.instrument_yaml import FILE_FIELD, MAX_BYTES, field_name, read_file, read_yaml

__all__ = [
    "MAX_BYTES",
    "field_name",
    "instrument_from_json",
    "instrument_schema",
    "library_instruments",
    "load_instrument_file",
    "load_instrument_text",
]


def load_instrument_file(path: str | Path) -> Instrument:
    """Load and check one instrument file; problems name the file by its base name."""
    path = Path(path)
    return load_instrument_text(read_file(path), path.name)


def load_instrument_text(text: str | bytes, path: str = "<text>") -> Instrument:
    """Load and check an instrument from YAML text (an upload, a test); ``path`` names it in
    problems."""
    data, lines, problems = read_yaml(text, path)
    return _checked(Document(data, path, lines), problems)


def instrument_from_json(data: Mapping[str, Any]) -> Instrument:
    """The instrument of its canonical JSON (``Instrument.to_json()``, as stored), checked again
    the same way as a file."""
    try:
        plain = json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as exc:
        problem = InstrumentProblem("<json>", None, FILE_FIELD, f"is not plain JSON: {exc}")
        raise InstrumentError([problem]) from None
    return _checked(Document(plain, "<json>", {}), [])


def instrument_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of instrument files."""
    return copy.deepcopy(schema())


def library_instruments() -> list[Instrument]:
    """Every instrument shipped in ``instruments/``, in file name order."""
    return [load_instrument_file(path) for path in library_files()]


def _checked(doc: Document, early: list[InstrumentProblem]) -> Instrument:
    limits = limit_problems(doc)
    if limits:
        raise InstrumentError(early + limits)
    problems = early + schema_problems(doc)
    if isinstance(doc.raw, dict):
        problems += [problem for check in CHECKS for problem in check(doc)]
    if problems:
        raise InstrumentError(_ordered(problems))
    return instrument_from_data(doc.data)


def _ordered(problems: list[InstrumentProblem]) -> list[InstrumentProblem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: (problem.line or 0, problem.field))
