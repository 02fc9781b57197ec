"""CSV in and out, safely: formula neutralising for every CSV we write, and a reader for every
CSV we import that reports bad bytes and oversized fields per row instead of failing.

Writing (security.md §1.3, threat T8, check S6): a spreadsheet runs a cell that begins with
``=``, ``+``, ``-``, ``@``, a tab, a carriage return, a line feed or a NUL as a formula, so such a
*text* cell gets a leading ``'`` (the OWASP recipe); ``csv.writer`` does the RFC 4180 quoting.
A text cell that already begins with ``'`` gets one more, which makes the rule reversible:
``restore_cell`` drops exactly one leading ``'``. Numbers are written as numbers, never prefixed.

Reading (threat T9): bytes are decoded as UTF-8 (a BOM is accepted); a byte that is not UTF-8
is reported with its row and column instead of failing the whole file. Python's ``csv`` refuses
fields longer than ``csv.field_size_limit()``; that becomes a problem of that row and column.
Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from surveys.errors import RowProblem

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
ESCAPE = "'"
#: Most problems one file reports; the rest are counted in a last problem.
MAX_PROBLEMS = 1000

# Bytes that were not UTF-8 come back from ``surrogateescape`` as U+DC80..U+DCFF.
_UNDECODABLE = re.compile("[\udc80-\udcff]")

CsvSource = IO[str] | IO[bytes] | Path | bytes


def neutralise_cell(value: object) -> str:
    """The text of ``value`` made safe to open in a spreadsheet (a ``'`` before a formula)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS) or text.startswith(ESCAPE):
        return ESCAPE + text
    return text


def restore_cell(text: str) -> str:
    """The original text of a cell written by ``neutralise_cell``."""
    return text[1:] if text.startswith(ESCAPE) else text


def csv_writer(stream: IO[str]) -> Any:
    """The one dialect we write: comma-separated, minimal RFC 4180 quoting, CRLF."""
    return csv.writer(stream, lineterminator="\r\n")


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One record of a file: its spreadsheet row number and its cells."""

    number: int
    cells: list[str]


@dataclass
class CsvTable:
    """A parsed file: the header, the readable rows, and the problems found while reading."""

    header: list[str]
    rows: list[CsvRow]
    problems: list[RowProblem] = field(default_factory=list)

    def column_name(self, index: int) -> str:
        return self.header[index] if index < len(self.header) else f"#{index + 1}"


class ProblemList(list[RowProblem]):
    """Row problems, capped at ``MAX_PROBLEMS`` with a count of the ones left out."""

    def __init__(self) -> None:
        super().__init__()
        self.left_out = 0

    def add(self, problem: RowProblem) -> None:
        if len(self) < MAX_PROBLEMS:
            self.append(problem)
        else:
            self.left_out += 1

    def final(self) -> list[RowProblem]:
        problems = sorted(self, key=lambda problem: problem.row)
        if self.left_out:
            problems.append(
                RowProblem(problems[-1].row, None, f"and {self.left_out} more problems not listed")
            )
        return problems


def read_text(source: CsvSource) -> str:
    """The text of ``source``: a path, bytes, or a text or binary stream. Bytes are decoded as
    UTF-8 with a BOM accepted; bytes that are not UTF-8 survive as U+DC80..U+DCFF so the reader
    can say where they are."""
    if isinstance(source, Path):
        data: str | bytes = source.read_bytes()
    elif isinstance(source, bytes):
        data = source
    elif isinstance(source, str):
        raise TypeError("pass the file as a Path, bytes or a stream, not as a str")
    else:
        data = source.read()
    if isinstance(data, bytes):
        return data.decode("utf-8-sig", errors="surrogateescape")
    return data.removeprefix("\ufeff")


def read_csv(source: CsvSource) -> CsvTable:
    """Every record of a CSV file with its row number; undecodable bytes and oversized fields
    become problems of their row and column, and blank lines are skipped (but counted)."""
    try:
        text = read_text(source)
    except UnicodeDecodeError as error:  # a text stream opened with the wrong codec
        problem = RowProblem(1, None, f"the file is not UTF-8 text ({error.reason})")
        return CsvTable([], [], [problem])
    lines = _Lines(text)
    reader = csv.reader(lines)
    problems = ProblemList()
    rows: list[CsvRow] = []
    number = 0
    while True:
        lines.start_record()
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            number += 1
            header = rows[0].cells if rows and rows[0].number == 1 else []
            problems.add(_unreadable(number, header, lines.rest_of_record(), str(error)))
            continue
        number += 1
        if cells:
            rows.append(CsvRow(number, cells))
    header = rows.pop(0).cells if rows and rows[0].number == 1 else []
    table = CsvTable(header, rows)
    for row in [CsvRow(1, header), *rows]:
        for index, cell in enumerate(row.cells):
            if bad := _UNDECODABLE.search(cell):
                byte = ord(bad.group()) - 0xDC00
                name = table.column_name(index) if row.number > 1 else f"#{index + 1}"
                name = _UNDECODABLE.sub("\ufffd", name)  # a header cell with a bad byte
                problems.add(
                    RowProblem(
                        row.number,
                        name,
                        f"is not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8",
                    )
                )
    # Reported above; now replaced, so no lone surrogate reaches a message, a page (which
    # could not be encoded: a 500) or the database.
    for row in [CsvRow(1, header), *rows]:
        row.cells[:] = [_UNDECODABLE.sub("\ufffd", cell) for cell in row.cells]
    table.problems = problems.final()
    return table


class _Lines:
    """Lines for ``csv.reader`` that remember the ones of the current record."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self._record: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._record.append(line)
        return line

    def start_record(self) -> None:
        self._record = []

    def rest_of_record(self) -> str:
        """The record the reader gave up on, read on to its end so the next record starts
        cleanly (an open quote means the record continues on the next lines)."""
        quotes = sum(line.count('"') for line in self._record)
        while quotes % 2 == 1:
            line = next(self._lines, None)
            if line is None:
                break
            self._record.append(line)
            quotes += line.count('"')
        return "".join(self._record)


def _unreadable(number: int, header: list[str], record: str, message: str) -> RowProblem:
    limit = csv.field_size_limit()
    if "field larger than field limit" not in message:
        return RowProblem(number, None, f"cannot be read as CSV: {message}")
    index = _long_field_index(record, limit)
    where = None
    if index is not None:
        where = header[index] if index < len(header) else f"#{index + 1}"
    return RowProblem(number, where, f"the cell is longer than {limit:,} characters")


def _long_field_index(record: str, limit: int) -> int | None:
    """Index of the first field longer than ``limit`` in one raw record (RFC 4180 quoting)."""
    index, length, quoted = 0, 0, False
    for char in record:
        if char == '"':
            quoted = not quoted
            continue
        if char == "," and not quoted:
            index, length = index + 1, 0
            continue
        length += 1
        if length > limit:
            return index
    return None
