"""Property-based fuzzing of the CSV response import (security.md R11, R14, T9).

Hypothesis writes response tables for the ``mixed`` instrument: valid rows with cells replaced by
arbitrary text (NUL, formula triggers, huge cells, edge-case timestamps), rows too short or too
long, the header mutated, and files of arbitrary bytes or a valid file with bytes flipped. The
import (``import_response_table``, the code behind ``gapmeter responses import`` and any upload
page) must, for every example:

* either import (adding exactly the new rows, each stored verbatim: read back through the
  export, it is the value that was written), or raise ``ImportRowsError``;
* never raise anything else (an uncaught error is a 500 on an upload page);
* on refusal store nothing (responses and answers counted before and after);
* explain each refusal: every problem names a row (the header is row 1) within the file and
  says what is wrong.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from surveys.db import read_session
from surveys.errors import ImportRowsError
from surveys.instrument import Instrument
from surveys.response_table import import_response_table, read_response_table, table_columns
from surveys.services.campaigns import campaign_or_error
from surveys.services.responses import response_records
from tests.security.conftest import FUZZ, SLOW_EXAMPLES, counts
from tests.webapp.conftest import MIXED_FORM, add_campaign

ROW = {
    "submitted_at": "2026-03-01T09:00:00Z",
    "segment": "consumer",
    "stage": "after_sales",
    "channel": "web",
    **MIXED_FORM,
}
EDGE_VALUES = [
    "",
    "NA",
    "\x00",
    "a\x00b",
    "=1+2",
    "@SUM(1)",
    "+cmd|' /C calc'!A0",
    "'; DROP TABLE response; --",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-02-30T00:00:00Z",
    "2026-03-01",
    "1e3",
    "-0",
    " 7 ",
    "\ufeffconsumer",
    "x" * 200_000,
]
_cell = st.one_of(
    st.sampled_from(EDGE_VALUES),
    st.text(max_size=60),
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
)


@st.composite
def table(draw: st.DrawFn, columns: tuple[str, ...]) -> bytes:
    """A response table: valid rows, mutated; sometimes the header too; sometimes raw bytes."""
    kind = draw(st.sampled_from(["rows", "rows", "rows", "bytes", "flipped"]))
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    header = list(columns)
    if draw(st.integers(0, 5)) == 0:
        index = draw(st.integers(0, len(header) - 1))
        header[index] = draw(st.sampled_from(["", "unknown", header[0], header[index].upper()]))
    rows = []
    for number in range(draw(st.integers(0, 6))):
        row = {"response_id": f"r{number}", **ROW}
        for _ in range(draw(st.integers(0, 3))):
            row[draw(st.sampled_from(list(row)))] = draw(_cell)
        cells = [row.get(name, "") for name in columns]
        shape = draw(st.integers(0, 9))
        if shape == 0:
            cells = cells[: draw(st.integers(0, len(cells)))]
        elif shape == 1:
            cells += draw(st.lists(_cell, min_size=1, max_size=3))
        rows.append(cells)
    stream = io.StringIO(newline="")
    writer = csv.writer(stream, lineterminator=draw(st.sampled_from(["\r\n", "\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    data = stream.getvalue().encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if kind == "flipped" and data:
        for _ in range(draw(st.integers(1, 5))):
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


def explained(error: ImportRowsError, data: bytes) -> None:
    assert error.problems, "a refusal without a problem"
    lines = max(data.count(b"\n"), data.count(b"\r")) + 1
    for problem in error.problems:
        assert 1 <= problem.row <= lines + 1, problem
        assert problem.message.strip(), problem
        text = str(problem)
        assert text.startswith(f"row {problem.row}"), text


def fuzz_import(engine: Engine, instrument: Instrument, campaign: str) -> Any:
    @given(data=table(table_columns(instrument)))
    def check(data: bytes) -> None:
        before = counts(engine)
        try:
            result = import_response_table(engine, data, campaign_key=campaign)
        except ImportRowsError as error:
            event("refused")
            assert counts(engine) == before, "refused but something was stored"
            explained(error, data)
            return
        event(f"imported {result.added} new, {result.duplicates} duplicates")
        assert counts(engine).responses == before.responses + result.added
        with read_session(engine) as session:
            row = campaign_or_error(session, campaign).instrument
            stored = {
                record.response_id: record
                for record in response_records(session, instrument_row=row)
            }
        for record in read_response_table(data, instrument):
            assert stored[record.response_id] == record  # stored verbatim

    return check


@pytest.fixture
def campaign(engine: Engine, mixed: Instrument) -> str:
    return add_campaign(engine, mixed, "fuzz-csv")


def test_fuzzed_tables_import_whole_or_not_at_all(
    engine: Engine, mixed: Instrument, campaign: str
) -> None:
    FUZZ(fuzz_import(engine, mixed, campaign))()


@pytest.mark.slow
def test_fuzzed_tables_many_examples(engine: Engine, mixed: Instrument, campaign: str) -> None:
    settings(FUZZ, max_examples=SLOW_EXAMPLES)(fuzz_import(engine, mixed, campaign))()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("response_id", "id-with-\x00-nul"),
        ("submitted_at", "0001-01-01T00:00:00+01:00"),
        ("submitted_at", "9999-12-31T23:59:59-01:00"),
        ("comment", "\x00"),
    ],
)
def test_edge_cells_are_row_problems(
    engine: Engine, mixed: Instrument, campaign: str, column: str, value: str
) -> None:
    """Cells that pass a naive check but cannot be stored everywhere (NUL on PostgreSQL, dates
    outside the UTC range) are problems of their row, on both databases."""
    row = {"response_id": "edge", **ROW, column: value}
    stream = io.StringIO(newline="")
    writer = csv.writer(stream)
    writer.writerow(table_columns(mixed))
    writer.writerow([row[name] for name in table_columns(mixed)])
    with pytest.raises(ImportRowsError) as caught:
        import_response_table(engine, stream.getvalue().encode(), campaign_key=campaign)
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, column)]
    assert counts(engine).responses == 0
