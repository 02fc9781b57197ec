"""Sufficient statistics: one path for raw rows and stored aggregates.

Likert answers are discrete, so every number of an assessment is computable exactly from a few
counts and sums per *cell* (one segment × stage × channel × calendar month, optionally campaign).
``CellStats`` holds them for one instrument; it is built from respondent rows
(``analysis.data.cells_from_frame``), merged by addition (``a + b``) and stored as compact,
versioned JSON (``to_json``/``from_json``; the format is described in ``docs/assessment-json.md``).
The assessment merges the cells of each group and computes everything from the merged statistics,
whether the cells came from a CSV file or from the database.

What one cell holds (values are after reverse-keying, methods.md "Data conventions"):

- ``n`` respondents; per answer slot the count left empty and the count answered "not applicable";
- per gap item the joint counts of (expectation, perception) values, "missing" included: the
  pairwise-complete n, both means and the whole distribution of item gaps (mean, sd, t-test and the
  Wilcoxon signed-rank test from the histogram);
- per other scaled slot (rating, NPS, CES, importance, a lone measure) the count of each value; per
  choice slot the count of each option;
- per dimension the histogram of respondent dimension gaps keyed by their exact rational value
  (ties in the signed-rank test are exact), plus the sums of the respondents' mean expectation and
  mean perception over the same items;
- per dimension the 100-point allocation (n, Σ points) and the weighted gap (n, Σ points/total ×
  gap_d);
- per dimension and measure the listwise-complete n, the sum vector and the cross-product matrix of
  the items (Cronbach's alpha, item-total r, alpha-if-deleted);
- the respondent overall gap and weighted overall gap as n, Σ, Σ² (trends and slopes).

Internally a cell is two flat vectors (integers and floats) laid out by a ``CellLayout`` derived
from the instrument, so merging cells is adding two arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import numpy as np

from analysis.results import AnalysisError
from surveys.instrument import SCALED_MEASURES, Instrument, Item, Measure

FORMAT = "gapmeter.cellstats"
FORMAT_VERSION = 1

#: Measures whose scale items form a reliability block when every item of a dimension asks them.
RELIABILITY_MEASURES = (Measure.EXPECTATION, Measure.PERCEPTION, Measure.RATING)


# Summaries the pure statistics functions take ----------------------------------------------
@dataclass(frozen=True, slots=True)
class ValueCounts:
    """A histogram: distinct ``values`` (each the correctly rounded float of an exact value, so
    equal values compare equal) and their ``counts``."""

    values: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, data: Iterable[float]) -> ValueCounts:
        """The histogram of raw values (NaN dropped): for tests and small inputs."""
        array = np.asarray(list(data), dtype=float)
        values, counts = np.unique(array[~np.isnan(array)], return_counts=True)
        return cls(values, counts.astype(np.int64))

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def moments(self) -> Moments:
        """n, mean and centred sum of squares, computed from the histogram (no cancellation)."""
        n = self.n
        if n == 0:
            return Moments(0, 0.0, 0.0)
        mean = float(np.dot(self.counts, self.values) / n)
        distinct = np.count_nonzero(self.counts)
        ss = 0.0 if distinct <= 1 else float(np.dot(self.counts, (self.values - mean) ** 2))
        return Moments(n, mean * n, ss + mean * mean * n, centred_ss=ss)

    def nonzero(self) -> ValueCounts:
        keep = self.counts > 0
        return ValueCounts(self.values[keep], self.counts[keep])


@dataclass(frozen=True, slots=True)
class Moments:
    """n, Σx and Σx² of a respondent-level metric (the mergeable form of a mean and variance).

    ``centred_ss`` is Σ(x − mean)² when known exactly (from a histogram); otherwise it is derived
    from the raw sums.
    """

    n: int
    total: float
    total_sq: float
    centred_ss: float | None = None

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def ss(self) -> float:
        """Σ(x − mean)²."""
        if self.centred_ss is not None:
            return self.centred_ss
        if self.n == 0:
            return 0.0
        return max(self.total_sq - self.total * self.total / self.n, 0.0)

    @property
    def var(self) -> float:
        return self.ss / (self.n - 1) if self.n > 1 else math.nan

    @property
    def sd(self) -> float:
        return math.sqrt(self.var) if self.n > 1 else math.nan

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)


@dataclass(frozen=True, slots=True)
class CrossProducts:
    """Listwise-complete n, item sums and the cross-product matrix Σ x xᵀ of ``items``."""

    items: tuple[str, ...]
    n: int
    sums: np.ndarray
    cross: np.ndarray

    def covariance(self) -> np.ndarray:
        """The sample covariance matrix (n − 1 denominator)."""
        centred = self.cross - np.outer(self.sums, self.sums) / self.n
        return centred / (self.n - 1)


# Cell keys ------------------------------------------------------------------------------------
class CellKey(NamedTuple):
    """One cell: segment × stage × channel × calendar month (``YYYY-MM``, UTC) [× campaign]."""

    segment: str
    stage: str
    channel: str
    period: str
    campaign: str | None = None


# Layout ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PairBlock:
    """Joint (expectation, perception) counts of one gap item; index 0 is "missing"."""

    item: str
    dimension: str | None
    low: int
    high: int
    offset: int

    @property
    def levels(self) -> int:
        return self.high - self.low + 2

    @property
    def size(self) -> int:
        return self.levels * self.levels


@dataclass(frozen=True, slots=True)
class ValueBlock:
    """Counts of each value of one single scaled slot (``labels`` for a choice slot)."""

    slot: str
    item: str
    measure: Measure
    low: int
    high: int
    offset: int
    labels: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.labels) if self.labels else self.high - self.low + 1

    def values(self) -> np.ndarray:
        return np.arange(self.low, self.high + 1, dtype=float)


@dataclass(frozen=True)
class DimensionBlock:
    """Respondent dimension gaps of one dimension: an exact histogram over ``grid``.

    ``grid`` lists every value ``s/m`` a respondent can have (``m`` items with a gap, at least
    ``ceil(k/2)``; ``|s| ≤ m · range``), reduced and sorted; ``index[m, s + m · range]`` maps a
    respondent's (s, m) to its grid position.
    """

    dimension: str
    items: tuple[str, ...]
    span: int
    min_items: int
    grid: tuple[Fraction, ...]
    offset: int
    float_offset: int

    @cached_property
    def values(self) -> np.ndarray:
        return np.array([float(value) for value in self.grid])

    @cached_property
    def positions(self) -> dict[Fraction, int]:
        return {value: i for i, value in enumerate(self.grid)}

    @cached_property
    def index(self) -> np.ndarray:
        k = len(self.items)
        table = np.full((k + 1, 2 * k * self.span + 1), -1, dtype=np.int64)
        for m in range(self.min_items, k + 1):
            for s in range(-m * self.span, m * self.span + 1):
                table[m, s + m * self.span] = self.positions[Fraction(s, m)]
        return table


@dataclass(frozen=True, slots=True)
class ReliabilityBlock:
    """n, sums and cross products of one dimension's items on one measure (listwise)."""

    dimension: str
    measure: Measure
    items: tuple[str, ...]
    slots: tuple[str, ...]
    offset: int

    @property
    def size(self) -> int:
        k = len(self.items)
        return 1 + k + k * k


