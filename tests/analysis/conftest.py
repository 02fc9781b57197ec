"""Fixtures for the statistics engine: a small instrument covering every kind of item, and a
builder of respondent records in the shape ``analysis.data`` reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from analysis.data import cells_from_frame, frame_from_records
from analysis.sufficient import CellKey, CellStats
from surveys.answers import parse_answers
from surveys.instrument import Instrument
from surveys.instrument_loader import load_instrument_file, load_instrument_text

DATA = Path(__file__).resolve().parents[1] / "data"

GAP = "measures: [expectation, perception], scale: agree5, required: false"
SMALL = f"""
key: small
version: 3
title: Small test instrument
scales:
  agree5: {{points: 5, not_applicable: true}}
  csat5: {{points: 5}}
  ces7: {{points: 7}}
dimensions:
  - {{key: care, label: Care}}
  - {{key: speed, label: Speed}}
  - {{key: solo, label: Solo}}
items:
  - {{key: c1, dimension: care, text: C1, {GAP}}}
  - {{key: c2, dimension: care, text: C2, {GAP}}}
  - {{key: c3, dimension: care, text: C3, reverse: true, {GAP}}}
  - {{key: s1, dimension: speed, text: S1, {GAP}}}
  - {{key: s2, dimension: speed, text: S2, {GAP}}}
  - {{key: o1, dimension: solo, text: O1, {GAP}}}
  - {{key: sat, text: Satisfied?, measures: [rating], scale: csat5, score: csat, required: false}}
  - {{key: rec, text: Recommend?, measures: [nps], score: nps, required: false}}
  - {{key: effort, text: Effort?, measures: [ces], scale: ces7, score: ces, required: false}}
  - key: contact
    text: How did you contact us?
    measures: [choice]
    required: false
    options:
      - {{key: phone, label: Phone}}
      - {{key: mail, label: Mail}}
  - {{key: comment, text: Anything else?, measures: [text], required: false}}
importance: {{method: points, total: 100, over: dimensions}}
targets:
  - {{key: care_gap, metric: dimension_gap, subject: care, threshold: -1, direction: at_least}}
  - key: csat_goal
    metric: csat_top2
    threshold: 0.5
    direction: at_least
    scope: {{segment: consumer}}
  - {{key: nps_goal, metric: nps, threshold: 0, direction: at_least}}
  - {{key: effort_cap, metric: ces_mean, threshold: 3, direction: at_most}}
  - {{key: c1_gap, metric: item_gap, subject: c1, threshold: 0, direction: at_least}}
"""


@pytest.fixture(scope="session")
def small() -> Instrument:
    return load_instrument_text(SMALL, "small.yaml")


@pytest.fixture(scope="session")
def servqual() -> Instrument:
    return load_instrument_file(DATA / "instruments" / "servqual-240.yaml")


def record(
    instrument: Instrument,
    answers: Mapping[str, Any],
    *,
    segment: str = "consumer",
    stage: str = "purchase",
    channel: str = "web",
    when: datetime | str = "2026-03-15T12:00:00+00:00",
    response_id: str | None = None,
    counter: list[int] = [0],  # noqa: B006 - a running number for default ids
) -> Any:
    """A ``ResponseRecord`` parsed the way every entry point parses it (``parse_answers``)."""
    from surveys.response_table import ResponseRecord

    counter[0] += 1
    submitted = datetime.fromisoformat(when) if isinstance(when, str) else when
    return ResponseRecord(
        response_id=response_id or f"t{counter[0]:06d}",
        submitted_at=submitted.astimezone(UTC),
        segment=segment,
        stage=stage,
        channel=channel,
        answers=parse_answers(
            instrument, {k: str(v) for k, v in answers.items()}, require_complete=False
        ),
    )


def cells_of(instrument: Instrument, records: Iterable[Any]) -> dict[CellKey, CellStats]:
    return cells_from_frame(frame_from_records(list(records), instrument), instrument)


@pytest.fixture
def make_cells() -> Callable[..., dict[CellKey, CellStats]]:
    return cells_of
