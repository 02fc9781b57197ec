"""The thin data layer: responses → a respondent-level numeric frame → ``CellStats`` per cell.

The statistics never see raw rows: ``cells_from_frame`` folds respondents into per-cell
sufficient statistics (``analysis.sufficient``) with vectorised numpy (a million respondents take
seconds), and the assessment reads only those. The same builder feeds the aggregate table.

The respondent frame (``frame_from_records`` builds it; anyone may build it directly) has columns

- ``response_id``; ``submitted_at`` (timezone-aware, or naive meaning UTC); ``segment``,
  ``stage``, ``channel`` (strings); optionally ``campaign`` (string);
- one float column per answer slot except text (``<item>__<measure>`` or ``<item>``, and
  ``<dimension>__importance`` for an allocation), NaN when missing. Scaled values are already
  **reverse-keyed** (``min + max − x`` for every measure of a reverse-keyed item,
  methods.md "Data conventions"); a choice holds the position of its option;
- ``na:<slot>`` (bool) for the slots that offer "not applicable": True where the respondent chose
  it. Missing without the flag is "left empty"; both are missing for analysis, counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from analysis.results import AnalysisError
from analysis.sufficient import CellKey, CellLayout, CellStats
from surveys.instrument import Instrument, Measure

KEY_COLUMNS = ("segment", "stage", "channel")
NAN = float("nan")
NA_PREFIX = "na:"


class AnswersLike(Protocol):
    @property
    def values(self) -> Mapping[str, int | str]: ...

    @property
    def not_applicable(self) -> frozenset[str]: ...


class RecordLike(Protocol):
    """What ``surveys.response_table.ResponseRecord`` offers (and any equivalent row)."""

    @property
    def response_id(self) -> str: ...

    @property
    def submitted_at(self) -> datetime: ...

    @property
    def segment(self) -> str: ...

    @property
    def stage(self) -> str: ...

    @property
    def channel(self) -> str: ...

    @property
    def answers(self) -> AnswersLike: ...


def frame_from_records(records: Iterable[RecordLike], instrument: Instrument) -> pd.DataFrame:
    """The respondent frame (module docstring) of parsed responses, reverse-keyed.

    One pass per column over plain dicts (about 5 s per million respondents): the answers are
    Python objects, so this is the Python-bound step; everything after it is vectorised.
    """
    records = list(records)
    layout = CellLayout.of(instrument)
    answers = [record.answers.values for record in records]
    columns: dict[str, Any] = {
        "response_id": [record.response_id for record in records],
        "submitted_at": pd.to_datetime([record.submitted_at for record in records], utc=True),
        "segment": [record.segment or "" for record in records],
        "stage": [record.stage or "" for record in records],
        "channel": [record.channel or "" for record in records],
    }
    slot_of = {slot.name: slot for slot in instrument.slots()}
    for name in layout.slots:
        slot = slot_of[name]
        if slot.measure is Measure.CHOICE:
            item = instrument.item(slot.item or "")
            codes = {option.key: float(i) for i, option in enumerate(item.options)}
            values = np.array([codes.get(a.get(name), NAN) for a in answers], dtype=float)  # type: ignore[arg-type]
        else:
            values = np.array([a.get(name, NAN) for a in answers], dtype=float)
            if slot.item is not None:
                item = instrument.item(slot.item)
                if item.reverse:
                    values = instrument.scale_of(item).reverse(values)
        columns[name] = values
    flags = np.zeros((len(records), len(layout.na_slots)), dtype=bool)
    flag_column = {slot: i for i, slot in enumerate(layout.na_slots)}
    for row, record in enumerate(records):
        for name in record.answers.not_applicable:
            column = flag_column.get(name)
            if column is not None:
                flags[row, column] = True
    for i, name in enumerate(layout.na_slots):
        columns[NA_PREFIX + name] = flags[:, i]
    return pd.DataFrame(columns)


# Cells ----------------------------------------------------------------------------------------
def cell_keys(frame: pd.DataFrame) -> tuple[list[CellKey], np.ndarray]:
    """The distinct cells of the frame (sorted) and each row's cell number."""
    stamps = pd.to_datetime(frame["submitted_at"], utc=True)
    if stamps.isna().any():
        raise AnalysisError("every response needs a submitted_at time to be put in a month")
    months = (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype=np.int64)
    names = [*KEY_COLUMNS, "campaign"] if "campaign" in frame.columns else list(KEY_COLUMNS)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for name in names:
        codes, uniques = pd.factorize(frame[name].fillna("").astype(str), sort=True)
        parts.append((codes.astype(np.int64), np.asarray(uniques, dtype=object)))
    month_values, month_codes = np.unique(months, return_inverse=True)
    parts.insert(3, (month_codes.astype(np.int64), month_values))
    combined = np.zeros(len(frame), dtype=np.int64)
    for codes, uniques in parts:
        combined = combined * max(len(uniques), 1) + codes
    distinct, rows = np.unique(combined, return_inverse=True)
    keys = []
    for code in distinct.tolist():
        positions = []
        for _codes, uniques in reversed(parts):
            size = max(len(uniques), 1)
            positions.append(code % size)
            code //= size
        positions.reverse()
        values = [parts[i][1][position] for i, position in enumerate(positions)]
        month = int(values[3])
        period = f"{month // 12:04d}-{month % 12 + 1:02d}"
        campaign = str(values[4]) if len(values) > 4 else None
        keys.append(CellKey(str(values[0]), str(values[1]), str(values[2]), period, campaign))
    return keys, rows.astype(np.int64)