@dataclass(frozen=True)
class CellLayout:
    """Where each statistic sits in a cell's integer and float vectors, for one instrument.

    Integers: ``n``; ``[empty, not applicable]`` per slot; the pair, single-value, dimension-gap
    and reliability blocks (each at its ``offset``); per allocated dimension ``[n, Σ points,
    n weighted]`` at ``allocation_offset``; ``[n overall, n weighted overall]`` at
    ``overall_offset``. Floats: per dimension ``[Σ weighted gap, Σ mean expectation, Σ mean
    perception]`` at its ``float_offset``, then overall and weighted overall gap ``[Σ, Σ²]``.
    """

    instrument_key: str
    instrument_version: int
    allocation_total: int
    slots: tuple[str, ...]
    na_slots: tuple[str, ...]
    pairs: tuple[PairBlock, ...]
    singles: tuple[ValueBlock, ...]
    dimensions: tuple[DimensionBlock, ...]
    allocation: tuple[str, ...]
    reliability: tuple[ReliabilityBlock, ...]
    int_size: int
    float_size: int
    allocation_offset: int = 0
    overall_offset: int = 0
    _by_name: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update(
            pairs={block.item: block for block in self.pairs},
            singles={block.slot: block for block in self.singles},
            dimensions={block.dimension: block for block in self.dimensions},
            reliability={(b.dimension, b.measure.value): b for b in self.reliability},
            slots={slot: i for i, slot in enumerate(self.slots)},
        )

    @classmethod
    def of(cls, instrument: Instrument) -> CellLayout:
        return _layout(instrument)

    def pair(self, item: str) -> PairBlock:
        return self._by_name["pairs"][item]  # type: ignore[no-any-return]

    def single(self, slot: str) -> ValueBlock:
        return self._by_name["singles"][slot]  # type: ignore[no-any-return]

    def has_single(self, slot: str) -> bool:
        return slot in self._by_name["singles"]

    def dimension(self, key: str) -> DimensionBlock:
        return self._by_name["dimensions"][key]  # type: ignore[no-any-return]

    def reliability_block(self, dimension: str, measure: str) -> ReliabilityBlock:
        return self._by_name["reliability"][(dimension, measure)]  # type: ignore[no-any-return]

    def slot_index(self, slot: str) -> int:
        return self._by_name["slots"][slot]  # type: ignore[no-any-return]

    def has_dimension(self, key: str) -> bool:
        return key in self._by_name["dimensions"]

    @property
    def overall_float_offset(self) -> int:
        return 3 * len(self.dimensions)


