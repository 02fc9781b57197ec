"""Cell statistics: mergeable by addition, exact, and stored as versioned JSON."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.assessment import assess
from analysis.data import cells_from_frame, frame_from_records
from analysis.gaps import wilcoxon_signed_rank
from analysis.results import AnalysisError
from analysis.sufficient import CellLayout, CellStats, sum_cells
from tests.analysis.conftest import cells_of, record

GAP_SLOTS = [
    f"{item}__{m}"
    for item in ("c1", "c2", "c3", "s1", "s2", "o1")
    for m in ("expectation", "perception")
]


@st.composite
def answers(draw: st.DrawFn) -> dict[str, str]:
    """One respondent of the small instrument: any mix of values, empty and NA."""
    raw: dict[str, str] = {}
    for slot in GAP_SLOTS:
        raw[slot] = draw(st.sampled_from(["1", "2", "3", "4", "5", "5", "4", "", "NA"]))
    raw["sat"] = draw(st.sampled_from(["", "1", "2", "3", "4", "5"]))
    raw["rec"] = draw(st.sampled_from(["", *map(str, range(11))]))
    raw["effort"] = draw(st.sampled_from(["", "1", "4", "7"]))
    raw["contact"] = draw(st.sampled_from(["", "phone", "mail"]))
    if draw(st.booleans()):
        first = draw(st.integers(0, 100))
        second = draw(st.integers(0, 100 - first))
        raw |= {
            "care__importance": str(first),
            "speed__importance": str(second),
            "solo__importance": str(100 - first - second),
        }
    return raw


respondents = st.lists(
    st.tuples(
        answers(),
        st.sampled_from(["consumer", "enterprise"]),
        st.sampled_from(["2026-01-10T09:00:00+00:00", "2026-02-20T18:00:00+00:00"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@given(respondents)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_merged_cells_equal_cells_of_the_concatenated_data(small, rows) -> None:
    """Cells built from two parts and added equal the cells built from all rows at once."""
    records = [record(small, raw, segment=segment, when=when) for raw, segment, when, _ in rows]
    first = cells_of(small, [r for r, row in zip(records, rows, strict=True) if row[3]] or [])
    second = cells_of(small, [r for r, row in zip(records, rows, strict=True) if not row[3]])
    whole = cells_of(small, records)
    assert set(first) | set(second) == set(whole)
    for key, cell in whole.items():
        parts = [part[key] for part in (first, second) if key in part]
        merged = parts[0] + parts[1] if len(parts) == 2 else parts[0]
        np.testing.assert_array_equal(merged.ints, cell.ints)
        np.testing.assert_allclose(merged.floats, cell.floats, rtol=1e-12, atol=1e-12)
    # And the statistics computed from merged cells are those of the raw rows.
    merged_all = sum_cells([*first.values(), *second.values()], small)
    direct = sum_cells(whole.values(), small)
    assert merged_all.n == direct.n == len(records)
    a = assess(dict(whole), small, min_cell=1)
    b = assess(
        {
            **{k: v for k, v in first.items() if k not in second},
            **second,
            **{k: first[k] + second[k] for k in first.keys() & second.keys()},
        },
        small,
        min_cell=1,
    )
    assert json.dumps(_numbers(a.to_json()["groups"])) == json.dumps(
        _numbers(b.to_json()["groups"])
    )


def _numbers(value):
    """Round floats to 9 digits so float sums merged in another order compare equal."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, float):
        return round(value, 9)
    return value


@given(respondents)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_json_round_trip_is_exact(small, rows) -> None:
    for cell in cells_of(small, [record(small, raw) for raw, *_ in rows]).values():
        blob = json.loads(json.dumps(cell.to_json(), allow_nan=False))
        assert CellStats.from_json(blob, small) == cell


