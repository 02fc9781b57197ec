"""The database path: aggregate cells kept up to date from stored responses give the same
assessment, number for number, as the same responses read as records (the CSV path)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, update

import analysis.commands
from analysis import store
from analysis.assessment import assess
from analysis.data import frame_from_records
from analysis.results import AnalysisError
from analysis.store import (
    DECODED,
    assess_campaign,
    cells_from_database,
    frame_from_database,
    rebuild_aggregates,
    refresh_aggregates,
)
from analysis.sufficient import CellKey, CellStats
from surveys import taxonomy
from surveys.db import write_session
from surveys.demo import generate_records
from surveys.instrument import Instrument
from surveys.models import (
    AggregateCell,
    Campaign,
    Response,
    Source,
)
from surveys.response_table import ResponseRecord
from surveys.services.campaigns import create_campaign
from surveys.services.instruments import register_instrument
from surveys.services.responses import store_records
from tests.analysis.conftest import SMALL, cells_of

SEGMENTS = ("consumer", "small_business", "enterprise")
STAGES = ("purchase", "after_sales", "renewal")
CHANNELS = ("web", "hotline")
CAMPAIGNS = ("spring", "autumn")
BY = ("segment", "stage")


@dataclass
class Stored:
    """A database with the small instrument registered and two campaigns fielding it."""

    engine: Engine
    instrument: Instrument
    version_id: int
    records: dict[str, list[ResponseRecord]]

    def add(self, campaign: str, n: int, seed: int, **period: Any) -> list[ResponseRecord]:
        """Generate ``n`` responses and store them in ``campaign`` (the bulk path)."""
        new = generated(self.instrument, n, seed, **period)
        with write_session(self.engine) as session:
            row = session.scalar(select(Campaign).where(Campaign.key == campaign))
            assert row is not None
            store_records(
                session, campaign=row, instrument=self.instrument, records=new, source=Source.DEMO
            )
        self.records.setdefault(campaign, []).extend(new)
        return new

    def all_records(self) -> list[ResponseRecord]:
        return [record for chunk in self.records.values() for record in chunk]


def generated(
    instrument: Instrument, n: int, seed: int, start: date = date(2026, 1, 10), months: int = 4
) -> list[ResponseRecord]:
    return [
        record
        for chunk in generate_records(
            instrument,
            n=n,
            seed=seed,
            segments=SEGMENTS,
            stages=STAGES,
            channels=CHANNELS,
            start=start,
            months=months,
        )
        for record in chunk
    ]


@pytest.fixture
def stored(engine: Engine, small: Instrument) -> Iterator[Stored]:
    with write_session(engine) as session:
        taxonomy.ensure_defaults(session)
        row = register_instrument(session, small, SMALL)
        for key in CAMPAIGNS:
            create_campaign(
                session,
                key=key,
                name=key.title(),
                instrument_row=row,
                stage="purchase",
                channel="web",
                opens_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        version_id = row.id
    yield Stored(engine, small, version_id, {})
    DECODED.clear()


def comparable(assessment: Any) -> dict[str, Any]:
    data = assessment.to_json()
    for field in ("generated_at", "data_hash", "filters"):
        data["meta"].pop(field)
    return data


def assert_same(actual: Any, expected: Any, path: str = "") -> None:
    """Equal structure and values; floats within 1e-9 (summation order may differ)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert actual.keys() == expected.keys(), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}/{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), path
        assert len(actual) == len(expected), path
        for i, (a, b) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(expected, float) and isinstance(actual, float):
        assert actual == pytest.approx(expected, abs=1e-9, rel=0), path
    else:
        assert actual == expected, path


def assert_same_assessment(
    cells: dict[CellKey, CellStats], records: Sequence[ResponseRecord], instrument: Instrument
) -> None:
    expected = assess(cells_of(instrument, records), instrument, by=BY)
    actual = assess(cells, instrument, by=BY)
    assert actual.meta.n_responses == len(records)
    assert_same(comparable(actual), comparable(expected))