@lru_cache(maxsize=64)
def _layout(instrument: Instrument) -> CellLayout:
    slots = tuple(slot.name for slot in instrument.slots() if slot.measure is not Measure.TEXT)
    na_slots = tuple(
        slot.name
        for slot in instrument.slots()
        if slot.item is not None
        and slot.measure in SCALED_MEASURES - {Measure.NPS}
        and instrument.scale_of(instrument.item(slot.item)).not_applicable
    )
    offset = 1 + 2 * len(slots)  # n, then [empty, na] per slot
    pairs: list[PairBlock] = []
    gap_keys = {item.key for item in instrument.gap_items}
    for item in instrument.gap_items:
        scale = instrument.scale_of(item)
        block = PairBlock(item.key, item.dimension, scale.min, scale.max, offset)
        pairs.append(block)
        offset += block.size
    singles: list[ValueBlock] = []
    for item in instrument.items:
        for measure in item.measures:
            if item.key in gap_keys and measure in (Measure.EXPECTATION, Measure.PERCEPTION):
                continue
            if measure is Measure.TEXT:
                continue
            if measure is Measure.CHOICE:
                labels = tuple(option.key for option in item.options)
                block = ValueBlock(item.slot_name(measure), item.key, measure, 0, 0, offset, labels)
            else:
                scale = instrument.scale_of(item)
                block = ValueBlock(
                    item.slot_name(measure), item.key, measure, scale.min, scale.max, offset
                )
            singles.append(block)
            offset += block.size
    dimensions: list[DimensionBlock] = []
    for dim in instrument.dimensions:
        items = tuple(i for i in instrument.dimension_items(dim.key) if i.key in gap_keys)
        if not items:
            continue
        span = max(_span(instrument, item) for item in items)
        k = len(items)
        min_items = math.ceil(k / 2)
        grid = tuple(
            sorted(
                {
                    Fraction(s, m)
                    for m in range(min_items, k + 1)
                    for s in range(-m * span, m * span + 1)
                }
            )
        )
        float_offset = 3 * len(dimensions)  # [Σ weighted gap, Σ mean e, Σ mean p]
        dimensions.append(
            DimensionBlock(
                dim.key, tuple(i.key for i in items), span, min_items, grid, offset, float_offset
            )
        )
        offset += len(grid)
    reliability: list[ReliabilityBlock] = []
    for dim in instrument.dimensions:
        items = instrument.dimension_items(dim.key)
        for measure in RELIABILITY_MEASURES:
            if len(items) >= 2 and all(measure in item.measures for item in items):
                block = ReliabilityBlock(
                    dim.key,
                    measure,
                    tuple(item.key for item in items),
                    tuple(item.slot_name(measure) for item in items),
                    offset,
                )
                reliability.append(block)
                offset += block.size
    allocation = (
        tuple(dim.key for dim in instrument.dimensions) if instrument.allocates_importance else ()
    )
    allocation_offset = offset
    offset += 3 * len(allocation)
    overall_offset = offset
    offset += 2
    float_size = 3 * len(dimensions) + 4
    return CellLayout(
        instrument.key,
        instrument.version,
        instrument.importance.total if instrument.importance else 100,
        slots,
        na_slots,
        tuple(pairs),
        tuple(singles),
        tuple(dimensions),
        allocation,
        tuple(reliability),
        offset,
        float_size,
        allocation_offset=allocation_offset,
        overall_offset=overall_offset,
    )


