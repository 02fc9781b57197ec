"""Safe reading of instrument YAML: parser events -> plain data, with the line of every field.

Reading is built for hostile files (security.md §1.3, threat T6). The size is checked before
anything is parsed. The document is then built straight from the parser's event stream (libyaml
when present), so nothing is constructed by PyYAML: an anchor or alias is refused the moment it
appears and is never expanded, tags other than ``!!str`` are refused, nesting depth and node
count are capped, and a duplicate mapping key is reported (PyYAML would silently keep the last).
Plain scalars follow the YAML 1.2 core schema, so ``no`` stays text and ``1:30`` is not a number.
Every node keeps the line it started on, so each problem names the file, the line and the field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from surveys.errors import InstrumentError, InstrumentProblem

#: Largest instrument file accepted, in bytes (checked before parsing).
MAX_BYTES = 1024 * 1024
#: Deepest nesting of lists and mappings (a real instrument needs 6).
MAX_DEPTH = 12
#: Most scalars, lists and mappings in one file.
MAX_NODES = 50_000
#: Most entries in one list or mapping (the schema's own caps are lower and say which).
MAX_ENTRIES = 1000
#: Longest value quoted back in a message.
QUOTE_LIMIT = 40

FieldPath = tuple[str | int, ...]
FILE_FIELD = "(file)"
#: Plain data, the line of every field, and the problems found while reading.
YamlDocument = tuple[Any, dict[FieldPath, int], list[InstrumentProblem]]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_file(path: Path) -> bytes:
    """The bytes of an instrument file, refused unread when it is over ``MAX_BYTES``; problems
    name the file by its base name."""
    source = path.name
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InstrumentError([_too_large(source, size)])
        with path.open("rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except OSError as exc:
        message = f"cannot be read: {exc.strerror or exc}"
        raise InstrumentError([InstrumentProblem(source, None, FILE_FIELD, message)]) from None


def read_yaml(text: str | bytes, source: str) -> YamlDocument:
    """Plain data (dict/list/str/int/float/bool/None), the line of every field, and the problems
    found on the way (duplicate keys). Refuses hostile structure with an ``InstrumentError``."""
    return _parsed(_decoded(text, source), source)


# Limits, encoding ------------------------------------------------------------------------------
def _too_large(source: str, size: int) -> InstrumentProblem:
    message = f"is {size:,} bytes or more; files are limited to {MAX_BYTES:,} bytes (1 MiB)"
    return InstrumentProblem(source, None, FILE_FIELD, message)


def _decoded(text: str | bytes, source: str) -> str:
    """The text as ``str``, refused over ``MAX_BYTES`` (a ``str`` already longer in characters
    is not encoded to find out) or when the bytes are not UTF-8."""
    if isinstance(text, str) and len(text) <= MAX_BYTES:
        size = len(text.encode("utf-8", "surrogatepass"))
    else:
        size = len(text)
    if size > MAX_BYTES:
        raise InstrumentError([_too_large(source, size)])
    if isinstance(text, str):
        return text
    try:
        return text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = text[: exc.start].count(b"\n") + 1
        message = f"is not UTF-8 text (byte {exc.start + 1} cannot be read); save it as UTF-8"
        raise InstrumentError([InstrumentProblem(source, line, FILE_FIELD, message)]) from None


# YAML events -> plain data with lines --------------------------------------------------------
_ALLOWED_TAGS = frozenset({"tag:yaml.org,2002:str", "!"})
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]{1,15}")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]{1,3})?")
_NOTHING = object()
ANCHOR_REFUSAL = "uses an anchor (&) or alias (*); write each value out in full"


def _parsed(text: str, source: str) -> YamlDocument:
    builder = _TreeBuilder(source)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if "nesting depth" in str(exc.problem):
            # libyaml refuses deep flow nesting while scanning ahead, before the builder's cap.
            builder._refuse(line or 1, f"is nested more than {MAX_DEPTH} levels deep")
        message = f"is not valid YAML: {exc.problem or exc.context}"
        if mark is not None and text[mark.index : mark.index + 1] == "\t":
            message += " (indent with spaces, not tabs)"
        raise InstrumentError([InstrumentProblem(source, line, "(syntax)", message)]) from None
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        reason = getattr(exc, "reason", None) or short(str(exc), 120)
        message = f"is not valid YAML: {reason}"
        raise InstrumentError([InstrumentProblem(source, line, "(syntax)", message)]) from None
    return builder.finish()


@dataclass
class _Open:
    """A list or mapping being filled; ``key`` is a mapping's key waiting for its value."""

    value: dict[str, Any] | list[Any]
    path: FieldPath
    recording: bool
    key: str | None = None
    key_line: int = 0
    keep: bool = True
    key_lines: dict[str, int] = field(default_factory=dict)


