"""The synthetic-data generator and the demo database (surveys/demo.py, docs/demo-data.md).

The planted effects are checked in the raw numbers the way a reader of the demo report would
find them, on the shipped service-quality instrument; each check would fail if its effect were
missing or reversed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from instruments import LIBRARY_DIR, library_files
from surveys.answers import parse_answers
from surveys.clock import as_utc
from surveys.db import make_engine, read_session, write_session
from surveys.demo import COMMENTS, DEFAULT_EFFECTS, OUTAGE_MONTH, generate_records, populate_demo
from surveys.instrument import Instrument, Measure
from surveys.instrument_loader import load_instrument_file, load_instrument_text
from surveys.migrate import current, head
from surveys.models import Access, Answer, Campaign, InstrumentVersion, Response, Source
from surveys.response_table import ResponseRecord
from surveys.services.instruments import get_instrument, instrument_of
from surveys.services.invitations import find_invitation
from surveys.services.responses import response_records
from surveys.taxonomy import add_term, ensure_defaults

SEGMENTS = ("consumer", "small_business", "enterprise")
STAGES = ("pre_sales", "purchase", "onboarding", "after_sales", "renewal")
CHANNELS = ("web", "hotline", "store", "email")
START = date(2025, 1, 1)

#: Every kind of answer slot an instrument can have, outside the service-quality survey.
PULSE = """
key: pulse
version: 3
title: Quick pulse
scales:
  agree5: {points: 5, not_applicable: true}
  sat5: {points: 5}
  ease7: {points: 7}
  grade: {min: 0, max: 4}
dimensions:
  - {key: responsiveness, label: Responsiveness}
  - {key: digital, label: Digital experience}
items:
  - key: res_fast
    dimension: responsiveness
    text: Answers came fast
    measures: [perception, importance]
    scale: agree5
  - key: res_wait
    dimension: responsiveness
    text: I had to wait too long
    measures: [perception, importance]
    scale: agree5
    reverse: true
  - {key: dig_app, dimension: digital, text: The app works, measures: [rating], scale: grade,
     required: false}
  - {key: dig_site, dimension: digital, text: The website is clear, measures: [perception],
     scale: agree5}
  - {key: csat, text: Overall satisfaction, measures: [rating], scale: sat5, score: csat}
  - {key: nps, text: Recommend us?, measures: [nps], score: nps}
  - {key: effort, text: Effort, measures: [ces], scale: ease7, score: ces, required: false}
  - key: who
    text: You are
    measures: [choice]
    classifies: segment
    options:
      - {key: home, label: At home, segment: consumer}
      - {key: firm, label: A business, segment: small_business}
  - key: heard
    text: How did you hear of us?
    measures: [choice]
    required: false
    options:
      - {key: friend, label: A friend}
      - {key: ad, label: An advert}
  - {key: why, text: Why?, measures: [text], max_length: 12}
  - {key: more, text: Anything else?, measures: [text], required: false}
