"""The data layer: records → respondent frame (reverse-keyed, NA apart) → cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data import NA_PREFIX, cell_keys, cells_from_frame, frame_from_records
from analysis.results import AnalysisError
from analysis.sufficient import CellKey, CellLayout, sum_cells
from tests.analysis.conftest import record


def test_reverse_keyed_items_are_recoded_before_anything(small) -> None:
    """c3 is reverse-keyed on 1..5: e = 1, p = 5 becomes e = 5, p = 1 (gap −4)."""
    frame = frame_from_records(
        [record(small, {"c3__expectation": 1, "c3__perception": 5, "c1__expectation": 1})],
        small,
    )
    assert frame.loc[0, "c3__expectation"] == 5
    assert frame.loc[0, "c3__perception"] == 1
    assert frame.loc[0, "c1__expectation"] == 1
    cell = sum_cells(cells_from_frame(frame, small).values(), small)
    counts, e_mean, p_mean = cell.item_gaps("c3")
    assert counts.moments().mean == -4
    assert (e_mean, p_mean) == (5.0, 1.0)


def test_not_applicable_and_empty_are_both_missing_but_counted_apart(small) -> None:
    records = [
        record(small, {"c1__expectation": "NA", "c1__perception": 4}),
        record(small, {"c1__perception": 2}),
        record(small, {"c1__expectation": 3, "c1__perception": 3}),
    ]
    frame = frame_from_records(records, small)
    assert frame[NA_PREFIX + "c1__expectation"].tolist() == [True, False, False]
    cell = sum_cells(cells_from_frame(frame, small).values(), small)
    assert cell.missing("c1__expectation") == (1, 1)  # (empty, not applicable)
    assert cell.missing("c1__perception") == (0, 0)
    assert cell.item_gaps("c1")[0].n == 1


def test_choice_answers_count_per_option(small) -> None:
    records = [record(small, {"contact": "mail"}), record(small, {"contact": "mail"})]
    cell = sum_cells(cells_of_frame(small, records).values(), small)
    counts = cell.value_counts("contact")
    assert counts.counts.tolist() == [0, 2]


def cells_of_frame(small, records):
    return cells_from_frame(frame_from_records(records, small), small)


def test_cells_are_calendar_months_in_utc(small) -> None:
    """23:30 at UTC−2 on 31 January is February in UTC."""
    records = [
        record(small, {}, when="2026-01-31T23:30:00-02:00", segment="consumer"),
        record(small, {}, when="2026-01-31T21:30:00-02:00", segment="consumer"),
        record(small, {}, when="2026-01-05T10:00:00+00:00", segment="enterprise", channel="store"),
    ]
    keys, rows = cell_keys(frame_from_records(records, small))
    assert keys == [
        CellKey("consumer", "purchase", "web", "2026-01"),
        CellKey("consumer", "purchase", "web", "2026-02"),
        CellKey("enterprise", "purchase", "store", "2026-01"),
    ]
    assert rows.tolist() == [1, 0, 2]


def test_a_campaign_column_joins_the_key(small) -> None:
    frame = frame_from_records([record(small, {}), record(small, {})], small)
    frame["campaign"] = ["spring", "autumn"]
    assert sorted(c.campaign for c in cells_from_frame(frame, small)) == ["autumn", "spring"]


def test_values_off_the_scale_and_missing_columns_are_refused(small) -> None:
    frame = frame_from_records([record(small, {"sat": 4})], small)
    frame.loc[0, "sat"] = 9
    with pytest.raises(AnalysisError, match=r"sat: values outside the scale 1\.\.5"):
        cells_from_frame(frame, small)
    with pytest.raises(AnalysisError, match="lacks columns"):
        cells_from_frame(frame.drop(columns=["c1__expectation"]), small)


def test_empty_frame_has_no_cells(small) -> None:
    assert cells_from_frame(frame_from_records([], small), small) == {}


def synthetic_frame(instrument, n: int, seed: int = 0) -> pd.DataFrame:
    """A respondent frame built directly (the documented columns), as the benchmark does."""
    rng = np.random.default_rng(seed)
    layout = CellLayout.of(instrument)
    columns = {
        "response_id": np.arange(n).astype(str),
        "submitted_at": pd.Timestamp("2025-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s"),
        "segment": rng.choice(["consumer", "small_business", "enterprise"], n),
        "stage": rng.choice(["pre_sales", "purchase", "onboarding", "after_sales"], n),
        "channel": rng.choice(["web", "hotline", "store"], n),
    }
    for slot in layout.slots:
        if layout.has_single(slot):
            block = layout.single(slot)
            values = rng.integers(block.low, block.high + 1, n).astype(float)
        elif slot.endswith("__importance"):
            values = np.full(n, 20.0)
        else:
            values = rng.integers(1, 8, n).astype(float)
        values[rng.random(n) < 0.05] = np.nan
        columns[slot] = values
    return pd.DataFrame(columns)


@pytest.mark.slow
def test_a_million_respondents_fold_into_cells(servqual) -> None:
    """At scale nothing is lost or counted twice (the time it takes is benchmarks/' business)."""
    frame = synthetic_frame(servqual, 1_000_000)
    cells = cells_from_frame(frame, servqual)
    assert sum(cell.n for cell in cells.values()) == 1_000_000
    whole = sum_cells(cells.values(), servqual)
    answered = frame["rel_1__expectation"].notna() & frame["rel_1__perception"].notna()
    assert whole.item_gaps("rel_1")[0].n == int(answered.sum())


def test_synthetic_frame_cells_add_up(servqual) -> None:
    frame = synthetic_frame(servqual, 5_000, seed=3)
    cells = cells_from_frame(frame, servqual)
    whole = sum_cells(cells.values(), servqual)
    assert whole.n == 5_000
    answered = frame["rel_1__expectation"].notna() & frame["rel_1__perception"].notna()
    assert whole.item_gaps("rel_1")[0].n == int(answered.sum())