# The frame ------------------------------------------------------------------------------------
def test_frame_from_database_equals_frame_from_records(stored: Stored) -> None:
    """Does the vectorised reader give exactly the respondent frame of the same records
    (reverse keys, not-applicable flags, choice positions, missing allocations)?"""
    stored.add("spring", 150, seed=1)
    stored.add("autumn", 90, seed=2)
    with stored.engine.connect() as connection:
        frame = frame_from_database(
            connection, stored.instrument, [Response.instrument_id == stored.version_id]
        )
    assert frame["campaign"].value_counts().to_dict() == {"spring": 150, "autumn": 90}
    expected = frame_from_records(stored.all_records(), stored.instrument)
    actual = frame.drop(columns="campaign")
    key = "response_id"
    pd.testing.assert_frame_equal(
        actual.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
    )
    na_columns = [column for column in frame.columns if column.startswith("na:")]
    assert frame[na_columns].to_numpy().any()  # the data did exercise not-applicable answers
    assert frame["contact"].notna().any()


# Refresh ----------------------------------------------------------------------------------------
def test_incremental_refreshes_give_the_assessment_of_the_records(stored: Stored) -> None:
    """Refreshed after each of three deliveries, do the cells give the same assessment, number
    for number, as all the responses read as records?"""
    results = []
    for step, campaign in enumerate(("spring", "autumn", "spring")):
        stored.add(campaign, 120, seed=10 + step)
        results.append(refresh_aggregates(stored.engine))
    assert [result.responses for result in results] == [120, 120, 120]
    assert results[-1].watermark(stored.version_id) == _max_response_id(stored.engine)
    cells = cells_from_database(stored.engine, instrument_version_id=stored.version_id)
    assert {key.campaign for key in cells} == set(CAMPAIGNS)
    assert_same_assessment(cells, stored.all_records(), stored.instrument)


def test_refreshing_twice_adds_nothing(stored: Stored) -> None:
    stored.add("spring", 100, seed=3)
    first = refresh_aggregates(stored.engine, instrument_version_id=stored.version_id)
    before = _stored_cells(stored.engine)
    second = refresh_aggregates(stored.engine, instrument_version_id=stored.version_id)
    assert first.responses == 100
    assert first.cells == len(before) > 0
    assert (second.responses, second.cells) == (0, 0)
    assert second.watermarks == first.watermarks
    assert _stored_cells(stored.engine) == before


def test_new_responses_after_a_refresh_are_folded_in(stored: Stored) -> None:
    stored.add("spring", 80, seed=4)
    cells_from_database(stored.engine, instrument_version_id=stored.version_id)
    old = _stored_cells(stored.engine)
    stored.add("spring", 40, seed=5, start=date(2026, 4, 1), months=1)
    cells = cells_from_database(stored.engine, instrument_version_id=stored.version_id)
    assert sum(cell.n for cell in cells.values()) == 120
    touched = {key for key, value in _stored_cells(stored.engine).items() if old.get(key) != value}
    assert touched
    assert all(key[-1] == "2026-04" for key in touched)
    assert_same_assessment(cells, stored.all_records(), stored.instrument)


def test_rebuild_equals_the_incremental_cells(stored: Stored) -> None:
    stored.add("spring", 70, seed=6)
    refresh_aggregates(stored.engine)
    stored.add("autumn", 70, seed=7)
    refresh_aggregates(stored.engine)
    incremental = _decoded_cells(stored)
    result = rebuild_aggregates(stored.engine, stored.version_id)
    assert result.responses == 140
    rebuilt = _decoded_cells(stored)
    assert rebuilt.keys() == incremental.keys()
    for key, cell in rebuilt.items():
        other = incremental[key]
        assert (cell.ints == other.ints).all()
        assert cell.floats == pytest.approx(other.floats, abs=1e-9)


