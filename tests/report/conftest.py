"""Fixtures for the report tests: the reference data analysed by the real engine, the reference
instrument with Traditional Chinese texts, and a guard that fails on any WeasyPrint log record."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.assessment import assess
from analysis.data import NA_PREFIX, cells_from_frame
from analysis.sufficient import CellLayout
from surveys.instrument import SCALED_MEASURES, Instrument
from surveys.instrument_loader import load_instrument_file

DATA = Path(__file__).parent / "data"
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "servqual-240"


@pytest.fixture(scope="session")
def instrument() -> Instrument:
    """The servqual-240 reference instrument in English and Traditional Chinese, with targets."""
    return load_instrument_file(DATA / "servqual-240-bilingual.yaml")


def reference_frame(instrument: Instrument) -> pd.DataFrame:
    """The reference responses as the respondent frame of ``analysis.data`` (reverse-keyed,
    ``NA`` flagged), read directly so these tests do not wait for the CSV importer."""
    raw = pd.read_csv(REFERENCE / "responses.csv", dtype=str, keep_default_na=False)
    layout = CellLayout.of(instrument)
    frame = pd.DataFrame(
        {
            "response_id": raw["response_id"],
            "submitted_at": pd.to_datetime(raw["submitted_at"], utc=True),
            "segment": raw["segment"],
            "stage": raw["stage"],
            "channel": raw["channel"],
        }
    )
    slots = {slot.name: slot for slot in instrument.slots()}
    columns: dict[str, Any] = {}
    for name in layout.slots:
        values = pd.to_numeric(raw[name].replace({"NA": ""}), errors="coerce").to_numpy(float)
        slot = slots[name]
        if slot.item and slot.measure in SCALED_MEASURES and instrument.item(slot.item).reverse:
            values = instrument.scale_of(instrument.item(slot.item)).reverse(values)
        columns[name] = values
    for name in layout.na_slots:
        columns[NA_PREFIX + name] = (raw[name] == "NA").to_numpy()
    return pd.concat([frame, pd.DataFrame(columns)], axis=1)


@pytest.fixture(scope="session")
def frame(instrument: Instrument) -> pd.DataFrame:
    return reference_frame(instrument)


def _assessment(instrument: Instrument, frame: pd.DataFrame, **options: Any) -> dict[str, Any]:
    cells = cells_from_frame(frame, instrument)
    result = assess(
        cells, instrument, targets=instrument.targets, data_hash="sha256:" + "ab" * 32, **options
    )
    return json.loads(json.dumps(result.to_json()))


@pytest.fixture(scope="session")
def assessment_by_segment_stage(instrument: Instrument, frame: pd.DataFrame) -> dict[str, Any]:
    """The engine's JSON for the reference data by segment × stage, min cell 10 (so the
    small-business · purchase cell, n = 9, is suppressed)."""
    return _assessment(instrument, frame, by=("segment", "stage"), min_cell=10)


@pytest.fixture(scope="session")
def assessment_by_segment(instrument: Instrument, frame: pd.DataFrame) -> dict[str, Any]:
    return _assessment(instrument, frame, by=("segment",))


@pytest.fixture(scope="session")
def earlier_assessment(instrument: Instrument, frame: pd.DataFrame) -> dict[str, Any]:
    """The first quarter alone, as a "previous period" for the change tests."""
    early = frame[frame["submitted_at"] < pd.Timestamp("2026-04-01", tz="UTC")]
    return _assessment(instrument, early.reset_index(drop=True))


@pytest.fixture(scope="session")
def later_assessment(instrument: Instrument, frame: pd.DataFrame) -> dict[str, Any]:
    late = frame[frame["submitted_at"] >= pd.Timestamp("2026-04-01", tz="UTC")]
    return _assessment(instrument, late.reset_index(drop=True))


@pytest.fixture
def reference_expected() -> dict[str, Any]:
    """R's results for the reference data (shaped like the contract; ``trend_slope``)."""
    return copy.deepcopy(json.loads((REFERENCE / "expected.json").read_text("utf-8")))


class WeasyPrintRecords(logging.Handler):
    """Collects every ``weasyprint`` log record but the progress steps (WeasyPrint's own tests
    fail on any record: ``assert_no_logs``). The render child's records are re-logged in the
    parent, so they arrive here too."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != "weasyprint.progress":
            self.messages.append(record.getMessage())


@contextmanager
def weasyprint_records() -> Iterator[list[str]]:
    handler = WeasyPrintRecords()
    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def no_weasyprint_logs() -> Iterator[None]:
    """Fail the test on any WeasyPrint log record."""
    with weasyprint_records() as messages:
        yield
    assert messages == []