"""


@pytest.fixture(scope="module")
def service_quality() -> Instrument:
    return load_instrument_file(LIBRARY_DIR / "service-quality.yaml")


@pytest.fixture(scope="module")
def pulse() -> Instrument:
    return load_instrument_text(PULSE)


def generate(
    instrument: Instrument, n: int, seed: int = 11, **options: object
) -> list[ResponseRecord]:
    settings: dict[str, object] = {
        "segments": SEGMENTS,
        "stages": STAGES,
        "channels": CHANNELS,
        "start": START,
        **options,
    }
    chunks = generate_records(instrument, n=n, seed=seed, **settings)  # type: ignore[arg-type]
    return [record for chunk in chunks for record in chunk]


@pytest.fixture(scope="module")
def population(service_quality: Instrument) -> pd.DataFrame:
    """20,000 service-quality respondents with their dimension and overall gaps."""
    records = generate(
        service_quality,
        20_000,
        segments=dict(DEFAULT_EFFECTS.segment_mix),
        channels=dict(DEFAULT_EFFECTS.channel_mix),
    )
    return respondent_table(service_quality, records)


def respondent_table(instrument: Instrument, records: Iterable[ResponseRecord]) -> pd.DataFrame:
    """One row per response: context, every slot, dimension gaps (methods.md: at least half the
    items with a gap) and the overall gap (mean of the dimension gaps)."""
    frame = pd.DataFrame(
        [
            {
                **record.answers.values,
                "segment": record.segment,
                "stage": record.stage,
                "channel": record.channel,
                "month": (record.submitted_at.year - START.year) * 12
                + record.submitted_at.month
                - START.month,
            }
            for record in records
        ]
    )
    for item in instrument.items:
        for slot in instrument.slots_of(item):
            if item.reverse and slot.name in frame:
                scale = instrument.scale_of(item)
                frame[slot.name] = scale.min + scale.max - frame[slot.name]
    for dim in instrument.dimensions:
        items = [item for item in instrument.gap_items if item.dimension == dim.key]
        gaps = pd.concat(
            [
                frame.get(item.slot_name(Measure.PERCEPTION))
                - frame.get(item.slot_name(Measure.EXPECTATION))
                for item in items
            ],
            axis=1,
        )
        enough = gaps.notna().sum(axis=1) >= math.ceil(len(items) / 2)
        frame[f"gap_{dim.key}"] = gaps.mean(axis=1).where(enough)
    frame["gap_overall"] = frame[[f"gap_{dim.key}" for dim in instrument.dimensions]].mean(axis=1)
    return frame


def cronbach_alpha(items: pd.DataFrame) -> float:
    complete = items.dropna()
    k = complete.shape[1]
    return k / (k - 1) * (1 - complete.var().sum() / complete.sum(axis=1).var())


# Determinism and validity ---------------------------------------------------------------------
def test_same_seed_gives_identical_records_whatever_the_chunk_size(pulse: Instrument) -> None:
    """Does a seed fix every record, ids included, independently of how it is chunked?"""
    first = generate(pulse, 5_000, seed=3)
    again = generate(pulse, 5_000, seed=3, chunk_size=777)
    other = generate(pulse, 5_000, seed=4)

    assert first == again
    assert [r.response_id for r in first] != [r.response_id for r in other]
    assert [r.answers for r in first[:50]] != [r.answers for r in other[:50]]
    chunks = list(
        generate_records(
            pulse,
            n=5_000,
            seed=3,
            segments=SEGMENTS,
            stages=STAGES,
            channels=CHANNELS,
            start=START,
            chunk_size=777,
        )
    )
    assert [len(chunk) for chunk in chunks] == [777] * 6 + [5_000 - 6 * 777]


def test_a_prefix_of_a_larger_run_is_the_smaller_run(pulse: Instrument) -> None:
    """Is n a pure length: the first 1,000 of 9,000 records are the 1,000 records?"""
    assert generate(pulse, 9_000)[:1_000] == generate(pulse, 1_000)


@pytest.mark.parametrize(
    "source", [*library_files(), PULSE], ids=lambda s: getattr(s, "stem", "pulse")
)
def test_every_answer_set_is_valid_for_its_instrument(source: Path | str) -> None:
    """Does every generated answer set, for every library instrument and one with every kind
    of slot, pass the one validator (complete and strict) and come back unchanged?"""
    if isinstance(source, Path):
        instrument = load_instrument_file(source)
    else:
        instrument = load_instrument_text(source)
    records = generate(instrument, 3_000)

    for record in records:
        parsed = parse_answers(instrument, record.answers.raw(), require_complete=True, strict=True)
        assert parsed == record.answers

    slots = {slot.name for slot in instrument.slots()}
    answered = [set(record.answers.values) | record.answers.not_applicable for record in records]
    offers_na = any(
        instrument.scale_of(item).not_applicable for item in instrument.items if item.scale
    )
    with_na = sum(bool(record.answers.not_applicable) for record in records)
    assert with_na > 100 if offers_na else with_na == 0
    optional = {
        slot.name
        for item in instrument.items
        if not item.required
        for slot in instrument.slots_of(item)
    }
    assert optional
    assert any(optional - names for names in answered)
    assert set().union(*answered) == slots


def test_required_slots_are_always_answered_and_optional_ones_sometimes_skipped(
    pulse: Instrument,
) -> None:
    """Are skipped answers confined to optional items, at a plausible rate?"""
    records = generate(pulse, 4_000)
    for item in pulse.items:
        for slot in pulse.slots_of(item):
            given = sum(
                slot.name in r.answers.values or slot.name in r.answers.not_applicable
                for r in records
            )
            if item.required:
                assert given == len(records), slot.name
            elif item.measures == (Measure.TEXT,):
                assert 0.25 < given / len(records) < 0.45, slot.name
            else:
                assert 0.9 < given / len(records) < 1, slot.name


def test_importance_allocation_sums_exactly_to_the_total(service_quality: Instrument) -> None:
    """Does every allocation give each dimension points that add up to exactly 100?"""
    records = generate(service_quality, 5_000)
    names = [f"{dim.key}__importance" for dim in service_quality.dimensions]
    allocations = [
        [r.answers.values[n] for n in names] for r in records if names[0] in r.answers.values
    ]

    assert 0.9 * len(records) < len(allocations) < len(records)
    points = np.array(allocations)
    assert (points.sum(axis=1) == 100).all()
    assert (points >= 0).all()
    means = dict(zip(names, points.mean(axis=0), strict=True))
    assert means["reliability__importance"] > means["tangibles__importance"] + 10


def test_ids_are_unique_and_times_fall_in_the_generated_year(service_quality: Instrument) -> None:
    records = generate(service_quality, 10_000, start=date(2025, 3, 15), months=12)

    assert len({r.response_id for r in records}) == len(records)
    times = [r.submitted_at for r in records]
    assert min(times) >= datetime(2025, 3, 15, tzinfo=UTC)
    assert max(times) < datetime(2026, 3, 1, tzinfo=UTC)
    assert all(t.tzinfo is not None for t in times[:100])
    months = pd.Series([(t.year, t.month) for t in times]).value_counts()
    assert len(months) == 12
    assert months.max() < 1.25 * months.min()


def test_a_classification_item_matches_the_respondent_segment(pulse: Instrument) -> None:
    records = generate(pulse, 2_000)
    mapping = {"home": "consumer", "firm": "small_business"}
    for record in records:
        chosen = record.answers.values["who"]
        if record.segment in mapping.values():
            assert mapping[str(chosen)] == record.segment


def test_comments_come_from_the_bank_in_both_languages(service_quality: Instrument) -> None:
    records = generate(service_quality, 4_000)
    comments = [str(r.answers.values["comment"]) for r in records if "comment" in r.answers.values]
    bank = {text for pair in COMMENTS.values() for language in pair for text in language}

    assert 0.25 < len(comments) / len(records) < 0.45
    assert set(comments) <= bank
    chinese = [c for c in comments if any("\u4e00" <= ch <= "\u9fff" for ch in c)]
    assert 0.15 < len(chinese) / len(comments) < 0.35


def test_text_answers_respect_the_item_length_limit(pulse: Instrument) -> None:
    records = generate(pulse, 500)
    assert all(len(str(r.answers.values["why"])) <= 12 for r in records)


def test_bad_arguments_are_refused(pulse: Instrument) -> None:
    with pytest.raises(ValueError, match="n must"):
        generate(pulse, -1)
    with pytest.raises(ValueError, match="seed must"):
        generate(pulse, 10, seed=-1)
    with pytest.raises(ValueError, match="segments"):
        generate(pulse, 10, segments=())
    assert generate(pulse, 0) == []


# Realism --------------------------------------------------------------------------------------
def test_scales_are_reliable_like_real_ones(
    service_quality: Instrument, population: pd.DataFrame
) -> None:
    """Is Cronbach's alpha of each dimension, expectation and perception, in 0.75-0.92?"""
    for dim in service_quality.dimensions:
        for measure in (Measure.EXPECTATION, Measure.PERCEPTION):
            columns = [
                item.slot_name(measure)
                for item in service_quality.items
                if item.dimension == dim.key
            ]
            alpha = cronbach_alpha(population[columns])
            assert 0.75 <= alpha <= 0.92, (dim.key, measure, alpha)


