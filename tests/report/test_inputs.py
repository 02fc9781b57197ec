"""What the report reads besides the assessment: comments from stored campaigns (the same as
from the response table they were imported from), the comment rule applied to them through
``gapmeter report --campaign``, and answer distributions summed from the assessment's cells."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import Engine

import analysis.commands
from analysis import store
from analysis.data import cells_from_frame
from analysis.report import command
from analysis.report.inputs import (
    comments_from_database,
    comments_from_table,
    distributions_from_cells,
)
from surveys import taxonomy
from surveys.db import write_session
from surveys.instrument import Instrument
from surveys.instrument_loader import load_instrument_file
from surveys.response_table import import_response_table
from surveys.services.campaigns import create_campaign
from surveys.services.instruments import register_instrument

DATA = Path(__file__).parent / "data"
INSTRUMENT = DATA / "with-comments.yaml"
HEADER = (
    "response_id,submitted_at,segment,stage,channel,"
    "res_1__expectation,res_1__perception,res_2__expectation,res_2__perception,remarks"
)


def rows() -> list[dict[str, object]]:
    """30 consumers (gaps from -5.5 to +0.5) and 8 enterprise customers (below the comment
    threshold of 10; gap -5.5, the worst); two respondents in three write a remark naming
    themselves."""
    found = []
    for i in range(38):
        segment = "consumer" if i < 30 else "enterprise"
        e1, e2 = 7, 6
        p1, p2 = (1 + i % 7, 1 + (i * 3) % 6) if segment == "consumer" else (1, 1)
        remark = f"Remark of r{i:02d}: too slow." if i % 3 else ""
        found.append(
            {
                "response_id": f"r{i:02d}",
                "submitted_at": f"2026-03-{1 + i % 28:02d}T10:00:00Z",
                "segment": segment,
                "stage": "onboarding",
                "channel": "web",
                "values": (e1, p1, e2, p2),
                "remark": remark,
            }
        )
    return found


@pytest.fixture
def table(tmp_path: Path) -> Path:
    lines = [HEADER]
    for row in rows():
        values = ",".join(str(v) for v in row["values"])  # type: ignore[attr-defined]
        lines.append(
            f"{row['response_id']},{row['submitted_at']},{row['segment']},{row['stage']},"
            f"{row['channel']},{values},{row['remark']}"
        )
    path = tmp_path / "responses.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def commented() -> Instrument:
    """A small gap survey with a free-text question."""
    return load_instrument_file(INSTRUMENT)


@pytest.fixture
def stored(engine: Engine, commented: Instrument, table: Path) -> Engine:
    """The table imported into campaign ``spring`` (and an empty campaign ``autumn``)."""
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        row = register_instrument(session, commented, INSTRUMENT.read_text("utf-8"))
        for key in ("spring", "autumn"):
            create_campaign(
                session,
                key=key,
                name=key.title(),
                instrument_row=row,
                stage="onboarding",
                channel="web",
                opens_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
    import_response_table(engine, table, campaign_key="spring")
    return engine


def as_tuples(comments: list[command.Comment]) -> list[tuple[object, ...]]:
    return sorted(
        (c.response_id, c.text, tuple(sorted(c.gaps.items())), tuple(sorted(c.group.items())))
        for c in comments
    )


def test_stored_comments_equal_those_of_the_imported_table(stored, commented, table) -> None:
    """Same texts, same respondents' gaps, segments, stages and channels, on both databases."""
    from_db = comments_from_database(stored, ("spring",), commented)
    from_table = comments_from_table(table, commented)
    assert len(from_db) == sum(1 for row in rows() if row["remark"]) == 25
    assert as_tuples(from_db) == as_tuples(from_table)
    r01 = next(c for c in from_db if c.response_id == "r01")
    assert r01.gaps["responsiveness"] == pytest.approx(respondent_gap(rows()[1]["values"]))  # type: ignore[arg-type]
    assert r01.group == {"segment": "consumer", "stage": "onboarding", "channel": "web"}


def test_only_the_chosen_campaigns_and_at_most_the_limit_are_read(stored, commented) -> None:
    assert comments_from_database(stored, ("autumn",), commented) == []
    first = comments_from_database(stored, ("spring", "autumn"), commented, limit=4)
    assert [c.response_id for c in first] == ["r01", "r02", "r04", "r05"]  # response order


def respondent_gap(values: tuple[int, int, int, int]) -> float:
    e1, p1, e2, p2 = values
    return ((p1 - e1) + (p2 - e2)) / 2


def test_report_campaign_prints_the_comments_the_rule_picks(
    stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gapmeter report --campaign spring --by segment``: the three consumers with the most
    negative own gap who wrote something are quoted; nothing of the enterprise group (8 < 10)
    is, though its gaps are the most negative of all; the report says one was withheld."""
    monkeypatch.setattr(analysis.commands, "_campaign_sources", [])
    monkeypatch.setattr(command, "_comment_databases", [])
    store.register_analyze_campaigns(lambda: stored)
    command.register_comment_database(lambda: stored)
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(
        command.report, ["--campaign", "spring", "--by", "segment", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    pages = PdfReader(io.BytesIO(out.read_bytes())).pages
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))
    ranked = sorted(
        (respondent_gap(row["values"]), row["response_id"])  # type: ignore[arg-type]
        for row in rows()
        if row["remark"] and row["segment"] == "consumer"
    )
    expected = {rid for _gap, rid in ranked[:3]}
    shown = set(re.findall(r"Remark of (r\d\d)", text))
    assert shown == expected
    enterprise = [r for r in rows() if r["segment"] == "enterprise" and r["remark"]]
    assert max(respondent_gap(r["values"]) for r in enterprise) <= ranked[0][0]  # type: ignore[arg-type]
    assert not {r["response_id"] for r in enterprise} & shown
    assert "Comments from" in text
    assert "withheld" in text


def test_no_comments_option_leaves_them_out(
    stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analysis.commands, "_campaign_sources", [])
    monkeypatch.setattr(command, "_comment_databases", [])
    store.register_analyze_campaigns(lambda: stored)
    command.register_comment_database(lambda: stored)
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(
        command.report, ["--campaign", "spring", "--no-comments", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert "Remark of" not in text


def test_distributions_are_the_counts_of_the_cells(
    frame: pd.DataFrame, instrument: Instrument
) -> None:
    """Summed from the assessment's cells (the reference data), they equal a plain count of
    the answers."""
    found = distributions_from_cells(cells_from_frame(frame, instrument), instrument)
    assert set(found) == {"recommend", "overall_csat", "effort"}  # NPS, CSAT, CES
    for key, counts in found.items():
        raw = frame[key].dropna().to_numpy()
        values, expected = np.unique(raw, return_counts=True)
        assert {v: c for v, c in counts.items() if c} == dict(
            zip(values.astype(int).tolist(), expected.tolist(), strict=True)
        )
        scale = instrument.scale_of(instrument.item(key))
        assert sorted(counts) == list(scale.values)  # every answer value, zeros included