def raw_dimension_gaps(frame: pd.DataFrame, items: list[str]) -> np.ndarray:
    """Respondent dimension gaps computed directly from the frame (methods.md definition)."""
    gaps = pd.concat(
        [frame[f"{i}__perception"] - frame[f"{i}__expectation"] for i in items], axis=1
    )
    available = gaps.notna().sum(axis=1)
    keep = available >= -(-len(items) // 2)
    return gaps.mean(axis=1)[keep].to_numpy()


def test_dimension_gap_histogram_gives_scipy_wilcoxon_on_raw_respondents(small) -> None:
    """The signed-rank test from the exact fraction histogram equals scipy on the raw gaps."""
    rng = np.random.default_rng(2)
    rows = []
    for _ in range(300):
        raw = {slot: str(rng.integers(1, 6)) if rng.random() > 0.15 else "" for slot in GAP_SLOTS}
        rows.append(record(small, raw))
    frame = frame_from_records(rows, small)
    cell = sum_cells(cells_from_frame(frame, small).values(), small)
    gaps = raw_dimension_gaps(frame, ["c1", "c2", "c3"])
    counts = cell.dimension_gaps("care")
    assert counts.n == len(gaps)
    expected = stats.wilcoxon(gaps, zero_method="wilcox", correction=True, method="approx")
    assert wilcoxon_signed_rank(counts).p == pytest.approx(expected.pvalue, abs=1e-12)
    moments = counts.moments()
    assert moments.mean == pytest.approx(gaps.mean(), abs=1e-12)
    assert moments.sd == pytest.approx(gaps.std(ddof=1), abs=1e-12)


def test_layout_of_the_reference_instrument(servqual) -> None:
    layout = CellLayout.of(servqual)
    assert len(layout.pairs) == 22
    assert [b.slot for b in layout.singles] == ["overall_csat", "recommend", "effort"]
    assert [b.dimension for b in layout.dimensions] == [
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
        "tangibles",
    ]
    assert len(layout.reliability) == 10
    assert layout.allocation_total == 100
    # Five items with a gap, at least three present: every s/m with m in 3..5.
    grid = layout.dimension("reliability").grid
    assert Fraction(-1, 3) in grid
    assert Fraction(7, 4) in grid
    assert Fraction(1, 2) not in grid or Fraction(2, 4) in grid


def test_blobs_of_another_instrument_or_format_are_refused(small, servqual) -> None:
    cell = cells_of(small, [record(small, {"c1__expectation": 3, "c1__perception": 4})])
    blob = next(iter(cell.values())).to_json()
    with pytest.raises(AnalysisError, match="small v3"):
        CellStats.from_json(blob, servqual)
    with pytest.raises(AnalysisError, match="version"):
        CellStats.from_json({**blob, "format_version": 99}, small)
    with pytest.raises(AnalysisError, match="unknown slot"):
        CellStats.from_json({**blob, "missing": {"nope": [1, 0]}}, small)
    with pytest.raises(AnalysisError, match="not a possible gap"):
        CellStats.from_json(
            {
                **blob,
                "dimensions": {
                    "care": {"gaps": {"1/7": 1}, "expectation_sum": 0, "perception_sum": 0}
                },
            },
            small,
        )
    with pytest.raises(AnalysisError, match="outside the scale"):
        CellStats.from_json({**blob, "pairs": {"c1": {"9:1": 1}}}, small)
    with pytest.raises(AnalysisError, match="malformed"):
        CellStats.from_json({**blob, "pairs": {"c1": {"x": 1}}}, small)


def test_cells_of_different_instruments_do_not_merge(small, servqual) -> None:
    with pytest.raises(AnalysisError, match="different instruments"):
        CellStats.empty(small) + CellStats.empty(servqual)
    with pytest.raises(AnalysisError):
        sum_cells([CellStats.empty(servqual)], small)


def test_keys_spelt_otherwise_than_to_json_writes_them_still_read(small) -> None:
    """The decoder looks keys up as ``to_json`` writes them and parses any other spelling:
    ``"04:5"`` is ``"4:5"``, ``"2/4"`` is ``"1/2"`` (both checked as before)."""
    records = [
        record(
            small,
            {
                "c1__expectation": 4,
                "c1__perception": 5,
                "c2__expectation": 4,
                "c2__perception": 4,
                "sat": 4,
            },
        )
    ]
    cell = next(iter(cells_of(small, records).values()))
    blob = json.loads(json.dumps(cell.to_json()))
    assert blob["pairs"]["c1"] == {"4:5": 1}
    assert blob["dimensions"]["care"]["gaps"] == {"1/2": 1}
    assert blob["values"]["sat"] == {"4": 1}
    respelt = json.loads(json.dumps(blob))
    respelt["pairs"]["c1"] = {"04:5": 1}
    respelt["dimensions"]["care"]["gaps"] = {"2/4": 1}
    respelt["values"]["sat"] = {"+4": 1}
    assert CellStats.from_json(respelt, small) == cell
    assert CellStats.from_json(blob, small) == cell