def test_perception_drives_satisfaction(population: pd.DataFrame) -> None:
    """Do respondents who perceive better service give higher CSAT?"""
    perception = population.filter(like="__perception").mean(axis=1)
    assert population["overall_satisfaction"].corr(perception) > 0.3
    assert 0.5 < (population["overall_satisfaction"] >= 4).mean() < 0.8


# Planted effects (docs/demo-data.md) ----------------------------------------------------------
def test_responsiveness_gap_is_worst_for_small_business_after_sales_and_improves(
    population: pd.DataFrame,
) -> None:
    """(a) Is small-business after-sales the worst cell for responsiveness, improving from the
    first quarter to the last?"""
    cells = population.groupby(["segment", "stage"])["gap_responsiveness"].mean()
    worst = cells.idxmin()
    assert worst == ("small_business", "after_sales")
    assert cells[worst] < cells.drop(worst).min() - 0.15
    assert -1.2 < cells[worst] < -0.6

    cell = population[
        (population.segment == "small_business") & (population.stage == "after_sales")
    ]
    first = cell[cell.month < 3]["gap_responsiveness"]
    last = cell[cell.month >= 9]["gap_responsiveness"]
    assert last.mean() - first.mean() > 0.4
    monthly = cell[cell.month != OUTAGE_MONTH].groupby("month")["gap_responsiveness"].mean()
    slope = np.polyfit(monthly.index, monthly.to_numpy(), 1)[0]
    assert 0.04 < slope < 0.1


