"""Synthetic responses with planted, documented effects, and the demo database built from them.

``generate_records`` is a pure, seeded, vectorised generator of valid answers to any instrument;
benchmarks and tests use it directly. ``populate_demo`` fills a database with the library,
campaigns over every stage and segment, a few invitations and a year of generated responses
(what ``gapmeter demo`` runs). The generative model and every planted effect are described in
``docs/demo-data.md``; ``DEFAULT_EFFECTS`` is that description as data.

The model, in brief: every respondent has a latent expectation and perception per dimension
(respondent-level general and dimension-specific random effects, so items of one dimension
correlate the way real scales do), shifted by the planted effects for their segment, stage,
channel and month. Items add an item offset and noise and are rounded onto their scale. A
satisfaction latent, driven by perception weighted by importance, feeds CSAT, NPS, effort and
other overall ratings.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import product

import numpy as np
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from instruments import library_files
from surveys.answers import AnswerSet
from surveys.clock import utcnow
from surveys.db import Base, write_session
from surveys.instrument import NPS_SCALE, Instrument, Item, Measure, Scale
from surveys.instrument_loader import load_instrument_file
from surveys.migrate import current, upgrade
from surveys.models import Access, Campaign, Response, Source
from surveys.response_table import ResponseRecord
from surveys.services.campaigns import NAME_LENGTH, create_campaign, get_campaign
from surveys.services.instruments import register_instrument
from surveys.services.invitations import issue_invitations
from surveys.services.responses import store_records
from surveys.taxonomy import ensure_defaults, list_terms


class EffectOn(StrEnum):
    """The latent variable an effect shifts."""

    EXPECTATION = "expectation"
    PERCEPTION = "perception"
    SATISFACTION = "satisfaction"  # CSAT, NPS, effort and overall ratings, not the gaps


@dataclass(frozen=True, slots=True)
class Effect:
    """One planted effect: ``size`` scale points (7-point scale) added to ``on`` for respondents
    in scope, changing by ``per_month`` each month. An empty scope tuple means "all"; months
    are 0-based indexes from the first generated month."""

    key: str
    description: str
    on: EffectOn
    size: float
    per_month: float = 0.0
    dimensions: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    months: tuple[int, ...] = ()

    def shift(self, month: int) -> float:
        """The effect's size in ``month`` (0-based)."""
        return self.size + self.per_month * month


@dataclass(frozen=True)
class EffectModel:
    """The population the demo data is drawn from: baseline levels and the planted effects.

    Levels are on a 7-point scale (other scales are mapped linearly). ``baseline_gaps`` are the
    perception minus expectation of a respondent no effect applies to; dimensions an instrument
    has but this model does not name get ``default_gap``. ``importance`` weights (summing to 1)
    drive the importance allocation and how much each dimension's perception counts for
    satisfaction.
    """

    expectation_mean: float
    baseline_gaps: tuple[tuple[str, float], ...]
    importance: tuple[tuple[str, float], ...]
    effects: tuple[Effect, ...]
    default_gap: float = -0.3
    segment_mix: tuple[tuple[str, float], ...] = ()
    channel_mix: tuple[tuple[str, float], ...] = ()

    def effect(self, key: str) -> Effect:
        for effect in self.effects:
            if effect.key == key:
                return effect
        raise KeyError(f"no planted effect {key!r}")

    def baseline_gap(self, dimension: str) -> float:
        return dict(self.baseline_gaps).get(dimension, self.default_gap)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.baseline_gaps)


SERVICE_DIMENSIONS = ("reliability", "responsiveness", "assurance", "empathy")
OUTAGE_MONTH = 6  # the seventh month of the generated year

DEFAULT_EFFECTS = EffectModel(
    expectation_mean=5.5,
    baseline_gaps=(
        ("reliability", -0.5),
        ("responsiveness", -0.3),
        ("assurance", -0.25),
        ("empathy", -0.35),
        ("tangibles", 0.0),
    ),
    importance=(
        ("reliability", 0.31),
        ("responsiveness", 0.23),
        ("assurance", 0.19),
        ("empathy", 0.16),
        ("tangibles", 0.11),
    ),
    segment_mix=(("consumer", 0.45), ("small_business", 0.35), ("enterprise", 0.20)),
    channel_mix=(("web", 0.40), ("hotline", 0.25), ("store", 0.20), ("email", 0.15)),
    effects=(
        Effect(
            key="small_business_after_sales_responsiveness",
            description=(
                "Small businesses in after-sales support wait too long: their perception of "
                "responsiveness is 1.0 point lower in the first month, recovering by 0.07 "
                "points a month (0.23 lower in the twelfth). Their responsiveness gap is the "
                "worst of any segment and stage, and improves steadily over the year."
            ),
            on=EffectOn.PERCEPTION,
            size=-1.0,
            per_month=0.07,
            dimensions=("responsiveness",),
            segments=("small_business",),
            stages=("after_sales",),
        ),
        Effect(
            key="enterprise_expectations",
            description=(
                "Enterprise customers expect more: expectations 0.3 points higher on "
                "reliability, responsiveness, assurance and empathy, so their gaps are larger "
                "(more negative) at equal perception. Tangibles are the exception."
            ),
            on=EffectOn.EXPECTATION,
            size=0.3,
            dimensions=SERVICE_DIMENSIONS,
            segments=("enterprise",),
        ),
        Effect(
            key="onboarding_reliability",
            description=(
                "Onboarding does not deliver what was promised: perception of reliability is "
                "0.5 points lower in the onboarding stage, for every segment and channel."
            ),
            on=EffectOn.PERCEPTION,
            size=-0.5,
            dimensions=("reliability",),
            stages=("onboarding",),
        ),
        Effect(
            key="tangibles_met",
            description=(
                "Tangibles meet expectations everywhere: expectation and perception of "
                "tangibles have the same distribution in every segment, stage, channel and "
                "month, so the tangibles gap is zero (not distinguishable from zero). No "
                "other effect touches tangibles; this null effect guards against false "
                "findings."
            ),
            on=EffectOn.PERCEPTION,
            size=0.0,
            dimensions=("tangibles",),
        ),
        Effect(
            key="hotline_satisfaction",
            description=(
                "The hotline leaves customers less satisfied than the other channels at the "
                "same perceived service quality: CSAT and NPS are lower and effort higher for "
                "hotline responses, while their gaps are like any other channel's."
            ),
            on=EffectOn.SATISFACTION,
            size=-0.25,
            channels=("hotline",),
        ),
        Effect(
            key="outage_month",
            description=(
                "A service outage in the seventh month (month index 6): perception of "
                "reliability and responsiveness is 0.7 points lower for everyone that month "
                "only, so the overall gap and CSAT dip; a control chart of the monthly "
                "overall gap flags that month beyond the 3-sigma limit."
            ),
            on=EffectOn.PERCEPTION,
            size=-0.7,
            dimensions=("reliability", "responsiveness"),
            months=(OUTAGE_MONTH,),
        ),
    ),
)