def test_concurrent_refreshers_fold_each_response_once(stored: Stored) -> None:
    """Do refreshers started together wait for one another (or find nothing left to do)
    rather than folding the same responses twice?"""
    stored.add("spring", 200, seed=8)
    stored.add("autumn", 200, seed=9)
    barrier = threading.Barrier(4)
    results: list[Any] = []
    errors: list[BaseException] = []

    def refresher() -> None:
        try:
            barrier.wait()
            results.append(refresh_aggregates(stored.engine, batch_size=50))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=refresher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(result.responses for result in results) == 400
    assert sorted(result.responses for result in results)[:-1] == [0, 0, 0]
    cells = cells_from_database(stored.engine, instrument_version_id=stored.version_id)
    assert_same_assessment(cells, stored.all_records(), stored.instrument)


def test_a_stale_cell_is_recomputed_from_the_raw_rows_left(stored: Stored) -> None:
    """Erasure (a later feature) deletes a response and marks its cell stale: does the next
    read recompute that cell without the erased answers?"""
    stored.add("spring", 120, seed=11)
    refresh_aggregates(stored.engine)
    gone = stored.records["spring"].pop(0)
    with write_session(stored.engine) as session:
        response = session.scalar(select(Response).where(Response.uid == gone.response_id))
        assert response is not None
        period = f"{gone.submitted_at:%Y-%m}"
        session.execute(
            update(AggregateCell)
            .where(
                AggregateCell.campaign_id == response.campaign_id,
                AggregateCell.segment == response.segment,
                AggregateCell.stage == response.stage,
                AggregateCell.channel == response.channel,
                AggregateCell.period == period,
            )
            .values(stale=True)
        )
        session.delete(response)
    cells = cells_from_database(stored.engine, instrument_version_id=stored.version_id)
    assert sum(cell.n for cell in cells.values()) == 119
    assert_same_assessment(cells, stored.all_records(), stored.instrument)
    assert refresh_aggregates(stored.engine).recomputed == 0


# Reading cells ------------------------------------------------------------------------------------
def test_filters_select_the_right_cells(stored: Stored) -> None:
    stored.add("spring", 150, seed=12)
    stored.add("autumn", 150, seed=13)
    chosen = {"segments": ("enterprise", "consumer"), "stages": ("renewal",), "channels": ("web",)}
    cells = cells_from_database(
        stored.engine,
        instrument_version_id=stored.version_id,
        campaign_keys=("autumn",),
        **chosen,
    )
    assert cells
    assert {key.campaign for key in cells} == {"autumn"}
    assert {key.segment for key in cells} <= set(chosen["segments"])
    assert {(key.stage, key.channel) for key in cells} == {("renewal", "web")}
    expected = [
        r
        for r in stored.records["autumn"]
        if r.segment in chosen["segments"] and r.stage == "renewal" and r.channel == "web"
    ]
    assert_same_assessment(cells, expected, stored.instrument)


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [
        (date(2026, 2, 1), date(2026, 3, 31)),  # whole months: aggregates only
        (date(2026, 1, 20), date(2026, 3, 31)),  # cuts January
        (date(2026, 2, 1), date(2026, 4, 14)),  # cuts April
        (date(2026, 2, 10), date(2026, 2, 20)),  # inside one month
        (None, date(2026, 2, 27)),
        (date(2026, 3, 3), None),
    ],
)
def test_a_date_range_counts_exactly_the_days_it_names(
    stored: Stored, date_from: date | None, date_to: date | None
) -> None:
    """Whole months come from the aggregates, cut months from raw rows of the range: the
    result equals the records whose UTC day is in the range."""
    stored.add("spring", 300, seed=14)
    cells = cells_from_database(
        stored.engine,
        instrument_version_id=stored.version_id,
        date_from=date_from,
        date_to=date_to,
    )
    expected = [
        r
        for r in stored.all_records()
        if (date_from is None or r.submitted_at.date() >= date_from)
        and (date_to is None or r.submitted_at.date() <= date_to)
    ]
    assert 0 < len(expected) < 300
    assert_same_assessment(cells, expected, stored.instrument)