def test_enterprise_expects_more_on_the_service_dimensions(population: pd.DataFrame) -> None:
    """(b) Are enterprise gaps larger on each service dimension because expectations are higher
    (perception alike)?"""
    by_segment = population.groupby("segment")
    for dim in ("reliability", "responsiveness", "assurance", "empathy"):
        gaps = by_segment[f"gap_{dim}"].mean()
        assert gaps["enterprise"] < gaps["consumer"] - 0.15, dim
    expectation = population.filter(like="__expectation").mean(axis=1)
    perception = population.filter(like="__perception").mean(axis=1)
    by = population["segment"]
    assert expectation[by == "enterprise"].mean() > expectation[by == "consumer"].mean() + 0.15
    assert abs(perception[by == "enterprise"].mean() - perception[by == "consumer"].mean()) < 0.05


def test_onboarding_falls_short_on_reliability(population: pd.DataFrame) -> None:
    """(c) Is the reliability gap at onboarding clearly worse than at every other stage?"""
    gaps = population.groupby("stage")["gap_reliability"].mean()
    assert gaps.idxmin() == "onboarding"
    assert gaps["onboarding"] < gaps.drop("onboarding").min() - 0.3


def test_tangibles_meet_expectations(population: pd.DataFrame) -> None:
    """(d) Is the tangibles gap zero within its sampling error, overall and by segment?"""
    gaps = population["gap_tangibles"].dropna()
    t = gaps.mean() / (gaps.std() / math.sqrt(len(gaps)))
    assert abs(gaps.mean()) < 0.03
    assert abs(t) < 3
    assert population.groupby("segment")["gap_tangibles"].mean().abs().max() < 0.06


def test_hotline_has_lower_csat_but_ordinary_gaps(population: pd.DataFrame) -> None:
    """(e) Is CSAT top-2-box lower on the hotline than on every other channel, while its gaps
    are like the others'?"""
    by_channel = population.groupby("channel")
    top2 = by_channel["overall_satisfaction"].apply(lambda s: (s >= 4).mean())
    assert top2.idxmin() == "hotline"
    assert top2["hotline"] < top2.drop("hotline").min() - 0.05
    gaps = by_channel["gap_overall"].mean()
    assert gaps.max() - gaps.min() < 0.05


def test_the_outage_month_is_a_control_chart_signal(population: pd.DataFrame) -> None:
    """(f) On an X-bar chart of the monthly overall gap (methods.md), is the outage month the
    only point beyond the 3-sigma limits, and below them?"""
    monthly = population.groupby("month")["gap_overall"].agg(["mean", "var", "count"])
    centre = population["gap_overall"].mean()
    sigma = math.sqrt(
        ((monthly["count"] - 1) * monthly["var"]).sum() / (monthly["count"] - 1).sum()
    )
    z = (monthly["mean"] - centre) / (sigma / np.sqrt(monthly["count"]))
    assert list(z.index[z.abs() > 3]) == [OUTAGE_MONTH]
    assert z[OUTAGE_MONTH] < -3


def test_without_planted_effects_the_signals_vanish(service_quality: Instrument) -> None:
    """Do the effect checks measure the planted effects and not the model's structure? With no
    effects, no segment x stage cell stands out and no month leaves the control limits."""
    null = replace(DEFAULT_EFFECTS, effects=())
    frame = respondent_table(service_quality, generate(service_quality, 20_000, effects=null))

    cells = frame.groupby(["segment", "stage"])["gap_responsiveness"].mean()
    assert cells.max() - cells.min() < 0.2
    stages = frame.groupby("stage")["gap_reliability"].mean()
    assert stages.max() - stages.min() < 0.1
    monthly = frame.groupby("month")["gap_overall"].agg(["mean", "count"])
    z = (monthly["mean"] - frame["gap_overall"].mean()) / (
        frame["gap_overall"].std() / np.sqrt(monthly["count"])
    )
    assert z.abs().max() < 3
    top2 = frame.groupby("channel")["overall_satisfaction"].apply(lambda s: (s >= 4).mean())
    assert top2.max() - top2.min() < 0.04


def test_every_planted_effect_is_documented() -> None:
    """Does docs/demo-data.md name every effect of the default model?"""
    text = (Path(__file__).resolve().parents[2] / "docs" / "demo-data.md").read_text("utf-8")
    for effect in DEFAULT_EFFECTS.effects:
        assert f"`{effect.key}`" in text, effect.key
        assert effect.description


# The demo database ----------------------------------------------------------------------------
TODAY = date(2026, 11, 23)
FIRST = datetime(2025, 11, 1, tzinfo=UTC)