# Respondent and item variation (7-point scale units). Expectation and perception share the
# same structure so that a dimension without effects (tangibles) has a gap of exactly zero.
_GENERAL_SD = 0.55  # respondent's general level, shared by every dimension
_DIMENSION_SD = 0.5  # respondent's level on one dimension, shared by its items
_ITEM_SD = 0.65  # one answer's own noise
_GENERAL_CORRELATION = 0.3  # between a respondent's general expectation and perception
_SATISFACTION_SD = 0.45  # satisfaction not explained by perceived quality
_ITEM_OFFSET = 0.25  # largest fixed offset of an item from its dimension's level

_NA_RATE = {Measure.EXPECTATION: 0.01, Measure.PERCEPTION: 0.025}
_OTHER_NA_RATE = 0.01
_SKIP_RATE = 0.03  # of an optional scaled or choice item, and of the whole allocation
_COMMENT_RATE = 0.35  # of an optional text item
_CHINESE_SHARE = 0.25  # of comments written in Traditional Chinese

_BLOCK = 4096  # rows drawn from one random stream: records do not depend on chunk_size
_MISSING = -(10**6)
_NOT_APPLICABLE = _MISSING - 1
_NO_NA: frozenset[str] = frozenset()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 9, 10, 10, 9, 8, 8, 8, 7, 6, 4, 2], dtype=float
)


# Comments ---------------------------------------------------------------------------------
#: ``(dimension, positive) -> (english, traditional chinese)`` realistic comment bank.
COMMENTS: dict[tuple[str, bool], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("reliability", False): (
        (
            "The installation was promised for Tuesday and nobody came until Friday.",
            "Billing errors two months in a row; I now check every invoice myself.",
            "You said the replacement would work out of the box. It did not.",
        ),
        (
            "說好星期二安裝，結果拖到星期五才有人來。",
            "連續兩個月帳單都有錯，現在每張都要自己核對。",
            "承諾的事情常常做不到，讓人很難信任。",
        ),
    ),
    ("reliability", True): (
        (
            "Everything arrived exactly when you said it would.",
            "The invoice was right first time, as always.",
            "You did what you promised, no surprises.",
        ),
        (
            "每次都準時交貨，說到做到。",
            "帳單清楚正確，從來沒出錯。",
            "承諾的服務都有確實做到，很放心。",
        ),
    ),
    ("responsiveness", False): (
        (
            "Waited 40 minutes on hold before anyone picked up.",
            "I emailed support three times and got one automated reply.",
            "It took a week to get an answer to a simple question.",
        ),
        (
            "電話等了四十分鐘才有人接。",
            "寄了三封信給客服，只收到一封自動回覆。",
            "一個簡單的問題等了一個星期才得到回覆。",
        ),
    ),
    ("responsiveness", True): (
        (
            "Support called me back within the hour.",
            "Quick answers, every time I asked.",
            "The problem was fixed the same day I reported it.",
        ),
        (
            "客服一小時內就回電了。",
            "每次詢問都很快得到答覆。",
            "報修當天就處理好了，效率很高。",
        ),
    ),
    ("assurance", False): (
        (
            "The agent did not seem to know the product and kept putting me on hold.",
            "I was not confident the advice I got was correct.",
            "Nobody could explain the contract terms clearly.",
        ),
        (
            "客服人員對產品不熟，一直要我等他去問別人。",
            "對方給的建議，我沒有把握是對的。",
            "沒有人能把合約條款解釋清楚。",
        ),
    ),
    ("assurance", True): (
        (
            "The engineer knew exactly what to do and explained it clearly.",
            "Very knowledgeable staff; I felt in safe hands.",
            "Polite, professional and sure of their answers.",
        ),
        (
            "工程師很專業，清楚說明了處理方式。",
            "服務人員很有經驗，讓人很安心。",
            "態度有禮又專業，回答也很有把握。",
        ),
    ),
    ("empathy", False): (
        (
            "It felt like I was just a ticket number.",
            "Nobody listened to what our business actually needs.",
            "Your opening hours do not work for anyone with a day job.",
        ),
        (
            "感覺自己只是一個案件編號。",
            "沒有人真正聽我們公司的需求。",
            "營業時間對上班族很不方便。",
        ),
    ),
    ("empathy", True): (
        (
            "They took the time to understand our situation.",
            "My account manager remembers our history, and it shows.",
            "I felt genuinely looked after.",
        ),
        (
            "他們花時間了解我們的狀況。",
            "客戶經理記得我們的往來紀錄，很貼心。",
            "感受到真誠的關心。",
        ),
    ),
    ("tangibles", False): (
        (
            "The store was cluttered and it was hard to find anything.",
            "The website is confusing and looks dated.",
            "The printed guide was hard to read.",
        ),
        (
            "門市很雜亂，東西很難找。",
            "網站很難用，介面也很老舊。",
            "紙本說明書很難看懂。",
        ),
    ),
    ("tangibles", True): (
        (
            "Clean, modern store and a clear website.",
            "The documentation is well laid out and easy to follow.",
            "Nice showroom; everything was easy to find.",
        ),
        (
            "門市乾淨現代，網站也很清楚。",
            "說明文件編排清楚，很容易照著做。",
            "展示間很舒適，東西都很好找。",
        ),
    ),
    ("", False): (
        (
            "Not happy with the service this time.",
            "Too many things went wrong; please sort it out.",
        ),
        ("這次的服務令人失望。", "問題太多了，請改善。"),
    ),
    ("", True): (
        ("Great service overall, thank you.", "Smooth from start to finish."),
        ("整體服務很好，謝謝。", "從頭到尾都很順利。"),
    ),
}