class _TreeBuilder:
    """Builds plain data from parser events without recursion and without expanding anything."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.stack: list[_Open] = []
        self.lines: dict[FieldPath, int] = {}
        self.problems: list[InstrumentProblem] = []
        self.root: Any = _NOTHING
        self.nodes = 0
        self.documents = 0

    def feed(self, event: yaml.Event) -> None:
        kind = type(event)
        if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self.stack.pop()
            return
        line = event.start_mark.line + 1
        if kind is yaml.ScalarEvent:
            self._check_node(event, line)
            self._scalar(event, line)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            self._check_node(event, line)
            self._open({} if kind is yaml.MappingStartEvent else [], line)
        elif kind is yaml.AliasEvent:
            self._refuse(line, ANCHOR_REFUSAL)
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                self._refuse(line, "holds more than one YAML document (---); one instrument a file")

    def _check_node(self, event: yaml.NodeEvent, line: int) -> None:
        if event.anchor is not None:
            self._refuse(line, ANCHOR_REFUSAL)
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _ALLOWED_TAGS:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            self._refuse(
                line,
                f"uses the tag {quoted(shown)}; instrument files hold plain text, numbers, "
                "lists and mappings only",
            )

    def finish(self) -> tuple[Any, dict[FieldPath, int], list[InstrumentProblem]]:
        if self.root is _NOTHING or self.root is None:
            message = "is empty; an instrument needs at least key, version, title and items"
            return None, self.lines, [InstrumentProblem(self.source, 1, FILE_FIELD, message)]
        return self.root, self.lines, self.problems

    def _scalar(self, event: yaml.ScalarEvent, line: int) -> None:
        self._count(line)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.value, dict) and top.key is None:
            self._key(top, event.value, line)
        else:
            self._attach(_scalar_value(event), line)

    def _open(self, value: dict[str, Any] | list[Any], line: int) -> None:
        self._count(line)
        if len(self.stack) >= MAX_DEPTH:
            self._refuse(line, f"is nested more than {MAX_DEPTH} levels deep")
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.value, dict) and top.key is None:
            self._refuse(line, "uses a list or mapping as a key; keys are single words")
        recording = top is None or (top.recording and top.keep)
        path = self._attach(value, line)
        self.stack.append(_Open(value, path, recording))

    def _key(self, frame: _Open, name: str, line: int) -> None:
        first = frame.key_lines.get(name)
        if len(frame.key_lines) >= MAX_ENTRIES:
            self._refuse(line, f"has more than {MAX_ENTRIES:,} fields", frame.path)
        if first is None:
            frame.key_lines[name] = line
        elif frame.recording:
            message = (
                f"appears twice in the same mapping (first on line {first}); YAML would "
                "silently keep only the last one, so remove or rename one"
            )
            self.problems.append(self._problem((*frame.path, name), line, message))
        frame.key, frame.key_line, frame.keep = name, line, first is None

    def _attach(self, value: Any, line: int) -> FieldPath:
        if not self.stack:
            self.root = value
            self.lines[()] = line
            return ()
        frame = self.stack[-1]
        if isinstance(frame.value, list):
            if len(frame.value) >= MAX_ENTRIES:
                self._refuse(line, f"lists more than {MAX_ENTRIES:,} entries", frame.path)
            path = (*frame.path, len(frame.value))
            frame.value.append(value)
        else:
            key = frame.key if frame.key is not None else ""
            path = (*frame.path, key)
            line = frame.key_line
            if frame.keep:
                frame.value[key] = value
            frame.key = None
        if frame.recording and frame.keep:
            self.lines[path] = line
        return path

    def _count(self, line: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self._refuse(line, f"holds more than {MAX_NODES:,} values; it is far too large")

    def _here(self) -> FieldPath:
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.value, list):
            return (*frame.path, len(frame.value))
        return (*frame.path, frame.key) if frame.key is not None else frame.path

    def _problem(self, path: FieldPath, line: int, message: str) -> InstrumentProblem:
        return InstrumentProblem(self.source, line, field_name(path), message)

    def _refuse(self, line: int, message: str, path: FieldPath | None = None) -> None:
        where = self._here() if path is None else path
        raise InstrumentError([self._problem(where, line, message)])


def _scalar_value(event: yaml.ScalarEvent) -> Any:
    """YAML 1.2 core schema for plain scalars; quoted, block and ``!!str`` scalars are text."""
    text: str = event.value
    if event.tag is not None or not event.implicit[0]:
        return text
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text) and math.isfinite(number := float(text)):
        return number
    return text


# Wording ---------------------------------------------------------------------------------------
def field_name(path: FieldPath) -> str:
    """``items[3].options[1].label``: list positions count from 1, as a researcher counts."""
    if not path:
        return "(top level)"
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part + 1}]"
        else:
            name += ("." if name else "") + short(part, QUOTE_LIMIT)
    return name


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value: Any) -> str:
    """A value for a message: short, quoted, control characters escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return json.dumps(short(str(value), QUOTE_LIMIT), ensure_ascii=False)
