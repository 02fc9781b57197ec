"""Studio data: import all or nothing with every row problem shown, exports that read back
(CSV, XLSX with openpyxl, SPSS with pyreadstat) with the instrument's labels and spreadsheet-safe
cells, and erasure on request that leaves no trace but the audit entry and keeps the aggregates
right (SQLite and PostgreSQL, through the test client)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pyreadstat
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from analysis.store import assess_campaign, refresh_aggregates
from surveys.answers import AnswerSet
from surveys.db import read_session
from surveys.models import AggregateCell, Answer, AuditEntry, Invitation, Response, Source
from surveys.response_table import ResponseRecord
from surveys.services.invitations import token_hash
from surveys.services.responses import submit_response
from tests.webapp.conftest import add_campaign, add_invitation, mixed_instrument
from tests.webapp.test_studio_support import (
    post_form,
    random_records,
    response_count,
    signed_in,
    table_bytes,
    text_of,
    upload,
)

HOSTILE = '=HYPERLINK("http://evil.example","x")'


def import_file(client: FlaskClient, key: str, content: bytes) -> object:
    page = f"/studio/campaigns/{key}"
    return post_form(client, page, f"{page}/import", {"responses": upload(content, "r.csv")})


@pytest.fixture
def spring(app_engine: Engine) -> str:
    return add_campaign(app_engine, mixed_instrument(), "spring")


def with_text(records: list[ResponseRecord]) -> list[ResponseRecord]:
    """The records with a formula-like comment, a choice and one not-applicable answer."""
    first = records[0]
    values = {**first.answers.values, "comment": HOSTILE, "visit": "store"}
    values.pop("rel_a__perception", None)
    answers = AnswerSet(values, frozenset({"rel_a__perception"}))
    return [
        ResponseRecord(
            first.response_id,
            first.submitted_at,
            first.segment,
            first.stage,
            first.channel,
            answers,
        ),
        *records[1:],
    ]


def hostile_table(records: list[ResponseRecord]) -> bytes:
    """The table of ``records`` with the formula cell as a respondent typed it (the writer
    neutralises it; an import stores cells verbatim)."""
    return table_bytes(mixed_instrument(), records).replace(b"\"'=HYPERLINK", b'"=HYPERLINK')


def test_an_import_is_stored_and_a_second_one_adds_nothing(
    app: Flask, app_engine: Engine, spring: str
) -> None:
    instrument = mixed_instrument()
    client = signed_in(app, app_engine)
    content = table_bytes(instrument, random_records(instrument, 6))
    reply = import_file(client, spring, content)
    assert reply.status_code == 303
    assert response_count(app_engine) == 6
    assert "Imported 6 responses; 0 were stored already" in text_of(
        client.get(reply.headers["Location"])
    )
    again = import_file(client, spring, content)
    assert "Imported 0 responses; 6 were stored already" in text_of(
        client.get(again.headers["Location"])
    )
    assert response_count(app_engine) == 6
    with read_session(app_engine) as session:
        sources = set(session.scalars(select(Response.source)))
        assert sources == {Source.IMPORT.value}


def test_a_bad_import_names_every_row_and_stores_nothing(
    app: Flask, app_engine: Engine, spring: str
) -> None:
    instrument = mixed_instrument()
    client = signed_in(app, app_engine)
    lines = table_bytes(instrument, random_records(instrument, 4)).decode("utf-8").splitlines()
    header = lines[0].split(",")
    row3 = lines[2].split(",")
    row3[header.index("rel_a__expectation")] = "9"
    row5 = lines[4].split(",")
    row5[header.index("segment")] = "<b>martians</b>"
    lines[2], lines[4] = ",".join(row3), ",".join(row5)
    reply = import_file(client, spring, ("\r\n".join(lines) + "\r\n").encode("utf-8"))
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    problems = html.split('<table class="problems">')[1].split("</table>")[0]
    rows = [" ".join(row.split()) for row in problems.split("<tr>")[2:]]
    assert any(
        row.startswith('<td class="num">3</td><td><code>rel_a__expectation</code>') for row in rows
    )
    assert any(row.startswith('<td class="num">5</td><td><code>segment</code>') for row in rows)
    assert "<b>martians" not in html  # S2: the bad value is shown as text
    assert "Nothing was imported: 2 problems" in text_of(reply)
    assert response_count(app_engine) == 0
    empty = import_file(client, spring, b"")
    assert empty.status_code == 422
    assert response_count(app_engine) == 0


def test_the_csv_export_reads_back_and_is_spreadsheet_safe(
    app: Flask, app_engine: Engine, spring: str
) -> None:
    instrument = mixed_instrument()
    client = signed_in(app, app_engine)
    records = with_text(random_records(instrument, 5))
    assert import_file(client, spring, hostile_table(records)).status_code == 303
    reply = client.get(f"/studio/campaigns/{spring}/export.csv")
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["Content-Disposition"] == f'attachment; filename="{spring}-responses.csv"'
    rows = list(csv.DictReader(io.StringIO(reply.data.decode("utf-8"))))
    assert [row["response_id"] for row in rows] == [record.response_id for record in records]
    first = rows[0]
    assert first["comment"] == "'" + HOSTILE
    assert first["rel_a__perception"] == "NA"
    assert first["visit"] == "store"
    assert rows[1]["rel_a__expectation"] == str(records[1].answers.values["rel_a__expectation"])


def test_the_xlsx_export_has_the_table_and_its_labels(
    app: Flask, app_engine: Engine, spring: str
) -> None:
    instrument = mixed_instrument()
    client = signed_in(app, app_engine)
    records = with_text(random_records(instrument, 5))
    assert import_file(client, spring, hostile_table(records)).status_code == 303
    reply = client.get(f"/studio/campaigns/{spring}/export.xlsx?lang=zh-Hant")
    assert reply.status_code == 200
    assert reply.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(reply.data))
    sheet = book["responses"]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = table[0]
    assert header[:5] == ["response_id", "submitted_at", "segment", "stage", "channel"]
    assert len(table) == 6
    first = dict(zip(header, table[1], strict=True))
    assert first["comment"] == "'" + HOSTILE
    assert sheet.cell(row=2, column=header.index("comment") + 1).data_type == "s"  # not a formula
    assert first["rel_a__perception"] == "NA"
    expected = records[1].answers.values["rel_a__expectation"]
    assert dict(zip(header, table[2], strict=True))["rel_a__expectation"] == expected
    labels = {row[0]: row for row in book["variables"].iter_rows(min_row=2, values_only=True)}
    assert labels["rel_a__expectation"][1].startswith("準時完成承諾")
    assert "1 = 非常不同意" in labels["rel_a__expectation"][3]
    assert "phone = 電話" in labels["visit"][3]


def test_the_spss_export_carries_variable_and_value_labels(
    app: Flask, app_engine: Engine, spring: str, tmp_path: Path
) -> None:
    instrument = mixed_instrument()
    client = signed_in(app, app_engine)
    records = with_text(random_records(instrument, 5))
    assert import_file(client, spring, hostile_table(records)).status_code == 303
    reply = client.get(f"/studio/campaigns/{spring}/export.sav")
    assert reply.status_code == 200
    path = tmp_path / "out.sav"
    path.write_bytes(reply.data)
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert list(frame["response_id"]) == [record.response_id for record in records]
    labels = meta.column_names_to_labels
    assert labels["rel_a__expectation"] == "Keeps its promises — expectation"
    assert labels["overall"] == "Overall satisfaction"
    values = meta.variable_value_labels
    assert values["overall"][5.0] == "Very satisfied"
    assert values["rel_a__perception"][-1.0] == "Not applicable"
    assert values["visit"] == {1.0: "Phone", 2.0: "In a store"}
    assert frame["visit"][0] == 2.0  # "store" is the second option
    assert frame["rel_a__perception"][0] == -1.0  # not applicable: the user-missing code
    assert meta.missing_ranges["rel_a__perception"] == [{"lo": -1.0, "hi": -1.0}]
    assert frame["comment"][0] == HOSTILE  # a .sav is no spreadsheet: text is verbatim
    assert frame["rel_a__expectation"][1] == records[1].answers.values["rel_a__expectation"]
    plain, _ = pyreadstat.read_sav(str(path))
    assert plain["rel_a__perception"].isna()[0]  # read as missing by default
    assert client.get(f"/studio/campaigns/{spring}/export.pdf").status_code == 404


def answer(engine: Engine, key: str, token: str, level: int) -> None:
    values = {"rel_a__expectation": level, "rel_a__perception": level, "overall": 3}
    values |= {"emp_a__expectation": 4, "emp_a__perception": 4, "recommend": 7, "visit": "phone"}
    values |= {"reliability__importance": 50, "empathy__importance": 50}
    submit_response(
        engine, campaign_key=key, answers=AnswerSet(values), source=Source.WEB, token=token
    )


@pytest.mark.parametrize("folded", [True, False], ids=["folded", "not-yet-folded"])
def test_erasure_removes_the_respondent_and_keeps_the_aggregates_right(
    app: Flask, app_engine: Engine, spring: str, folded: bool
) -> None:
    """Whether or not the response was folded into the aggregates before the erasure, the
    cells afterwards hold exactly the remaining responses."""
    tokens = [add_invitation(app_engine, spring) for _ in range(6)]
    for level, token in enumerate(tokens, start=1):
        answer(app_engine, spring, token, level)
    if folded:
        refresh_aggregates(app_engine)
        before = assess_campaign(app_engine, spring)
        assert before.meta.n_responses == 6
        whole = before.whole
        assert whole is not None
        item = next(row for row in whole.items if row.item == "rel_a")
        assert item.perception_mean == pytest.approx(3.5)
    client = signed_in(app, app_engine)
    page = f"/studio/campaigns/{spring}"
    erased = tokens[5]  # the answer with level 6
    link = f"{app.config['GAPMETER_BASE_URL']}/i/{erased}"
    unconfirmed = post_form(client, page, f"{page}/erase", {"reference": link})
    assert unconfirmed.status_code == 422
    assert response_count(app_engine) == 6
    reply = post_form(client, page, f"{page}/erase", {"reference": link, "confirm": "y"})
    assert reply.status_code == 303
    shown = client.get(reply.headers["Location"])
    assert "recorded in the audit log" in text_of(shown)
    log = shown.get_data(as_text=True).split("Erasures recorded in the audit log")[1]
    log = " ".join(log.split("</table>")[0].split())
    assert response_count(app_engine) == 5
    with read_session(app_engine) as session:
        assert (
            session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(erased)))
            is None
        )
        assert session.scalar(select(func.count()).select_from(Invitation)) == 5
        orphans = (
            select(func.count())
            .select_from(Answer)
            .where(~Answer.response_id.in_(select(Response.id)))
        )
        assert session.scalar(orphans) == 0
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "response.erase")
        ).one()
        assert entry.subject == f"campaign:{spring}"
        assert entry.detail["responses"] == 1
        assert erased not in str(entry.detail)
        assert entry.actor.startswith("user:")
        assert f'<td class="num">{entry.detail["invitation_id"]}</td><td class="num">1</td>' in log
        assert (
            session.scalar(
                select(func.count()).select_from(AggregateCell).where(AggregateCell.stale)
            )
            == 1
        )
    after = assess_campaign(app_engine, spring)
    assert after.meta.n_responses == 5
    whole = after.whole
    assert whole is not None
    perception = next(row for row in whole.items if row.item == "rel_a")
    assert perception.n == 5
    assert perception.perception_mean == pytest.approx(3.0)  # (1+2+3+4+5)/5, the 6 is gone
    with read_session(app_engine) as session:
        assert session.scalar(select(func.sum(AggregateCell.n))) == 5
        assert (
            session.scalar(
                select(func.count()).select_from(AggregateCell).where(AggregateCell.stale)
            )
            == 0
        )
    again = post_form(client, page, f"{page}/erase", {"reference": erased, "confirm": "y"})
    assert again.status_code == 404
    assert "Nothing was changed" in text_of(again)
    assert response_count(app_engine) == 5


def test_erasure_by_invitation_id_and_only_in_its_campaign(
    app: Flask, app_engine: Engine, spring: str
) -> None:
    other = add_campaign(app_engine, mixed_instrument(), "autumn")
    token = add_invitation(app_engine, spring)
    answer(app_engine, spring, token, 3)
    with read_session(app_engine) as session:
        invitation_id = session.scalar(
            select(Invitation.id).where(Invitation.token_hash == token_hash(token))
        )
    client = signed_in(app, app_engine)
    elsewhere = f"/studio/campaigns/{other}"
    reply = post_form(
        client, elsewhere, f"{elsewhere}/erase", {"reference": str(invitation_id), "confirm": "y"}
    )
    assert reply.status_code == 404
    assert response_count(app_engine) == 1
    page = f"/studio/campaigns/{spring}"
    reply = post_form(
        client, page, f"{page}/erase", {"reference": f" {invitation_id} ", "confirm": "y"}
    )
    assert reply.status_code == 303
    assert response_count(app_engine) == 0


@pytest.mark.parametrize("role", ["manager", None])
def test_data_actions_refuse_other_roles(
    app: Flask, app_engine: Engine, spring: str, role: str | None
) -> None:
    instrument = mixed_instrument()
    token = add_invitation(app_engine, spring)
    answer(app_engine, spring, token, 3)
    client = signed_in(app, app_engine, role) if role else app.test_client()
    page = f"/studio/campaigns/{spring}"
    content = table_bytes(instrument, random_records(instrument, 2))
    for url, data in (
        (f"{page}/import", {"responses": upload(content, "r.csv")}),
        (f"{page}/erase", {"reference": token, "confirm": "y"}),
    ):
        reply = post_form(client, "/login", url, data)
        assert reply.status_code == (403 if role else 303), url
    for fmt in ("csv", "xlsx", "sav"):
        reply = client.get(f"{page}/export.{fmt}")
        assert reply.status_code == (403 if role else 303), fmt
        assert b"rel_a" not in reply.data
    assert response_count(app_engine) == 1


def test_exports_of_a_campaign_without_responses_read_back_empty(
    app: Flask, app_engine: Engine, spring: str, tmp_path: Path
) -> None:
    client = signed_in(app, app_engine)
    page = f"/studio/campaigns/{spring}"
    header = client.get(f"{page}/export.csv").data.decode("utf-8").splitlines()
    assert len(header) == 1
    assert header[0].startswith("response_id,submitted_at,segment,stage,channel,rel_a__")
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{page}/export.xlsx").data))
    rows = list(book["responses"].iter_rows(values_only=True))
    assert [list(row) for row in rows] == [header[0].split(",")]
    path = tmp_path / "empty.sav"
    path.write_bytes(client.get(f"{page}/export.sav").data)
    frame, meta = pyreadstat.read_sav(str(path))
    assert len(frame) == 0
    assert list(frame.columns) == header[0].split(",")
    assert meta.column_names_to_labels["overall"] == "Overall satisfaction"