def demo_counts(engine: Engine) -> dict[str, int]:
    with read_session(engine) as session:
        return {
            "responses": session.scalar(select(func.count(Response.id))) or 0,
            "answers": session.scalar(select(func.count(Answer.id))) or 0,
            "campaigns": session.scalar(select(func.count(Campaign.id))) or 0,
            "instruments": session.scalar(select(func.count(InstrumentVersion.id))) or 0,
        }


def test_populate_demo_builds_campaigns_and_stores_valid_responses(engine: Engine) -> None:
    """Does the demo make every stage x segment x channel campaign of the service-quality
    survey, the other library campaigns and an invitation campaign, and store the responses
    (valid, in their own campaign's cell, inside the year) with source demo?"""
    with write_session(engine) as session:
        ensure_defaults(session)
        add_term(session, "segment", "public_sector", "Public sector")

    summary = populate_demo(engine, responses=400, seed=5, today=TODAY)

    assert summary.created
    assert summary.responses == 400
    assert dict(summary.by_instrument) == {
        "service-quality": 280,
        "hotline-post-call": 40,
        "relationship-pulse": 40,
        "service-recovery": 40,
    }
    segments = (*SEGMENTS, "public_sector")
    wanted = {
        f"sq-{stage}-{segment}-{channel}".replace("_", "-")
        for stage in STAGES
        for segment in segments
        for channel in CHANNELS
    }
    with read_session(engine) as session:
        campaigns = {c.key: c for c in session.scalars(select(Campaign))}
        assert wanted <= set(campaigns)
        assert {"sq-after-sales-small-business-hotline", "pulse-renewal", "sq-invited"} <= set(
            campaigns
        )
        assert "hotline-after-sales-enterprise" in campaigns
        assert len(campaigns) == len(summary.campaigns) + 1 == 80 + 4 + 1 + 8 + 1
        assert campaigns["sq-invited"].access == Access.INVITATION
        for campaign in campaigns.values():
            assert as_utc(campaign.opens_at) == FIRST
            assert campaign.closes_at is None
            assert campaign.state(datetime(2026, 11, 23, tzinfo=UTC)) == "open"
        assert summary.open_links[0] == "/s/sq-pre-sales-consumer-web"

        stored = session.execute(
            select(Response, Campaign).join(Campaign, Response.campaign_id == Campaign.id)
        ).all()
        assert len(stored) == 400
        for response, campaign in stored:
            assert response.source == Source.DEMO
            assert (response.stage, response.channel) == (campaign.stage, campaign.channel)
            assert campaign.segment in (None, response.segment)
            assert FIRST <= as_utc(response.submitted_at) < datetime(2026, 11, 1, tzinfo=UTC)
            assert response.uid.startswith("syn-")
        per_campaign = {c.key: c.responses for c in summary.campaigns}
        assert sum(per_campaign.values()) == 400
        assert per_campaign["pulse-renewal"] == 40

        for key in ("service-quality", "relationship-pulse"):
            row = get_instrument(session, key)
            assert row is not None
            instrument = instrument_of(row)
            for record in response_records(session, instrument_row=row):
                assert parse_answers(instrument, record.answers.raw(), strict=True) == (
                    record.answers
                )

        assert len(summary.invitation_links) == 3
        invited = [
            find_invitation(session, link.removeprefix("/i/")) for link in summary.invitation_links
        ]
        assert all(
            inv is not None and inv.campaign_id == campaigns["sq-invited"].id for inv in invited
        )
        assert {inv.segment for inv in invited if inv} == set(SEGMENTS)

    lines = summary.describe("http://127.0.0.1:5000")
    assert "http://127.0.0.1:5000/s/sq-pre-sales-consumer-web" in "\n".join(lines)
    assert any(line.strip().startswith("http://127.0.0.1:5000/i/") for line in lines)


def test_populate_demo_twice_adds_no_data(engine: Engine) -> None:
    """Does a second run find the demo data, add nothing but fresh personal links, and say so?"""
    populate_demo(engine, responses=150, today=TODAY)
    before = demo_counts(engine)

    again = populate_demo(engine, responses=150, today=TODAY)

    assert not again.created
    assert demo_counts(engine) == before
    assert again.responses == 150
    assert "already present" in again.describe()[0]
    with read_session(engine) as session:
        for link in again.invitation_links:
            assert find_invitation(session, link.removeprefix("/i/")) is not None


def test_populate_demo_migrates_a_fresh_database(tmp_path: Path) -> None:
    """On a fresh machine (no database file), is the schema made by the migrations?"""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = make_engine(url)
    try:
        summary = populate_demo(fresh, responses=50, today=TODAY)
        assert summary.responses == 50
        assert current(url) == head()
    finally:
        fresh.dispose()