def _span(instrument: Instrument, item: Item) -> int:
    scale = instrument.scale_of(item)
    return scale.max - scale.min


# The accumulator ------------------------------------------------------------------------------
class CellStats:
    """Sufficient statistics of the respondents of one cell (or of merged cells).

    ``a + b`` merges two cells of the same instrument; ``sum_cells`` merges many at once.
    Accessors return the summaries the pure statistics functions take.
    """

    __slots__ = ("floats", "ints", "layout")

    def __init__(self, layout: CellLayout, ints: np.ndarray, floats: np.ndarray) -> None:
        if ints.shape != (layout.int_size,) or floats.shape != (layout.float_size,):
            raise AnalysisError("cell statistics do not match the instrument's layout")
        self.layout = layout
        self.ints = ints
        self.floats = floats

    @classmethod
    def empty(cls, instrument: Instrument | CellLayout) -> CellStats:
        layout = instrument if isinstance(instrument, CellLayout) else CellLayout.of(instrument)
        return cls(
            layout,
            np.zeros(layout.int_size, dtype=np.int64),
            np.zeros(layout.float_size, dtype=float),
        )

    def _check(self, other: CellStats) -> None:
        if self.layout is not other.layout and self.layout != other.layout:
            raise AnalysisError(
                "cannot merge cell statistics of different instruments "
                f"({self.layout.instrument_key} v{self.layout.instrument_version} and "
                f"{other.layout.instrument_key} v{other.layout.instrument_version})"
            )

    def __add__(self, other: CellStats) -> CellStats:
        if not isinstance(other, CellStats):
            return NotImplemented
        self._check(other)
        return CellStats(self.layout, self.ints + other.ints, self.floats + other.floats)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CellStats):
            return NotImplemented
        return (
            self.layout == other.layout
            and np.array_equal(self.ints, other.ints)
            and np.array_equal(self.floats, other.floats)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"CellStats({self.layout.instrument_key} v{self.layout.instrument_version}, n={self.n})"
        )

    # Counts -----------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.ints[0])

    def missing(self, slot: str) -> tuple[int, int]:
        """(left empty, answered not applicable) of one slot."""
        at = 1 + 2 * self.layout.slot_index(slot)
        return int(self.ints[at]), int(self.ints[at + 1])

    def pair_counts(self, item: str) -> np.ndarray:
        """Joint counts ``[e, p]``: index 0 is missing, index ``i`` is the value ``low + i - 1``."""
        block = self.layout.pair(item)
        return self.ints[block.offset : block.offset + block.size].reshape(
            block.levels, block.levels
        )

    def item_gaps(self, item: str) -> tuple[ValueCounts, float | None, float | None]:
        """Histogram of the item's gaps (pairwise complete) and the expectation and perception
        means over the same respondents."""
        block = self.layout.pair(item)
        joint = self.pair_counts(item)[1:, 1:]
        n = int(joint.sum())
        values = np.arange(block.low, block.high + 1, dtype=float)
        span = block.high - block.low
        gap_counts = np.zeros(2 * span + 1, dtype=np.int64)
        for shift in range(-span, span + 1):
            gap_counts[shift + span] = np.trace(joint, offset=shift)
        counts = ValueCounts(np.arange(-span, span + 1, dtype=float), gap_counts)
        if n == 0:
            return counts, None, None
        e_mean = float(joint.sum(axis=1) @ values / n)
        p_mean = float(joint.sum(axis=0) @ values / n)
        return counts, e_mean, p_mean

    def value_counts(self, slot: str) -> ValueCounts:
        """Histogram of a single scaled slot (or option counts, values 0.. for a choice)."""
        block = self.layout.single(slot)
        counts = self.ints[block.offset : block.offset + block.size]
        values = np.arange(block.size, dtype=float) if block.labels else block.values()
        return ValueCounts(values, counts)

    def dimension_gaps(self, dimension: str) -> ValueCounts:
        block = self.layout.dimension(dimension)
        counts = self.ints[block.offset : block.offset + len(block.grid)]
        return ValueCounts(block.values, counts)

    def dimension_means(self, dimension: str) -> tuple[float | None, float | None]:
        """Mean over respondents with a dimension gap of their mean expectation and perception
        (over the items that have a gap)."""
        block = self.layout.dimension(dimension)
        n = self.dimension_gaps(dimension).n
        if n == 0:
            return None, None
        at = block.float_offset
        return float(self.floats[at + 1] / n), float(self.floats[at + 2] / n)

    def allocation(self, dimension: str) -> tuple[int, int]:
        """(respondents with an allocation, Σ points) of one dimension."""
        at = self.layout.allocation_offset + 3 * self.layout.allocation.index(dimension)
        return int(self.ints[at]), int(self.ints[at + 1])

    def weighted_gap(self, dimension: str) -> tuple[int, float]:
        """(respondents with an allocation and a dimension gap, Σ points/total × gap_d)."""
        at = self.layout.allocation_offset + 3 * self.layout.allocation.index(dimension)
        float_at = self.layout.dimension(dimension).float_offset
        return int(self.ints[at + 2]), float(self.floats[float_at])

    def cross_products(self, dimension: str, measure: str) -> CrossProducts:
        block = self.layout.reliability_block(dimension, measure)
        k = len(block.items)
        data = self.ints[block.offset : block.offset + block.size]
        return CrossProducts(
            block.items,
            int(data[0]),
            data[1 : 1 + k].astype(float),
            data[1 + k :].reshape(k, k).astype(float),
        )

    def overall_gap(self) -> Moments:
        """The respondent overall gap (mean of the available dimension gaps)."""
        at = self.layout.overall_float_offset
        return Moments(
            int(self.ints[self.layout.overall_offset]),
            float(self.floats[at]),
            float(self.floats[at + 1]),
        )

    def weighted_overall_gap(self) -> Moments:
        """Σ_d points_d/total × gap_d, for respondents with an allocation and every gap."""
        at = self.layout.overall_float_offset
        return Moments(
            int(self.ints[self.layout.overall_offset + 1]),
            float(self.floats[at + 2]),
            float(self.floats[at + 3]),
        )

    # JSON -------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The compact, versioned JSON form (zero counts omitted); see docs/assessment-json.md."""
        layout = self.layout
        blob: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "instrument": {"key": layout.instrument_key, "version": layout.instrument_version},
            "n": self.n,
        }
        missing = {}
        for slot in layout.slots:
            empty, na = self.missing(slot)
            if empty or na:
                missing[slot] = [empty, na]
        blob["missing"] = missing
        # Labels are precomputed per layout and numbers leave numpy through ``tolist()``: an
        # incremental refresh writes dozens of blobs, and per-element numpy scalars cost.
        labels = _json_labels(layout)
        pairs = {}
        for pair, keys in zip(layout.pairs, labels.pairs, strict=True):
            counts = self.ints[pair.offset : pair.offset + pair.size]
            nonzero = np.flatnonzero(counts)
            pairs[pair.item] = dict(
                zip([keys[i] for i in nonzero.tolist()], counts[nonzero].tolist(), strict=True)
            )
        blob["pairs"] = pairs
        values = {}
        for single, keys in zip(layout.singles, labels.singles, strict=True):
            counts = self.ints[single.offset : single.offset + single.size]
            nonzero = np.flatnonzero(counts)
            values[single.slot] = dict(
                zip([keys[i] for i in nonzero.tolist()], counts[nonzero].tolist(), strict=True)
            )
        blob["values"] = values
        dimensions = {}
        for dim, keys in zip(layout.dimensions, labels.dimensions, strict=True):
            counts = self.ints[dim.offset : dim.offset + len(dim.grid)]
            nonzero = np.flatnonzero(counts)
            at = dim.float_offset
            dimensions[dim.dimension] = {
                "gaps": dict(
                    zip([keys[i] for i in nonzero.tolist()], counts[nonzero].tolist(), strict=True)
                ),
                "expectation_sum": float(self.floats[at + 1]),
                "perception_sum": float(self.floats[at + 2]),
            }
        blob["dimensions"] = dimensions
        allocation = {}
        for dim_key in layout.allocation:
            n, points = self.allocation(dim_key)
            weighted_n, weighted_sum = (
                self.weighted_gap(dim_key) if layout.has_dimension(dim_key) else (0, 0.0)
            )
            allocation[dim_key] = {
                "n": n,
                "points": points,
                "weighted_n": weighted_n,
                "weighted_sum": weighted_sum,
            }
        blob["allocation"] = allocation
        reliability = {}
        for block in layout.reliability:
            k = len(block.items)
            data = self.ints[block.offset : block.offset + block.size]
            reliability[f"{block.dimension}/{block.measure.value}"] = {
                "items": list(block.items),
                "n": int(data[0]),
                "sums": data[1 : 1 + k].tolist(),
                "cross": data[1 + k :].reshape(k, k).tolist(),
            }
        blob["reliability"] = reliability
        overall, weighted = self.overall_gap(), self.weighted_overall_gap()
        blob["overall_gap"] = {"n": overall.n, "sum": overall.total, "sumsq": overall.total_sq}
        blob["weighted_overall_gap"] = {
            "n": weighted.n,
            "sum": weighted.total,
            "sumsq": weighted.total_sq,
        }
        return blob

    @classmethod
    def from_json(cls, blob: Mapping[str, Any], instrument: Instrument | CellLayout) -> CellStats:
        """Read a blob written by ``to_json``; anything that does not fit ``instrument`` raises
        ``AnalysisError`` naming the part."""
        layout = instrument if isinstance(instrument, CellLayout) else CellLayout.of(instrument)
        try:
            return _from_json(blob, layout)
        except AnalysisError:
            raise
        except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError) as error:
            raise AnalysisError(f"cell statistics blob is malformed: {error!r}") from error


