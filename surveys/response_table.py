"""The response table: Gapmeter's CSV format for responses (design.md, "Response table format").

One row per response: ``response_id, submitted_at, segment, stage, channel``, then one column per
answer slot in ``instrument.slots()`` order (``<item>__<measure>``, ``<item>`` for a single-measure
item, ``<dimension>__importance`` for a points allocation). An empty cell is not answered, ``NA``
is not applicable. UTF-8 (a BOM is accepted), comma-separated, ISO 8601 timestamps (a time without
a zone is UTC). Import, export and ``gapmeter analyze --data`` all read and write it here.

Reading checks every row before anything is returned, with the same validator as the survey form
(``parse_answers``), and raises one ``ImportRowsError`` naming every bad row and column (the
header is row 1, as in a spreadsheet). Importing is all or nothing in one write transaction and
keyed on ``response_id``: a response stored already with the same content is counted as a
duplicate and skipped, so importing a file twice adds nothing. A formula-looking answer is
stored as it is; the export neutralises text cells for spreadsheets with a leading ``'``
(``csv_safety``), and reading drops exactly one leading ``'`` from every cell, as a spreadsheet
does, so an exported file imports back to the same content.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from sqlalchemy import Engine

from surveys.answers import NOT_APPLICABLE, AnswerSet, parse_answers
from surveys.clock import as_utc
from surveys.csv_safety import (
    CsvSource,
    ProblemList,
    csv_writer,
    neutralise_cell,
    read_csv,
    restore_cell,
)
from surveys.errors import AnswerError, ImportRowsError, NotFoundError, RowProblem
from surveys.instrument import Instrument
from surveys.models import Source

KEY_COLUMNS = ("response_id", "submitted_at", "segment", "stage", "channel")
TERM_COLUMNS = ("segment", "stage", "channel")
#: Longest ``response_id`` (the stored ``Response.uid``) and segment, stage or channel key.
RESPONSE_ID_LENGTH = 64
TERM_LENGTH = 40
#: Longest cell value quoted back in a message.
QUOTE_LIMIT = 40


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One response as a row of the table: its id, when, who (segment), where (stage, channel)
    and its valid answers."""

    response_id: str
    submitted_at: datetime
    segment: str
    stage: str
    channel: str
    answers: AnswerSet


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: responses added, and rows skipped because they were stored already."""

    added: int
    duplicates: int


def table_columns(instrument: Instrument) -> tuple[str, ...]:
    """The header of the table for ``instrument``."""
    return KEY_COLUMNS + tuple(slot.name for slot in instrument.slots())


# Reading -------------------------------------------------------------------------------------
def read_response_table(
    source: CsvSource, instrument: Instrument, *, require_complete: bool = False
) -> list[ResponseRecord]:
    """Every response of a table, checked against ``instrument``; any problem in any row raises
    one ``ImportRowsError`` listing them all (and nothing is returned).

    ``source`` is a path, bytes, or a text or binary stream. ``require_complete`` enforces the
    instrument's required items, as the survey form does; historical data keeps its gaps.
    """
    numbered, problems = _read(source, instrument, require_complete=require_complete)
    if problems:
        raise ImportRowsError(problems.final())
    return [record for _, record in numbered]


def _read(
    source: CsvSource, instrument: Instrument, *, require_complete: bool
) -> tuple[list[tuple[int, ResponseRecord]], ProblemList]:
    """The records with their row numbers, and every problem found (records of bad rows are
    left out)."""
    table = read_csv(source)
    problems = ProblemList()
    for problem in table.problems:
        problems.add(problem)
    header = [name.strip() for name in table.header]
    expected = table_columns(instrument)
    position = _check_header(header, expected, instrument, problems)
    slot_names = [name for name in expected[len(KEY_COLUMNS) :] if name in position]
    seen: dict[str, int] = {}
    numbered: list[tuple[int, ResponseRecord]] = []
    for row in table.rows:
        if len(row.cells) != len(header):
            message = f"has {len(row.cells)} cells where the header names {len(header)} columns"
            problems.add(RowProblem(row.number, None, message))
            continue
        cells = {name: restore_cell(row.cells[index]) for name, index in position.items()}
        keys = _key_cells(row.number, cells, seen, problems)
        try:
            answers = parse_answers(
                instrument,
                {name: cells[name] for name in slot_names},
                require_complete=require_complete,
            )
        except AnswerError as error:
            for found in error.problems:
                problems.add(RowProblem(row.number, found.slot, found.message))
            continue
        if keys is not None:
            numbered.append((row.number, ResponseRecord(*keys, answers)))
    return numbered, problems


def _check_header(
    header: list[str], expected: tuple[str, ...], instrument: Instrument, problems: ProblemList
) -> dict[str, int]:
    """Column positions by name; unknown, repeated and missing columns are problems of row 1."""
    if not header:
        problems.add(RowProblem(1, None, "the first row must name the columns"))
        return {}
    known = set(expected)
    position: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in position:
            problems.add(RowProblem(1, name, "the column appears twice"))
        elif name not in known:
            shown = name[:QUOTE_LIMIT] if name else f"#{index + 1}"
            close = difflib.get_close_matches(name, expected, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.add(
                RowProblem(
                    1,
                    shown,
                    f"unknown column: not a question of {instrument.key} "
                    f"version {instrument.version}{hint}",
                )
            )
        else:
            position[name] = index
    for name in expected:
        if name not in position:
            problems.add(RowProblem(1, name, "the column is missing"))
    return position


def _key_cells(
    number: int, cells: dict[str, str], seen: dict[str, int], problems: ProblemList
) -> tuple[str, datetime, str, str, str] | None:
    """``response_id, submitted_at, segment, stage, channel`` of a row; None if any is bad (or
    its column is missing, which the header check reports)."""
    response_id = _response_id(number, cells.get("response_id"), seen, problems)
    submitted_at = _timestamp(number, cells.get("submitted_at"), problems)
    segment, stage, channel = (
        _term(number, name, cells.get(name), problems) for name in TERM_COLUMNS
    )
    if response_id is None or submitted_at is None:
        return None
    if segment is None or stage is None or channel is None:
        return None
    return response_id, submitted_at, segment, stage, channel


def _response_id(
    number: int, value: str | None, seen: dict[str, int], problems: ProblemList
) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        problems.add(RowProblem(number, "response_id", "is empty"))
    elif len(value) > RESPONSE_ID_LENGTH:
        message = f"is longer than {RESPONSE_ID_LENGTH} characters"
        problems.add(RowProblem(number, "response_id", message))
    elif any(unicodedata.category(char) == "Cc" for char in value):
        # A NUL cannot be stored in PostgreSQL (a 500 there, stored on SQLite); no control
        # character belongs in an identifier.
        message = "contains a control character (such as NUL or a line break)"
        problems.add(RowProblem(number, "response_id", message))
    elif value in seen:
        message = f"{_quoted(value)} appears already in row {seen[value]}"
        problems.add(RowProblem(number, "response_id", message))
    else:
        seen[value] = number
        return value
    return None


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 date and time as aware UTC (no zone means UTC); None if it is not one."""
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except (
        ValueError,
        OverflowError,
    ):  # OverflowError: 0001-01-01T00:00+01:00 is before UTC's range
        return None


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second (microseconds only when there are some)."""
    value = as_utc(value)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _timestamp(number: int, value: str | None, problems: ProblemList) -> datetime | None:
    if value is None:
        return None
    if not value.strip():
        problems.add(RowProblem(number, "submitted_at", "is empty"))
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        problems.add(
            RowProblem(
                number,
                "submitted_at",
                f"{_quoted(value)} is not an ISO 8601 date and time "
                "(for example 2026-04-05T10:00:00Z)",
            )
        )
    return parsed


def _term(number: int, column: str, value: str | None, problems: ProblemList) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        problems.add(RowProblem(number, column, "is empty"))
    elif len(value) > TERM_LENGTH:
        problems.add(RowProblem(number, column, f"is longer than {TERM_LENGTH} characters"))
    else:
        return value
    return None


def _quoted(value: str) -> str:
    shown = value if len(value) <= QUOTE_LIMIT else value[: QUOTE_LIMIT - 1] + "…"
    return repr(shown)


# Writing -------------------------------------------------------------------------------------
def write_response_table(
    records: Iterable[ResponseRecord], instrument: Instrument, stream: IO[str]
) -> int:
    """Write ``records`` as a table for ``instrument``; return the number of rows.

    Numbers are written as numbers; every text cell (ids, segment, stage, channel, choices and
    free text) is neutralised for spreadsheets (``csv_safety.neutralise_cell``)."""
    names = [slot.name for slot in instrument.slots()]
    writer = csv_writer(stream)
    writer.writerow(table_columns(instrument))
    count = 0
    for record in records:
        values, not_applicable = record.answers.values, record.answers.not_applicable
        row = [
            neutralise_cell(record.response_id),
            format_timestamp(record.submitted_at),
            neutralise_cell(record.segment),
            neutralise_cell(record.stage),
            neutralise_cell(record.channel),
        ]
        for name in names:
            value = values.get(name)
            if name in not_applicable:
                row.append(NOT_APPLICABLE)
            elif value is None:
                row.append("")
            elif isinstance(value, int):
                row.append(str(value))
            else:
                row.append(neutralise_cell(value))
        writer.writerow(row)
        count += 1
    return count


# Import and export ----------------------------------------------------------------------------
def import_response_table(
    engine: Engine,
    data: CsvSource,
    *,
    campaign_key: str,
    source: Source | str = Source.IMPORT,
) -> ImportResult:
    """Import a table into a campaign, all or nothing.

    Every row is checked first, against the campaign's instrument and the taxonomy (segment,
    stage and channel must be known; the segment may be ``unclassified``). Then, in one write
    transaction, rows whose ``response_id`` is stored already with the same content are counted
    as duplicates, a ``response_id`` stored with different content is a problem of its row, and
    the rest are added. Any problem raises ``ImportRowsError`` and nothing is stored.
    """
    from surveys.db import read_session, write_session
    from surveys.services.campaigns import campaign_or_error
    from surveys.services.instruments import instrument_of
    from surveys.services.responses import records_of, store_records, stored_records
    from surveys.taxonomy import UNCLASSIFIED, term_keys, unknown_term_message

    with read_session(engine) as session:
        campaign = campaign_or_error(session, campaign_key)
        instrument = instrument_of(campaign.instrument)
        known = {kind: term_keys(session, kind) for kind in TERM_COLUMNS}
    known["segment"] |= {UNCLASSIFIED}
    numbered, problems = _read(data, instrument, require_complete=False)
    for number, record in numbered:
        for kind in TERM_COLUMNS:
            value = getattr(record, kind)
            if value not in known[kind]:
                message = unknown_term_message(kind, value, known[kind] - {UNCLASSIFIED})
                problems.add(RowProblem(number, kind, message))
    if problems:
        raise ImportRowsError(problems.final())

    with write_session(engine) as session:
        campaign = campaign_or_error(session, campaign_key)
        stored = stored_records(session, [record.response_id for _, record in numbered])
        ours = [row for campaign_id, row in stored.values() if campaign_id == campaign.id]
        same = {record.response_id: record for record in records_of(session, instrument, ours)}
        new: list[ResponseRecord] = []
        for number, record in numbered:
            if record.response_id not in stored:
                new.append(record)
            elif same.get(record.response_id) != record:
                problems.add(
                    RowProblem(
                        number,
                        "response_id",
                        f"{_quoted(record.response_id)} is stored already with other content "
                        "(or in another campaign); give this response a new response_id",
                    )
                )
        if problems:
            raise ImportRowsError(problems.final())
        added = store_records(
            session, campaign=campaign, instrument=instrument, records=new, source=source
        )
    return ImportResult(added=added, duplicates=len(numbered) - len(new))


def export_response_table(
    engine: Engine,
    *,
    stream: IO[str],
    campaign_key: str | None = None,
    instrument_key: str | None = None,
    instrument_version: int | None = None,
) -> int:
    """Write the responses of a campaign, or of every campaign of an instrument version (the
    latest when ``instrument_version`` is None), as a table; return the number of rows."""
    from surveys.db import read_session
    from surveys.services.campaigns import campaign_or_error
    from surveys.services.instruments import get_instrument, instrument_of
    from surveys.services.responses import response_records

    if (campaign_key is None) == (instrument_key is None):
        raise ValueError("give either campaign_key or instrument_key")
    with read_session(engine) as session:
        if campaign_key is not None:
            campaign = campaign_or_error(session, campaign_key)
            row, campaign_ids = campaign.instrument, [campaign.id]
        else:
            found = get_instrument(session, str(instrument_key), instrument_version)
            if found is None:
                raise NotFoundError(f"no instrument {instrument_key!r}")
            row, campaign_ids = found, None
        records = response_records(session, instrument_row=row, campaign_ids=campaign_ids)
        return write_response_table(records, instrument_of(row), stream)