# The generator ----------------------------------------------------------------------------
def generate_records(
    instrument: Instrument,
    *,
    n: int,
    seed: int,
    segments: Sequence[str] | Mapping[str, float],
    stages: Sequence[str] | Mapping[str, float],
    channels: Sequence[str] | Mapping[str, float],
    start: date,
    months: int = 12,
    effects: EffectModel = DEFAULT_EFFECTS,
    chunk_size: int = 50_000,
) -> Iterator[list[ResponseRecord]]:
    """Yield ``n`` synthetic responses to ``instrument`` in lists of at most ``chunk_size``.

    Segments, stages and channels are drawn independently: a sequence gives each key equal
    weight, a mapping gives weights. Months are calendar months from ``start`` (the first one
    starts on ``start``), equally likely. The records depend only on the instrument, ``n``,
    ``seed``, the taxonomy, the period and ``effects`` (not on ``chunk_size``); memory is
    bounded by ``chunk_size``. Every answer set passes ``parse_answers`` with
    ``require_complete=True``.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, not {seed}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    plan = _Plan.build(instrument, effects, segments, stages, channels, start, months, seed)
    return _chunks(plan, n, chunk_size)


def _chunks(plan: _Plan, n: int, chunk_size: int) -> Iterator[list[ResponseRecord]]:
    buffer: list[ResponseRecord] = []
    for block, first in enumerate(range(0, n, _BLOCK)):
        buffer += plan.block(block, first, min(_BLOCK, n - first))
        while len(buffer) >= chunk_size:
            yield buffer[:chunk_size]
            buffer = buffer[chunk_size:]
    if buffer:
        yield buffer


def _weights(spec: Sequence[str] | Mapping[str, float], what: str) -> tuple[list[str], np.ndarray]:
    if isinstance(spec, Mapping):
        keys = list(spec)
        weights = np.array([float(spec[key]) for key in keys])
    else:
        keys = list(spec)
        weights = np.ones(len(keys))
    if not keys or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"{what}: give at least one key and non-negative weights")
    return keys, weights / weights.sum()


def _month_starts(start: date, months: int) -> np.ndarray:
    """Epoch seconds of each month's first moment (month 0 starts on ``start``), plus the end."""
    bounds = [datetime(start.year, start.month, start.day, tzinfo=UTC)]
    for index in range(1, months + 1):
        year, month = divmod(start.month - 1 + index, 12)
        bounds.append(datetime(start.year + year, month + 1, 1, tzinfo=UTC))
    return np.array([int(bound.timestamp()) for bound in bounds], dtype=np.int64)


def _item_offset(item: Item) -> float:
    """A fixed, seed-independent offset of an item from its dimension's level."""
    unit = zlib.crc32(item.key.encode("utf-8")) / 0xFFFFFFFF
    return (2 * unit - 1) * _ITEM_OFFSET


@dataclass(frozen=True, slots=True)
class _Column:
    """How one scaled answer slot is drawn."""

    name: str
    measure: Measure
    dimension: int | None  # index into the plan's dimensions
    scale: Scale
    reverse: bool
    offset: float
    na_rate: float
    skip_rate: float


@dataclass(frozen=True, slots=True)
class _Compiled:
    on: EffectOn
    size: float
    per_month: float
    dimensions: np.ndarray
    segments: np.ndarray
    stages: np.ndarray
    channels: np.ndarray
    months: np.ndarray