@dataclass(frozen=True, slots=True)
class _JsonLabels:
    """The JSON key of every count position of a layout's pair, value and dimension blocks, and
    the way back (key → position, by block name) for the keys ``to_json`` writes."""

    pairs: tuple[tuple[str, ...], ...]
    singles: tuple[tuple[str, ...], ...]
    dimensions: tuple[tuple[str, ...], ...]
    pair_index: dict[str, dict[str, int]]
    single_index: dict[str, dict[str, int]]
    dimension_index: dict[str, dict[str, int]]


def _json_labels(layout: CellLayout) -> _JsonLabels:
    """The labels of ``layout``, built once and kept with the layout's lookup tables."""
    labels = layout._by_name.get("json_labels")
    if labels is None:
        labels = layout._by_name["json_labels"] = _build_json_labels(layout)
    return labels  # type: ignore[no-any-return]


def _build_json_labels(layout: CellLayout) -> _JsonLabels:
    pairs = []
    for pair in layout.pairs:
        levels = [""] + [str(v) for v in range(pair.low, pair.high + 1)]
        pairs.append(tuple(f"{e}:{p}" for e in levels for p in levels))
    singles = tuple(
        single.labels or tuple(str(v) for v in range(single.low, single.high + 1))
        for single in layout.singles
    )
    dimensions = tuple(tuple(str(value) for value in dim.grid) for dim in layout.dimensions)

    def index(blocks: tuple[Any, ...], names: list[str]) -> dict[str, dict[str, int]]:
        return {
            name: {key: i for i, key in enumerate(keys)}
            for name, keys in zip(names, blocks, strict=True)
        }

    return _JsonLabels(
        tuple(pairs),
        singles,
        dimensions,
        index(tuple(pairs), [pair.item for pair in layout.pairs]),
        index(singles, [single.slot for single in layout.singles]),
        index(dimensions, [dim.dimension for dim in layout.dimensions]),
    )