def cells_from_frame(frame: pd.DataFrame, instrument: Instrument) -> dict[CellKey, CellStats]:
    """Fold a respondent frame into one ``CellStats`` per cell (vectorised)."""
    layout = CellLayout.of(instrument)
    missing = [slot for slot in layout.slots if slot not in frame.columns]
    if missing:
        raise AnalysisError(f"the respondent frame lacks columns {', '.join(missing)}")
    if len(frame) == 0:
        return {}
    keys, rows = cell_keys(frame)
    builder = _CellBuilder(layout, instrument, frame, rows, len(keys))
    ints, floats = builder.build()
    return {key: CellStats(layout, ints[i], floats[i]) for i, key in enumerate(keys)}


class _CellBuilder:
    """Vectorised accumulation of every block of ``CellLayout`` for all cells at once."""

    def __init__(
        self,
        layout: CellLayout,
        instrument: Instrument,
        frame: pd.DataFrame,
        rows: np.ndarray,
        cells: int,
    ) -> None:
        self.layout = layout
        self.instrument = instrument
        self.frame = frame
        self.rows = rows
        self.cells = cells
        self.ints = np.zeros((cells, layout.int_size), dtype=np.int64)
        self.floats = np.zeros((cells, layout.float_size), dtype=float)

    def column(self, slot: str) -> np.ndarray:
        return self.frame[slot].to_numpy(dtype=float)

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        rows = self.rows if mask is None else self.rows[mask]
        return np.bincount(rows, minlength=self.cells)

    def total(self, weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.rows, weights=np.where(mask, weights, 0.0), minlength=self.cells)

    def histogram(self, local: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
        index = self.rows[mask] * size + local[mask]
        return np.bincount(index, minlength=self.cells * size).reshape(self.cells, size)

    def build(self) -> tuple[np.ndarray, np.ndarray]:
        self.ints[:, 0] = self.count()
        self._missing()
        self._pairs()
        self._singles()
        gaps = self._dimensions()
        self._allocation(gaps)
        self._reliability()
        self._overall(gaps)
        return self.ints, self.floats

    def _missing(self) -> None:
        na_slots = set(self.layout.na_slots)
        for i, slot in enumerate(self.layout.slots):
            answered = ~np.isnan(self.column(slot))
            flag = NA_PREFIX + slot
            if slot in na_slots and flag in self.frame.columns:
                na = self.frame[flag].to_numpy(dtype=bool) & ~answered
            else:
                na = np.zeros(len(answered), dtype=bool)
            self.ints[:, 1 + 2 * i] = self.count(~answered & ~na)
            self.ints[:, 2 + 2 * i] = self.count(na)

    def _levels(self, values: np.ndarray, low: int, high: int, what: str) -> np.ndarray:
        """0 for missing, else the 1-based position on the scale; out-of-scale raises."""
        present = ~np.isnan(values)
        bad = present & ((values < low) | (values > high) | (values != np.round(values)))
        if bad.any():
            raise AnalysisError(f"{what}: values outside the scale {low}..{high}")
        return np.where(present, values - low + 1, 0).astype(np.int64)

    def _pairs(self) -> None:
        for block in self.layout.pairs:
            item = self.instrument.item(block.item)
            e_slot = item.slot_name(Measure.EXPECTATION)
            p_slot = item.slot_name(Measure.PERCEPTION)
            e = self._levels(self.column(e_slot), block.low, block.high, e_slot)
            p = self._levels(self.column(p_slot), block.low, block.high, p_slot)
            local = e * block.levels + p
            every = np.ones(len(local), dtype=bool)
            self.ints[:, block.offset : block.offset + block.size] = self.histogram(
                local, every, block.size
            )

    def _singles(self) -> None:
        for block in self.layout.singles:
            values = self.column(block.slot)
            if block.labels:
                present = ~np.isnan(values)
                local = np.where(present, values, 0).astype(np.int64)
            else:
                local = self._levels(values, block.low, block.high, block.slot) - 1
                present = local >= 0
            self.ints[:, block.offset : block.offset + block.size] = self.histogram(
                local, present, block.size
            )

    def _dimensions(self) -> dict[str, np.ndarray]:
        """Histograms and means of respondent dimension gaps; returns each respondent's gap."""
        gaps: dict[str, np.ndarray] = {}
        for block in self.layout.dimensions:
            items = [self.instrument.item(key) for key in block.items]
            e = np.column_stack([self.column(i.slot_name(Measure.EXPECTATION)) for i in items])
            p = np.column_stack([self.column(i.slot_name(Measure.PERCEPTION)) for i in items])
            g = p - e
            has = ~np.isnan(g)
            m = has.sum(axis=1)
            s = np.where(has, g, 0.0).sum(axis=1).astype(np.int64)
            ok = m >= block.min_items
            local = np.zeros(len(m), dtype=np.int64)
            local[ok] = block.index[m[ok], s[ok] + m[ok] * block.span]
            size = len(block.grid)
            self.ints[:, block.offset : block.offset + size] = self.histogram(local, ok, size)
            divisor = np.where(ok, m, 1)
            e_mean = np.where(has, e, 0.0).sum(axis=1) / divisor
            p_mean = np.where(has, p, 0.0).sum(axis=1) / divisor
            self.floats[:, block.float_offset + 1] = self.total(e_mean, ok)
            self.floats[:, block.float_offset + 2] = self.total(p_mean, ok)
            gaps[block.dimension] = np.where(ok, s / divisor, np.nan)
        return gaps

    def _allocation(self, gaps: Mapping[str, np.ndarray]) -> None:
        layout = self.layout
        if not layout.allocation:
            return
        points = np.column_stack([self.column(f"{dim}__importance") for dim in layout.allocation])
        for d, dim in enumerate(layout.allocation):
            at = layout.allocation_offset + 3 * d
            present = ~np.isnan(points[:, d])
            self.ints[:, at] = self.count(present)
            self.ints[:, at + 1] = np.rint(self.total(points[:, d], present)).astype(np.int64)
            if dim in gaps:
                both = present & ~np.isnan(gaps[dim])
                weighted = points[:, d] / layout.allocation_total * gaps[dim]
                self.ints[:, at + 2] = self.count(both)
                self.floats[:, layout.dimension(dim).float_offset] = self.total(weighted, both)

    def _reliability(self) -> None:
        """Listwise-complete n, sums and Σxxᵀ per cell, from one small matrix product per cell
        and block: with rows sorted by cell and ``a = [1, x]`` on complete rows (0 elsewhere),
        ``aᵀa`` holds n, the sums and the cross products at once (exact for integer answers)."""
        if not self.layout.reliability:
            return
        order = np.argsort(self.rows, kind="stable")
        bounds = np.searchsorted(self.rows[order], np.arange(self.cells + 1))
        for block in self.layout.reliability:
            k = len(block.items)
            augmented = np.empty((len(order), k + 1))
            for i, slot in enumerate(block.slots):
                augmented[:, i + 1] = self.column(slot)[order]
            complete = ~np.isnan(augmented[:, 1:]).any(axis=1)
            augmented[:, 0] = 1.0
            augmented[~complete] = 0.0
            at = block.offset
            for cell in range(self.cells):
                part = augmented[bounds[cell] : bounds[cell + 1]]
                product = np.rint(part.T @ part).astype(np.int64)
                self.ints[cell, at] = product[0, 0]
                self.ints[cell, at + 1 : at + 1 + k] = product[0, 1:]
                self.ints[cell, at + 1 + k : at + 1 + k + k * k] = product[1:, 1:].ravel()

    def _overall(self, gaps: Mapping[str, np.ndarray]) -> None:
        layout = self.layout
        if not gaps:
            return
        matrix = np.column_stack(list(gaps.values()))
        available = (~np.isnan(matrix)).sum(axis=1)
        ok = available > 0
        overall = np.where(np.isnan(matrix), 0.0, matrix).sum(axis=1) / np.where(ok, available, 1)
        at, float_at = layout.overall_offset, layout.overall_float_offset
        self.ints[:, at] = self.count(ok)
        self.floats[:, float_at] = self.total(overall, ok)
        self.floats[:, float_at + 1] = self.total(overall * overall, ok)
        allocated = [dim for dim in layout.allocation if dim in gaps]
        if not allocated:
            return
        weighted = np.zeros(len(self.rows))
        complete = np.ones(len(self.rows), dtype=bool)
        for dim in allocated:
            points = self.column(f"{dim}__importance")
            complete &= ~np.isnan(points) & ~np.isnan(gaps[dim])
            weighted += np.where(complete, points / layout.allocation_total * gaps[dim], 0.0)
        self.ints[:, at + 1] = self.count(complete)
        self.floats[:, float_at + 2] = self.total(weighted, complete)
        self.floats[:, float_at + 3] = self.total(weighted * weighted, complete)


def merge_cells(
    cells: Mapping[CellKey, CellStats], other: Mapping[CellKey, CellStats]
) -> dict[CellKey, CellStats]:
    """Cell-wise sum of two cell tables (the incremental refresh adds new responses' cells)."""
    merged = dict(cells)
    for key, cell in other.items():
        merged[key] = merged[key] + cell if key in merged else cell
    return merged
