"""The shipped instrument library and the reference-data instrument: each loads, round-trips
through its canonical JSON (and the database), and has the structure it promises."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import Engine, select

from instruments import library_files
from surveys.answers import parse_answers, segment_from_answers
from surveys.db import read_session, write_session
from surveys.instrument import Instrument, Measure, Score
from surveys.instrument_loader import (
    instrument_from_json,
    instrument_schema,
    library_instruments,
    load_instrument_file,
)
from surveys.models import InstrumentVersion

DATA = Path(__file__).resolve().parents[1] / "data" / "instruments"
SEGMENTS = {"consumer", "small_business", "enterprise"}
STAGES = {"pre_sales", "purchase", "onboarding", "after_sales", "renewal"}
CHANNELS = {"web", "hotline", "store", "email"}
TAXONOMY = {"segment": SEGMENTS, "stage": STAGES, "channel": CHANNELS}

ALL_FILES = [*library_files(), DATA / "servqual-240.yaml"]


@pytest.fixture(scope="module")
def library() -> dict[str, Instrument]:
    return {instrument.key: instrument for instrument in library_instruments()}


def texts_in(node: Any) -> Iterator[dict[str, str]]:
    """Every text mapping (language -> text) in canonical JSON."""
    if isinstance(node, dict):
        if node and all(isinstance(value, str) for value in node.values()) and "en" in node:
            yield node
        else:
            for value in node.values():
                yield from texts_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts_in(value)


# Every file --------------------------------------------------------------------------------------
def test_library_holds_the_four_instruments(library: dict[str, Instrument]) -> None:
    assert sorted(library) == [
        "hotline-post-call",
        "relationship-pulse",
        "service-quality",
        "service-recovery",
    ]
    assert [path.stem for path in library_files()] == sorted(library)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: path.stem)
def test_file_round_trips_through_canonical_json(path: Path) -> None:
    instrument = load_instrument_file(path)
    data = instrument.to_json()

    Draft202012Validator(instrument_schema()).validate(data)
    stored = json.loads(json.dumps(data, ensure_ascii=False))
    again = instrument_from_json(stored)
    assert again == instrument
    assert again.content_hash == instrument.content_hash
    assert again.to_json() == data
    assert instrument.key == path.stem


@pytest.mark.parametrize("path", library_files(), ids=lambda path: path.stem)
def test_library_speaks_english_and_traditional_chinese(path: Path) -> None:
    instrument = load_instrument_file(path)
    texts = list(texts_in(instrument.to_json()))

    assert instrument.languages == ("en", "zh-Hant")
    assert len(texts) > 10
    for text in texts:
        assert list(text) == ["en", "zh-Hant"]
        assert any("\u4e00" <= char <= "\u9fff" for char in text["zh-Hant"]), text


@pytest.mark.parametrize("path", library_files(), ids=lambda path: path.stem)
def test_library_uses_the_default_taxonomy(path: Path) -> None:
    instrument = load_instrument_file(path)

    for target in instrument.targets:
        for name, value in target.scope:
            assert value in TAXONOMY[name], (target.key, name, value)
    for item in instrument.items:
        assert {option.segment for option in item.options} <= SEGMENTS | {None}


def test_canonical_json_survives_the_database(
    engine: Engine, library: dict[str, Instrument]
) -> None:
    with write_session(engine) as session:
        session.add_all(
            InstrumentVersion(
                key=instrument.key,
                version=instrument.version,
                title=instrument.title.get(),
                content_hash=instrument.content_hash,
                definition=instrument.to_json(),
                source="",
            )
            for instrument in library.values()
        )

    with read_session(engine) as session:
        rows = session.scalars(select(InstrumentVersion)).all()
        for row in rows:
            instrument = instrument_from_json(row.definition)
            assert instrument == library[row.key]
            assert instrument.content_hash == row.content_hash
    assert len(rows) == len(library)


# service-quality ---------------------------------------------------------------------------------
def test_service_quality_structure(library: dict[str, Instrument]) -> None:
    survey = library["service-quality"]

    counts = {dim.key: len(survey.dimension_items(dim.key)) for dim in survey.dimensions}
    assert counts == {
        "reliability": 5,
        "responsiveness": 4,
        "assurance": 4,
        "empathy": 5,
        "tangibles": 4,
    }
    assert len(survey.gap_items) == 22
    for item in survey.gap_items:
        assert item.measures == (Measure.EXPECTATION, Measure.PERCEPTION)
        scale = survey.scale_of(item)
        assert (scale.min, scale.max, scale.not_applicable) == (1, 7, True)
        assert scale.label(1)
        assert scale.label(7)
    assert [section.key for section in survey.sections[:5]] == list(counts)
    assert survey.importance is not None
    assert (survey.importance.method, survey.importance.total) == ("points", 100)
    assert [slot.name for slot in survey.slots()][-5:] == [f"{d}__importance" for d in counts]


def test_service_quality_scores_and_targets(library: dict[str, Instrument]) -> None:
    survey = library["service-quality"]

    csat = survey.score_item(Score.CSAT)
    assert csat is not None
    assert csat.measures == (Measure.RATING,)
    assert survey.scale_of(csat).points == 5
    assert survey.items_with(Measure.TEXT)[0].required is False
    targets = {(t.metric, t.subject, t.threshold, t.direction) for t in survey.targets}
    assert ("dimension_gap", "responsiveness", -0.5, "at_least") in targets
    assert ("csat_top2", csat.key, 0.6, "at_least") in targets


# relationship-pulse ------------------------------------------------------------------------------
def test_relationship_pulse_scores(library: dict[str, Instrument]) -> None:
    pulse = library["relationship-pulse"]

    csat, nps, ces = (pulse.score_item(score) for score in Score)
    assert csat is not None
    assert pulse.scale_of(csat).points == 5
    assert nps is not None
    assert nps.measures == (Measure.NPS,)
    assert (pulse.scale_of(nps).min, pulse.scale_of(nps).max) == (0, 10)
    assert ces is not None
    assert pulse.scale_of(ces).points == 7
    assert [item.key for item in pulse.items_with(Measure.TEXT)] == ["comment"]


def test_relationship_pulse_classifies_the_segment(library: dict[str, Instrument]) -> None:
    pulse = library["relationship-pulse"]
    [classifier] = [item for item in pulse.items if item.classifies == "segment"]

    assert {option.segment for option in classifier.options} == SEGMENTS
    for option in classifier.options:
        raw = {
            classifier.key: option.key,
            "satisfaction": "4",
            "recommend": "9",
            "effort": "2",
        }
        answers = parse_answers(pulse, raw, strict=True)
        assert segment_from_answers(pulse, answers) == option.segment


# hotline-post-call -------------------------------------------------------------------------------
def test_hotline_post_call_items(library: dict[str, Instrument]) -> None:
    hotline = library["hotline-post-call"]

    resolved = hotline.item("resolved")
    assert resolved.measures == (Measure.CHOICE,)
    assert [option.key for option in resolved.options] == ["yes", "no"]
    for key in ("wait_acceptable", "agent_knowledge", "agent_courtesy"):
        assert hotline.item(key).measures == (Measure.RATING,)
    csat = hotline.score_item(Score.CSAT)
    assert csat is not None
    assert hotline.scale_of(csat).points == 5
    assert hotline.item("comment").measures == (Measure.TEXT,)
    assert all(dict(target.scope) == {"channel": "hotline"} for target in hotline.targets)


# service-recovery --------------------------------------------------------------------------------
def test_service_recovery_fairness_dimensions(library: dict[str, Instrument]) -> None:
    recovery = library["service-recovery"]

    dims = [dim.key for dim in recovery.dimensions]
    assert dims == ["outcome", "procedure", "treatment"]
    for dim in dims:
        items = recovery.dimension_items(dim)
        assert len(items) >= 2
        assert all(item.measures == (Measure.RATING,) for item in items)
    assert recovery.score_item(Score.CSAT) is not None
    assert recovery.item("intention_to_stay").measures == (Measure.RATING,)
    assert [section.key for section in recovery.sections] == [*dims, "overall"]
    assert recovery.sections[-1].items == ("recovery_satisfaction", "intention_to_stay", "comment")


# servqual-240 (reference data) -------------------------------------------------------------------
@pytest.fixture(scope="module")
def servqual() -> Instrument:
    return load_instrument_file(DATA / "servqual-240.yaml")


@pytest.fixture(scope="module")
def reference_rows(reference_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    with (reference_dir / "servqual-240" / "responses.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def test_servqual_slots_are_the_reference_columns(
    servqual: Instrument, reference_rows: tuple[list[str], list[dict[str, str]]]
) -> None:
    header, _ = reference_rows
    answer_columns = header[5:]
    slots = [slot.name for slot in servqual.slots()]

    assert header[:5] == ["response_id", "submitted_at", "segment", "stage", "channel"]
    assert len(slots) == len(set(slots)) == len(answer_columns) == 52
    assert set(slots) == set(answer_columns)


def test_servqual_matches_the_reference_structure(
    servqual: Instrument, reference_dir: Path
) -> None:
    structure = json.loads((reference_dir / "servqual-240" / "structure.json").read_text())

    dimensions = {
        dim.key: [item.key for item in servqual.dimension_items(dim.key)]
        for dim in servqual.dimensions
    }
    assert dimensions == structure["dimensions"]
    assert [item.key for item in servqual.items if item.reverse] == structure["reverse_keyed"]
    assert not any(item.required for item in servqual.items)
    agree = servqual.scale_of(servqual.item("rel_1"))
    assert (agree.key, agree.min, agree.max, agree.not_applicable) == ("agree7", 1, 7, True)
    for item in servqual.gap_items:
        assert [str(m) for m in item.measures] == structure["paired_items_measures"]
    assert servqual.allocates_importance
    assert [slot.name for slot in servqual.slots() if slot.item is None] == (
        structure["importance"]["columns"]
    )
    scores = {item.key: item.score for item in servqual.items if item.score is not None}
    assert scores == {"overall_csat": Score.CSAT, "recommend": Score.NPS, "effort": Score.CES}
    assert servqual.scale_of(servqual.item("overall_csat")).points == 5
    assert servqual.scale_of(servqual.item("effort")).points == 7


def test_servqual_accepts_every_reference_response(
    servqual: Instrument, reference_rows: tuple[list[str], list[dict[str, str]]]
) -> None:
    header, rows = reference_rows
    answered = 0
    for row in rows:
        raw = {column: row[column] for column in header[5:]}
        answers = parse_answers(servqual, raw, require_complete=False, strict=True)
        answered += len(answers.values) + len(answers.not_applicable)

    assert len(rows) == 240
    assert answered > 240 * 50
