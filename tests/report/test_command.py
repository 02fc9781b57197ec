"""``gapmeter report``: the analyze command's options, a PDF written, comments read from the
response table's text answers."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from analysis import commands
from analysis.report.command import SHARED, report
from analysis.report.comments import comments_from_records
from surveys.instrument_loader import load_instrument_file
from surveys.response_table import read_response_table

DATA = Path(__file__).parent / "data"
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "servqual-240"


def test_report_reuses_the_analyze_options_themselves() -> None:
    """Does `report` take the very option objects of `analyze`, so filters never drift apart?"""
    analyze = {param.name: param for param in commands.analyze.params}
    own = {param.name: param for param in report.params}
    for name in SHARED:
        assert own[name] is analyze[name]


def test_report_needs_data_or_a_campaign(tmp_path: Path) -> None:
    result = CliRunner().invoke(report, ["--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "give either --data" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_report_of_a_response_table_writes_the_pdf(tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(
        report,
        [
            "--data",
            str(REFERENCE / "responses.csv"),
            "--instrument",
            str(DATA / "servqual-240-bilingual.yaml"),
            "--by",
            "segment",
            "--out",
            str(out),
            "--paper",
            "Letter",
            "--organisation",
            "Harbour Telecom",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    cover = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert "HARBOUR TELECOM" in cover
    assert "n = 240" in cover
    assert round(float(reader.pages[0].mediabox.width)) == 612


def test_an_unknown_language_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        report,
        ["--data", str(REFERENCE / "responses.csv"), "--out", str(tmp_path / "x.pdf"),
         "--lang", "de"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "de" in result.output


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rows = [
        "response_id,submitted_at,segment,stage,channel,res_1__expectation,res_1__perception,"
        "res_2__expectation,res_2__perception,remarks",
        "a1,2026-03-01T10:00:00Z,consumer,onboarding,web,7,3,6,4,Nobody called back.",
        "a2,2026-03-02T10:00:00Z,consumer,onboarding,web,5,5,,,",
        'a3,2026-03-03T10:00:00Z,enterprise,renewal,hotline,4,6,5,5,"Quick, thanks"',
        "a4,2026-03-04T10:00:00Z,enterprise,renewal,hotline,6,,,,Only one answer",
    ]
    path = tmp_path / "responses.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_comments_come_with_the_respondents_dimension_gaps(table: Path) -> None:
    instrument = load_instrument_file(DATA / "with-comments.yaml")
    comments = comments_from_records(read_response_table(table, instrument), instrument)
    by_id = {c.response_id: c for c in comments}
    assert set(by_id) == {"a1", "a3", "a4"}  # a2 wrote nothing
    assert by_id["a1"].text == "Nobody called back."
    assert by_id["a1"].gaps["responsiveness"] == pytest.approx(-3.0)  # (-4 + -2) / 2
    assert by_id["a3"].gaps["responsiveness"] == pytest.approx(1.0)
    assert by_id["a4"].gaps["responsiveness"] is None  # no item with a gap
    assert by_id["a1"].group == {"segment": "consumer", "stage": "onboarding", "channel": "web"}