def test_an_empty_date_range_is_refused(stored: Stored) -> None:
    with pytest.raises(AnalysisError, match="2026-03-02 is after 2026-03-01"):
        cells_from_database(
            stored.engine,
            instrument_version_id=stored.version_id,
            date_from=date(2026, 3, 2),
            date_to=date(2026, 3, 1),
        )


def test_unchanged_cells_are_not_decoded_again(stored: Stored) -> None:
    """Does a warm reader reuse its decoding of unchanged cells, and decode changed ones anew?"""
    stored.add("spring", 100, seed=15)
    first = cells_from_database(stored.engine, instrument_version_id=stored.version_id)
    again = cells_from_database(stored.engine, instrument_version_id=stored.version_id)
    assert all(again[key] is cell for key, cell in first.items())
    stored.add("spring", 30, seed=16, start=date(2026, 4, 1), months=1)
    later = cells_from_database(stored.engine, instrument_version_id=stored.version_id)
    changed = {key for key in later if key not in first or later[key] is not first[key]}
    assert changed
    assert all(key.period == "2026-04" for key in changed)
    with pytest.raises(ValueError, match="read-only"):
        next(iter(later.values())).ints[0] = 1


# Assessments of campaigns ----------------------------------------------------------------------
def test_assess_campaign_reads_only_that_campaign(stored: Stored) -> None:
    stored.add("spring", 120, seed=17)
    stored.add("autumn", 60, seed=18)
    assessment = assess_campaign(stored.engine, "autumn", by=BY, min_cell=3)
    expected = assess(
        cells_of(stored.instrument, stored.records["autumn"]),
        stored.instrument,
        by=BY,
        min_cell=3,
        targets=stored.instrument.targets,
    )
    assert_same(comparable(assessment), comparable(expected))
    assert assessment.meta.filters == {"campaign": "autumn"}
    assert len(assessment.targets) == len(stored.instrument.targets) > 0
    assert assessment.meta.data_hash.startswith("cells-sha256:")


def test_assess_campaign_names_an_unknown_campaign(stored: Stored) -> None:
    with pytest.raises(AnalysisError, match="no campaign 'winter'"):
        assess_campaign(stored.engine, "winter")


def test_gapmeter_analyze_campaign_reads_the_database(
    stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gapmeter analyze --campaign KEY --format json`` through the registered source."""
    monkeypatch.setattr(analysis.commands, "_campaign_sources", [])
    stored.add("spring", 90, seed=19)
    store.register_analyze_campaigns(lambda: stored.engine)
    result = CliRunner().invoke(
        analysis.commands.analyze,
        ["--campaign", "spring", "--by", "segment", "--format", "json", "--min-cell", "3"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = assess(
        cells_of(stored.instrument, stored.records["spring"]),
        stored.instrument,
        by=("segment",),
        min_cell=3,
        targets=stored.instrument.targets,
    ).to_json()
    assert data["meta"]["filters"] == {"campaigns": ["spring"]}
    for part in ("meta", "generated_at"), ("meta", "data_hash"), ("meta", "filters"):
        data[part[0]].pop(part[1])
        expected[part[0]].pop(part[1])
    assert_same(data, expected)
    unknown = CliRunner().invoke(analysis.commands.analyze, ["--campaign", "winter"])
    assert unknown.exit_code != 0
    assert "no campaign 'winter'" in unknown.output


# Helpers ---------------------------------------------------------------------------------------
def _max_response_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.max(Response.id))) or 0)


def _stored_cells(engine: Engine) -> dict[tuple[Any, ...], tuple[int, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                AggregateCell.campaign_id,
                AggregateCell.segment,
                AggregateCell.stage,
                AggregateCell.channel,
                AggregateCell.period,
                AggregateCell.etag,
                AggregateCell.stats,
            )
        ).all()
    return {tuple(row[:5]): (row.etag, row.stats) for row in rows}


def _decoded_cells(stored: Stored) -> dict[CellKey, CellStats]:
    DECODED.clear()
    return cells_from_database(stored.engine, instrument_version_id=stored.version_id)