def _from_json(blob: Mapping[str, Any], layout: CellLayout) -> CellStats:
    if blob.get("format") != FORMAT or blob.get("format_version") != FORMAT_VERSION:
        raise AnalysisError(
            f"cell statistics blob has format {blob.get('format')!r} version "
            f"{blob.get('format_version')!r}; expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    meta = blob["instrument"]
    if (meta["key"], meta["version"]) != (layout.instrument_key, layout.instrument_version):
        raise AnalysisError(
            f"cell statistics of instrument {meta['key']} v{meta['version']} cannot be read "
            f"as {layout.instrument_key} v{layout.instrument_version}"
        )
    cell = CellStats.empty(layout)
    ints, floats = cell.ints, cell.floats
    # Keys as ``to_json`` writes them are looked up; any other spelling is parsed and checked.
    labels = _json_labels(layout)
    ints[0] = int(blob["n"])
    for slot, (empty, na) in blob.get("missing", {}).items():
        at = 1 + 2 * _known(layout._by_name["slots"], slot, "slot")
        ints[at], ints[at + 1] = int(empty), int(na)
    for item, counts in blob.get("pairs", {}).items():
        pair = _known(layout._by_name["pairs"], item, "gap item")
        known = labels.pair_index[item]
        for key, count in counts.items():
            flat = known.get(key)
            if flat is None:
                e_text, p_text = key.split(":")
                e, p = _level(e_text, pair.low, pair.high), _level(p_text, pair.low, pair.high)
                flat = e * pair.levels + p
            ints[pair.offset + flat] = int(count)
    for slot, counts in blob.get("values", {}).items():
        single = _known(layout._by_name["singles"], slot, "slot")
        known = labels.single_index[slot]
        for label, count in counts.items():
            position = known.get(label)
            if position is None:
                if single.labels:
                    position = single.labels.index(label)
                else:
                    position = _level(label, single.low, single.high) - 1
                    if position < 0:
                        raise ValueError(f"{slot}: empty value label")
            ints[single.offset + position] = int(count)
    for dim_key, data in blob.get("dimensions", {}).items():
        dim = _known(layout._by_name["dimensions"], dim_key, "dimension")
        known = labels.dimension_index[dim_key]
        for value, count in data["gaps"].items():
            position = known.get(value)
            if position is None:
                position = dim.positions.get(Fraction(value))
            if position is None:
                raise AnalysisError(f"dimension {dim_key}: {value} is not a possible gap")
            ints[dim.offset + position] = int(count)
        floats[dim.float_offset + 1] = float(data["expectation_sum"])
        floats[dim.float_offset + 2] = float(data["perception_sum"])
    for dim_key, data in blob.get("allocation", {}).items():
        if dim_key not in layout.allocation:
            raise AnalysisError(f"cell statistics name an unknown allocation dimension {dim_key!r}")
        at = layout.allocation_offset + 3 * layout.allocation.index(dim_key)
        ints[at], ints[at + 1], ints[at + 2] = data["n"], data["points"], data["weighted_n"]
        if layout.has_dimension(dim_key):
            floats[layout.dimension(dim_key).float_offset] = float(data["weighted_sum"])
    for name, data in blob.get("reliability", {}).items():
        dimension, measure = name.split("/")
        block = _known(layout._by_name["reliability"], (dimension, measure), "reliability block")
        if tuple(data["items"]) != block.items:
            raise AnalysisError(f"reliability block {name}: items differ from the instrument")
        k = len(block.items)
        values = [data["n"], *data["sums"], *(v for row in data["cross"] for v in row)]
        if len(values) != 1 + k + k * k:
            raise AnalysisError(f"reliability block {name}: wrong size")
        ints[block.offset : block.offset + block.size] = values
    for name, index in (("overall_gap", 0), ("weighted_overall_gap", 1)):
        data = blob.get(name, {"n": 0, "sum": 0.0, "sumsq": 0.0})
        ints[layout.overall_offset + index] = int(data["n"])
        floats[layout.overall_float_offset + 2 * index] = float(data["sum"])
        floats[layout.overall_float_offset + 2 * index + 1] = float(data["sumsq"])
    return cell


def _known(table: Mapping[Any, Any], key: Any, what: str) -> Any:
    if key not in table:
        raise AnalysisError(f"cell statistics name an unknown {what} {key!r}")
    return table[key]


def _level(text: str, low: int, high: int) -> int:
    """0 for missing (empty text), else the 1-based position of the value on the scale."""
    if text == "":
        return 0
    value = int(text)
    if not low <= value <= high:
        raise AnalysisError(f"value {value} is outside the scale {low}..{high}")
    return value - low + 1


def sum_cells(cells: Iterable[CellStats], instrument: Instrument | CellLayout) -> CellStats:
    """Merge many cells at once (in place into one accumulator); no cells gives an empty cell."""
    layout = instrument if isinstance(instrument, CellLayout) else CellLayout.of(instrument)
    total = CellStats.empty(layout)
    for cell in cells:
        if cell.layout is not layout and cell.layout != layout:
            raise AnalysisError(
                f"cell statistics of {cell.layout.instrument_key} "
                f"v{cell.layout.instrument_version} cannot be merged into "
                f"{layout.instrument_key} v{layout.instrument_version}"
            )
        total.ints += cell.ints
        total.floats += cell.floats
    return total