@dataclass(frozen=True)
class _Plan:
    """Everything about an instrument and a population that does not change per row."""

    instrument: Instrument
    model: EffectModel
    seed: tuple[int, ...]
    segments: list[str]
    stages: list[str]
    channels: list[str]
    segment_p: np.ndarray
    stage_p: np.ndarray
    channel_p: np.ndarray
    bounds: np.ndarray
    dimensions: list[str]
    gaps: np.ndarray
    weights: np.ndarray
    asked: np.ndarray  # indexes of the instrument's own dimensions
    effects: list[_Compiled]
    columns: list[_Column]
    choices: list[Item]
    texts: list[Item]
    allocation: list[str]
    names: list[str]  # of the scaled columns, then the allocation slots
    id_key: int
    sat_centre: float
    sat_scale: float

    @classmethod
    def build(
        cls,
        instrument: Instrument,
        model: EffectModel,
        segments: Sequence[str] | Mapping[str, float],
        stages: Sequence[str] | Mapping[str, float],
        channels: Sequence[str] | Mapping[str, float],
        start: date,
        months: int,
        seed: int,
    ) -> _Plan:
        segment_keys, segment_p = _weights(segments, "segments")
        stage_keys, stage_p = _weights(stages, "stages")
        channel_keys, channel_p = _weights(channels, "channels")
        own = [dim.key for dim in instrument.dimensions]
        dimensions = list(model.dimensions) + [key for key in own if key not in model.dimensions]
        index = {key: i for i, key in enumerate(dimensions)}
        gaps = np.array([model.baseline_gap(key) for key in dimensions])
        importance = dict(model.importance)
        mean_weight = float(np.mean(list(importance.values()))) if importance else 1.0
        weights = np.array([importance.get(key, mean_weight) for key in dimensions])
        weights = weights / weights.sum()

        compiled = [
            _Compiled(
                on=effect.on,
                size=effect.size,
                per_month=effect.per_month,
                dimensions=np.array(
                    [index[key] for key in effect.dimensions if key in index]
                    if effect.dimensions
                    else range(len(dimensions)),
                    dtype=np.intp,
                ),
                segments=_scope(effect.segments, segment_keys),
                stages=_scope(effect.stages, stage_keys),
                channels=_scope(effect.channels, channel_keys),
                months=_scope(effect.months, list(range(months))),
            )
            for effect in model.effects
            if effect.size != 0 or effect.per_month != 0
        ]
        compiled = [
            effect
            for effect in compiled
            if effect.on is EffectOn.SATISFACTION or effect.dimensions.size
        ]

        columns: list[_Column] = []
        choices: list[Item] = []
        texts: list[Item] = []
        for item in instrument.items:
            for slot in instrument.slots_of(item):
                if slot.measure is Measure.CHOICE:
                    choices.append(item)
                elif slot.measure is Measure.TEXT:
                    texts.append(item)
                else:
                    scale = instrument.scale_of(item)
                    na_ok = scale.not_applicable and slot.measure is not Measure.NPS
                    columns.append(
                        _Column(
                            name=slot.name,
                            measure=slot.measure,
                            dimension=index[item.dimension] if item.dimension else None,
                            scale=scale,
                            reverse=item.reverse,
                            offset=_item_offset(item),
                            na_rate=_NA_RATE.get(slot.measure, _OTHER_NA_RATE) if na_ok else 0.0,
                            skip_rate=0.0 if item.required else _SKIP_RATE,
                        )
                    )
        allocation = (
            [dim.key for dim in instrument.dimensions] if instrument.allocates_importance else []
        )

        identity = [zlib.crc32(instrument.key.encode("utf-8")), instrument.version]
        entropy = (seed, *identity)
        id_key = int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])
        # Satisfaction is standardised against a respondent no effect applies to.
        sat_centre = model.expectation_mean + float(weights @ gaps)
        sat_scale = float(
            np.sqrt(
                _GENERAL_SD**2 + _DIMENSION_SD**2 * float(weights @ weights) + _SATISFACTION_SD**2
            )
        )
        return cls(
            instrument=instrument,
            model=model,
            seed=entropy,
            segments=segment_keys,
            stages=stage_keys,
            channels=channel_keys,
            segment_p=segment_p,
            stage_p=stage_p,
            channel_p=channel_p,
            bounds=_month_starts(start, months),
            dimensions=dimensions,
            gaps=gaps,
            weights=weights,
            asked=np.array([index[key] for key in own], dtype=np.intp),
            effects=compiled,
            columns=columns,
            choices=choices,
            texts=texts,
            allocation=allocation,
            names=[column.name for column in columns]
            + [f"{key}__importance" for key in allocation],
            id_key=id_key,
            sat_centre=sat_centre,
            sat_scale=sat_scale,
        )

    # One block of rows ---------------------------------------------------------------------
    def block(self, block: int, first: int, size: int) -> list[ResponseRecord]:
        """Records ``first .. first + size`` of block ``block``. A whole block is always drawn,
        so a record does not depend on how many follow it."""
        rng = np.random.default_rng(np.random.SeedSequence((*self.seed, block)))
        segment = rng.choice(len(self.segments), _BLOCK, p=self.segment_p)
        stage = rng.choice(len(self.stages), _BLOCK, p=self.stage_p)
        channel = rng.choice(len(self.channels), _BLOCK, p=self.channel_p)
        month = rng.integers(0, len(self.bounds) - 1, _BLOCK)
        submitted = self._times(rng, month)

        expectation, perception, satisfaction = self._latents(rng, segment, stage, channel, month)
        sat = (satisfaction - self.sat_centre) / self.sat_scale
        values = np.empty((_BLOCK, len(self.columns) + len(self.allocation)), dtype=np.int64)
        for j, column in enumerate(self.columns):
            values[:, j] = self._column(rng, column, expectation, perception, sat)
        if self.allocation:
            values[:, len(self.columns) :] = self._allocation(rng, _BLOCK)
        objects = self._objects(rng, segment, expectation - perception, sat, size)

        ids = _splitmix64(np.arange(first, first + size, dtype=np.uint64), self.id_key)
        keep = slice(0, size)
        return self._records(
            values[keep],
            objects,
            ids,
            submitted[keep],
            segment[keep],
            stage[keep],
            channel[keep],
        )

    def _times(self, rng: np.random.Generator, month: np.ndarray) -> np.ndarray:
        """Epoch seconds within each row's month, weighted towards waking hours."""
        begin = self.bounds[month]
        length = self.bounds[month + 1] - begin
        days = np.floor(rng.random(month.size) * (length // 86_400)).astype(np.int64)
        hours = rng.choice(24, month.size, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
        seconds = rng.integers(0, 3600, month.size)
        return np.minimum(begin + days * 86_400 + hours * 3600 + seconds, begin + length - 1)

    def _latents(
        self,
        rng: np.random.Generator,
        segment: np.ndarray,
        stage: np.ndarray,
        channel: np.ndarray,
        month: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        size, dims = segment.size, len(self.dimensions)
        general = rng.standard_normal((size, 2))
        own_e = _GENERAL_SD * general[:, 0]
        rho = _GENERAL_CORRELATION
        own_p = _GENERAL_SD * (rho * general[:, 0] + np.sqrt(1 - rho**2) * general[:, 1])
        mean = self.model.expectation_mean
        expectation = mean + own_e[:, None] + _DIMENSION_SD * rng.standard_normal((size, dims))
        perception = (
            mean + self.gaps + own_p[:, None] + _DIMENSION_SD * rng.standard_normal((size, dims))
        )
        satisfaction = _SATISFACTION_SD * rng.standard_normal(size)
        for effect in self.effects:
            rows = np.flatnonzero(
                effect.segments[segment]
                & effect.stages[stage]
                & effect.channels[channel]
                & effect.months[month]
            )
            if not rows.size:
                continue
            amount = effect.size + effect.per_month * month[rows]
            if effect.on is EffectOn.SATISFACTION:
                satisfaction[rows] += amount
                continue
            target = expectation if effect.on is EffectOn.EXPECTATION else perception
            target[rows[:, None], effect.dimensions[None, :]] += amount[:, None]
        satisfaction += perception @ self.weights
        return expectation, perception, satisfaction

    def _column(
        self,
        rng: np.random.Generator,
        column: _Column,
        expectation: np.ndarray,
        perception: np.ndarray,
        sat: np.ndarray,
    ) -> np.ndarray:
        size = sat.size
        scale = column.scale
        noise = rng.standard_normal(size)
        level: np.ndarray
        if column.measure is Measure.NPS:
            level = 8.2 + 1.7 * sat + 1.2 * noise
            values = np.clip(np.rint(level), 0, 10)
            scale = NPS_SCALE
        else:
            if column.measure is Measure.EXPECTATION and column.dimension is not None:
                level = expectation[:, column.dimension] + column.offset + _ITEM_SD * noise
            elif column.measure is Measure.IMPORTANCE and column.dimension is not None:
                share = self.weights[column.dimension] * len(self.dimensions)
                level = 5.4 + 1.5 * (share - 1) + column.offset + 0.9 * noise
            elif column.measure is Measure.CES:
                level = 3.2 - 1.0 * sat + 0.9 * noise
            elif column.dimension is not None:  # perception, or a rating of one dimension
                level = perception[:, column.dimension] + column.offset + _ITEM_SD * noise
            else:  # an overall rating (CSAT and the like)
                level = 5.5 + 1.2 * sat + 0.6 * noise
            points = scale.min + (level - 1) * (scale.max - scale.min) / 6
            values = np.clip(np.rint(points), scale.min, scale.max)
        if column.reverse:
            values = scale.min + scale.max - values
        values = values.astype(np.int64)
        if column.na_rate:
            values[rng.random(size) < column.na_rate] = _NOT_APPLICABLE
        if column.skip_rate:
            values[rng.random(size) < column.skip_rate] = _MISSING
        return values

    def _allocation(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Points over the instrument's dimensions summing exactly to the total, in steps of 5
        when the total allows (as people allocate), by the largest-remainder method."""
        importance = self.instrument.importance
        total = importance.total if importance else 100
        step = 5 if total % 5 == 0 and total >= 5 * len(self.allocation) else 1
        units = total // step
        alpha = 12 * self.weights[self.asked] * len(self.dimensions) / len(self.asked)
        shares = rng.gamma(alpha, size=(size, alpha.size))
        shares /= shares.sum(axis=1, keepdims=True)
        exact = shares * units
        points = np.floor(exact).astype(np.int64)
        short = units - points.sum(axis=1)
        order = np.argsort(points - exact, axis=1, kind="stable")  # largest remainder first
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(alpha.size)[None, :].repeat(size, 0), axis=1)
        points += rank < short[:, None]
        points *= step
        points[rng.random(size) < _SKIP_RATE] = _MISSING
        return points

    def _objects(
        self,
        rng: np.random.Generator,
        segment: np.ndarray,
        shortfall: np.ndarray,
        sat: np.ndarray,
        keep: int,
    ) -> list[tuple[str, list[str | None]]]:
        """Choice and text answers for the first ``keep`` rows, as ``(slot, value or None per
        row)``. A classification item picks the respondent's segment; a comment is about the
        respondent's weakest dimension (largest shortfall) when they are dissatisfied, their
        strongest when satisfied."""
        size = sat.size
        out: list[tuple[str, list[str | None]]] = []
        for item in self.choices:
            options = [option.key for option in item.options]
            # Earlier options go with higher satisfaction ("yes" before "no"); each option is
            # about equally likely overall (a logistic stand-in for the normal CDF).
            tilt = (-0.7 * sat + rng.standard_normal(size)) / np.sqrt(1.49)
            share = 1 / (1 + np.exp(-1.702 * tilt))
            picked = np.minimum((share * len(options)).astype(np.int64), len(options) - 1)
            if item.classifies == "segment":
                by_segment = {option.segment: i for i, option in enumerate(item.options)}
                mapped = np.array([by_segment.get(key, -1) for key in self.segments])
                picked = np.where(mapped[segment] >= 0, mapped[segment], picked)
            answered = rng.random(size) >= (0.0 if item.required else _SKIP_RATE)
            out.append(
                (
                    item.slot_name(Measure.CHOICE),
                    [
                        options[i] if ok else None
                        for i, ok in zip(picked[:keep].tolist(), answered[:keep], strict=True)
                    ],
                )
            )
        if self.texts:
            own = self.asked if self.asked.size else np.arange(len(self.dimensions))
            weakest = own[np.argmax(shortfall[:, own], axis=1)]
            strongest = own[np.argmin(shortfall[:, own], axis=1)]
            positive = sat > 0
            chinese = rng.random(size) < _CHINESE_SHARE
            for item in self.texts:
                rate = 1.0 if item.required else _COMMENT_RATE
                answered = rng.random(size) < rate
                pick = rng.integers(0, 1 << 30, size)
                about = np.where(positive, strongest, weakest)
                texts: list[str | None] = []
                for i in range(keep):
                    if not answered[i]:
                        texts.append(None)
                        continue
                    texts.append(
                        _comment(
                            self.dimensions[about[i]],
                            bool(positive[i]),
                            bool(chinese[i]),
                            int(pick[i]),
                        )[: item.max_length]
                    )
                out.append((item.slot_name(Measure.TEXT), texts))
        return out

    def _records(
        self,
        values: np.ndarray,
        objects: list[tuple[str, list[str | None]]],
        ids: np.ndarray,
        submitted: np.ndarray,
        segment: np.ndarray,
        stage: np.ndarray,
        channel: np.ndarray,
    ) -> list[ResponseRecord]:
        """The records of drawn rows: scaled answers without the skipped and not-applicable
        ones (listed as such), then choices and texts."""
        gone: dict[int, list[str]] = {}
        flagged: dict[int, list[str]] = {}
        for found, mask in ((gone, values <= _MISSING), (flagged, values == _NOT_APPLICABLE)):
            rows, columns = np.nonzero(mask)
            for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
                found.setdefault(row, []).append(self.names[column])
        when = [_EPOCH + timedelta(seconds=value) for value in submitted.tolist()]
        segments = [self.segments[i] for i in segment.tolist()]
        stages = [self.stages[i] for i in stage.tolist()]
        channels = [self.channels[i] for i in channel.tolist()]
        records = []
        for i, (row, uid) in enumerate(zip(values.tolist(), ids.tolist(), strict=True)):
            answers: dict[str, int | str] = dict(zip(self.names, row, strict=True))
            for name in gone.get(i, ()):
                del answers[name]
            for name, column in objects:
                if (text := column[i]) is not None:
                    answers[name] = text
            na = frozenset(flagged[i]) if i in flagged else _NO_NA
            records.append(
                ResponseRecord(
                    response_id=f"syn-{uid:016x}",
                    submitted_at=when[i],
                    segment=segments[i],
                    stage=stages[i],
                    channel=channels[i],
                    answers=AnswerSet(answers, na),
                )
            )
        return records


def _scope(
    keys: tuple[str, ...] | tuple[int, ...], universe: Sequence[str] | Sequence[int]
) -> np.ndarray:
    """A boolean lookup over ``universe``: in scope (every key when ``keys`` is empty)."""
    if not keys:
        return np.ones(len(universe), dtype=bool)
    return np.array([key in keys for key in universe], dtype=bool)


def _comment(dimension: str, positive: bool, chinese: bool, pick: int) -> str:
    english, traditional = COMMENTS.get((dimension, positive)) or COMMENTS[("", positive)]
    bank = traditional if chinese else english
    return bank[pick % len(bank)]


def _splitmix64(index: np.ndarray, key: int) -> np.ndarray:
    """A bijection of 64-bit integers: distinct indexes give distinct, unordered ids."""
    z = index * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


# The demo database ------------------------------------------------------------------------
DEMO_SEED = 2026
INVITATIONS = 3


@dataclass(frozen=True, slots=True)
class Fielding:
    """How the demo fields one library instrument: campaign key prefix, share of the responses,
    and the stages and channels it runs in (empty: every one). An instrument that classifies
    its respondents' segment gets no campaign per segment."""

    prefix: str
    share: float
    stages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


FIELDINGS: dict[str, Fielding] = {
    "service-quality": Fielding("sq", 0.7),
    "hotline-post-call": Fielding("hotline", 0.1, ("after_sales",), ("hotline",)),
    "relationship-pulse": Fielding("pulse", 0.1, ("renewal",), ("email",)),
    "service-recovery": Fielding("recovery", 0.1, ("after_sales",), ("hotline", "email")),
}
#: Instruments added to the library later: a campaign per stage and segment on the web.
OTHER_FIELDING = Fielding("", 0.1, (), ("web",))


@dataclass(frozen=True, slots=True)
class DemoCampaign:
    key: str
    instrument: str
    stage: str
    segment: str | None
    channel: str
    responses: int


@dataclass(frozen=True)
class DemoSummary:
    """What ``populate_demo`` found or made. ``created`` is False when the database already had
    demo data (nothing was added then except fresh ``invitation_links``)."""

    created: bool
    responses: int
    by_instrument: tuple[tuple[str, int], ...]
    campaigns: tuple[DemoCampaign, ...]
    invitation_campaign: str | None
    invitation_links: tuple[str, ...]
    first_month: date | None
    months: int
    seed: int | None

    @property
    def open_links(self) -> tuple[str, ...]:
        return tuple(f"/s/{campaign.key}" for campaign in self.campaigns)

    def describe(self, base_url: str = "") -> list[str]:
        """Lines for a person: what is there, and links to try (a few per instrument)."""
        lines = []
        if self.created:
            lines.append(
                f"demo data: {self.responses:,} synthetic responses over {self.months} months "
                f"from {self.first_month:%Y-%m} (seed {self.seed}); planted effects are listed "
                "in docs/demo-data.md"
            )
        else:
            lines.append(f"demo data already present ({self.responses:,} responses); nothing added")
        for key, count in self.by_instrument:
            campaigns = [c for c in self.campaigns if c.instrument == key]
            plural = "" if len(campaigns) == 1 else "s"
            lines.append(f"  {key}: {count:,} responses in {len(campaigns)} campaign{plural}")
            lines += [f"    {base_url}/s/{c.key}" for c in campaigns[:3]]
            if len(campaigns) > 3:
                lines.append(f"    ... and {len(campaigns) - 3} more open links")
        if self.invitation_links:
            lines.append(
                f"personal links to {self.invitation_campaign} (invitation only; one response "
                "each):"
            )
            lines += [f"  {base_url}{link}" for link in self.invitation_links]
        return lines


def populate_demo(
    engine: Engine,
    *,
    responses: int = 5000,
    seed: int = DEMO_SEED,
    today: date | None = None,
) -> DemoSummary:
    """Fill the database at ``engine`` with the demo (docs/demo-data.md): schema, taxonomy,
    library, campaigns, a few invitations and ``responses`` synthetic responses over the 12
    complete calendar months before ``today`` (default: today, UTC).

    Everything is written in one transaction. A database that already has the demo campaigns
    gets nothing new but fresh invitation links (tokens are shown once, so old ones cannot be
    printed again); the summary says so.
    """
    if responses < 0:
        raise ValueError(f"responses must be 0 or more, not {responses}")
    _ensure_schema(engine)
    today = today or utcnow().date()
    first = date(today.year - 1, today.month, 1)
    library = [(load_instrument_file(path), path) for path in library_files()]
    library.sort(key=lambda pair: (-_fielding(pair[0]).share, pair[0].key))
    with write_session(engine) as session:
        ensure_defaults(session)
        plan = _plan(session, [instrument for instrument, _ in library])
        created = not any(get_campaign(session, spec.key) for spec in plan)
        if created:
            rows = {
                instrument.key: register_instrument(
                    session, instrument, path.read_text(encoding="utf-8")
                )
                for instrument, path in library
            }
            opens = datetime(first.year, first.month, 1, tzinfo=UTC)
            campaigns = {
                spec.key: create_campaign(
                    session,
                    key=spec.key,
                    name=spec.name,
                    instrument_row=rows[spec.instrument.key],
                    stage=spec.stage,
                    channel=spec.channel,
                    segment=spec.segment,
                    access=spec.access,
                    opens_at=opens,
                )
                for spec in plan
            }
            instruments = [instrument for instrument, _ in library]
            counts = _shares(responses, [_fielding(instrument).share for instrument in instruments])
            for instrument, count in zip(instruments, counts, strict=True):
                mine = [spec for spec in plan if spec.instrument is instrument and spec.open]
                _store_generated(session, instrument, mine, campaigns, count, seed, first)
        links = _invite(session, plan)
        return _summary(session, plan, created, links, first if created else None, seed)


def _ensure_schema(engine: Engine) -> None:
    """Migrate the database to the current schema. A database whose tables were made without
    the migrations (``Base.metadata.create_all``, as the tests do) only gets missing tables."""
    url = engine.url.render_as_string(hide_password=False)
    if current(url) is None and inspect(engine).has_table(Response.__tablename__):
        Base.metadata.create_all(engine)
    else:
        upgrade(url)


@dataclass(frozen=True, slots=True)
class _CampaignSpec:
    key: str
    name: str
    instrument: Instrument
    stage: str
    segment: str | None
    channel: str
    access: Access

    @property
    def open(self) -> bool:
        return self.access is Access.OPEN


def _fielding(instrument: Instrument) -> Fielding:
    known = FIELDINGS.get(instrument.key)
    if known is not None:
        return known
    initials = "".join(part[0] for part in instrument.key.split("-") if part)
    return replace(OTHER_FIELDING, prefix=initials or instrument.key)


def _plan(session: Session, instruments: Sequence[Instrument]) -> list[_CampaignSpec]:
    """The demo campaigns for the library and the taxonomy in the database, in order: every
    instrument's open campaigns, then the invitation-only campaign of the first one."""
    terms = {kind: list_terms(session, kind) for kind in ("segment", "stage", "channel")}
    labels = {term.key: term.label for kind in terms.values() for term in kind}
    segments = [term.key for term in terms["segment"]]
    specs: list[_CampaignSpec] = []
    for instrument in instruments:
        fielding = _fielding(instrument)
        stages = _within([t.key for t in terms["stage"]], fielding.stages)
        channels = _within([t.key for t in terms["channel"]], fielding.channels)
        classifies = any(item.classifies == "segment" for item in instrument.items)
        for stage, segment, channel in product(
            stages, [None] if classifies else segments, channels
        ):
            parts = [fielding.prefix, stage, segment, channel if len(channels) > 1 else None]
            described = ", ".join(labels[key] for key in (stage, segment, channel) if key)
            specs.append(
                _CampaignSpec(
                    key="-".join(part.replace("_", "-") for part in parts if part),
                    name=f"{instrument.title.get()} ({described})"[:NAME_LENGTH],
                    instrument=instrument,
                    stage=stage,
                    segment=segment,
                    channel=channel,
                    access=Access.OPEN,
                )
            )
    if specs:
        head = specs[0].instrument
        stage = _within([t.key for t in terms["stage"]], ("after_sales",))[0]
        channel = _within([t.key for t in terms["channel"]], ("email",))[0]
        name = f"{head.title.get()} ({labels[stage]}, {labels[channel]}, by invitation)"
        specs.append(
            _CampaignSpec(
                key=f"{_fielding(head).prefix}-invited",
                name=name[:NAME_LENGTH],
                instrument=head,
                stage=stage,
                segment=None,
                channel=channel,
                access=Access.INVITATION,
            )
        )
    return specs


def _invited(plan: Sequence[_CampaignSpec]) -> _CampaignSpec | None:
    return next((spec for spec in plan if not spec.open), None)


def _within(keys: list[str], wanted: tuple[str, ...]) -> list[str]:
    """The taxonomy keys a fielding asks for (all when it names none, or none of them exist)."""
    chosen = [key for key in keys if key in wanted] if wanted else keys
    return chosen or keys


def _shares(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` by the largest-remainder method."""
    if not weights:
        return []
    scaled = np.asarray(weights, dtype=float) / float(sum(weights)) * total
    counts = np.floor(scaled).astype(int)
    for index in np.argsort(counts - scaled, kind="stable")[: total - int(counts.sum())]:
        counts[index] += 1
    return [int(count) for count in counts]


def _mix(keys: Sequence[str], weights: tuple[tuple[str, float], ...]) -> dict[str, float]:
    """Demo weights for ``keys``; a key the model does not weigh gets the mean weight."""
    known = dict(weights)
    mean = float(np.mean(list(known.values()))) if known else 1.0
    return {key: known.get(key, mean) for key in keys}


def _store_generated(
    session: Session,
    instrument: Instrument,
    specs: list[_CampaignSpec],
    campaigns: Mapping[str, Campaign],
    count: int,
    seed: int,
    first: date,
) -> None:
    """Generate ``count`` responses in the campaigns' stages, segments and channels and store
    each in the campaign of its stage, segment and channel."""
    if not specs or not count:
        return
    by_cell = {(spec.stage, spec.segment, spec.channel): campaigns[spec.key] for spec in specs}
    per_segment = any(spec.segment is not None for spec in specs)
    segments = list(dict.fromkeys(spec.segment for spec in specs if spec.segment))
    if not per_segment:  # respondents classify themselves: only the segments offered
        offered = {
            option.segment
            for item in instrument.items
            if item.classifies == "segment"
            for option in item.options
        }
        segments = _within([t.key for t in list_terms(session, "segment")], tuple(offered))
    chunks = generate_records(
        instrument,
        n=count,
        seed=seed,
        segments=_mix(segments, DEFAULT_EFFECTS.segment_mix),
        stages=list(dict.fromkeys(spec.stage for spec in specs)),
        channels=_mix(
            list(dict.fromkeys(spec.channel for spec in specs)), DEFAULT_EFFECTS.channel_mix
        ),
        start=first,
        months=12,
    )
    for chunk in chunks:
        groups: dict[tuple[str, str | None, str], list[ResponseRecord]] = {}
        for record in chunk:
            cell = (record.stage, record.segment if per_segment else None, record.channel)
            groups.setdefault(cell, []).append(record)
        for cell, records in groups.items():
            store_records(
                session,
                campaign=by_cell[cell],
                instrument=instrument,
                records=records,
                source=Source.DEMO,
            )


def _invite(session: Session, plan: Sequence[_CampaignSpec]) -> tuple[str, ...]:
    """A personal link per segment (up to ``INVITATIONS``) to the invitation-only campaign."""
    spec = _invited(plan)
    campaign = get_campaign(session, spec.key) if spec else None
    if campaign is None:
        return ()
    segments = [term.key for term in list_terms(session, "segment")][:INVITATIONS]
    issued = [
        invitation
        for segment in segments
        for invitation in issue_invitations(session, campaign, 1, segment, {"region": "north"})
    ]
    return tuple(f"/i/{invitation.token}" for invitation in issued)


def _summary(
    session: Session,
    plan: Sequence[_CampaignSpec],
    created: bool,
    links: tuple[str, ...],
    first: date | None,
    seed: int,
) -> DemoSummary:
    keys = [spec.key for spec in plan]
    rows = session.execute(
        select(Campaign.key, func.count(Response.id))
        .join(
            Response,
            (Response.campaign_id == Campaign.id) & (Response.source == Source.DEMO),
            isouter=True,
        )
        .where(Campaign.key.in_(keys))
        .group_by(Campaign.key)
    ).all()
    counts = dict(rows)
    campaigns = tuple(
        DemoCampaign(
            key=spec.key,
            instrument=spec.instrument.key,
            stage=spec.stage,
            segment=spec.segment,
            channel=spec.channel,
            responses=int(counts[spec.key]),
        )
        for spec in plan
        if spec.key in counts and spec.open
    )
    by_instrument: dict[str, int] = {}
    for campaign in campaigns:
        by_instrument[campaign.instrument] = (
            by_instrument.get(campaign.instrument, 0) + campaign.responses
        )
    return DemoSummary(
        created=created,
        responses=sum(by_instrument.values()),
        by_instrument=tuple(by_instrument.items()),
        campaigns=campaigns,
        invitation_campaign=invited.key if (invited := _invited(plan)) and links else None,
        invitation_links=links,
        first_month=first,
        months=12,
        seed=seed if created else None,
    )
