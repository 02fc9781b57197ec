"""The database path of the analysis: aggregate cells kept up to date from the append-only
responses, and assessments read from them (design.md, "Scale").

``refresh_aggregates`` folds the responses an instrument version has received since its
watermark into its cells (``surveys.models.aggregates``); ``cells_from_database`` refreshes and
then reads only the cells a filter selects, so an assessment reads O(cells), not O(answers).
Raw rows are read with plain Core selects and turned into the respondent frame of
``analysis.data`` column by column (numpy), never through a record or answer set per response;
the cells are then built by the engine's own builder (``analysis.data.cells_from_frame``), so the
database and a CSV file give the same statistics.

How a refresh stays correct under concurrency:

1. **A safe bound.** Only responses with ``id <= bound`` are folded, where every id up to the
   bound is already committed (or rolled back for good). On SQLite one writer at a time assigns
   ids, so the largest committed id is such a bound. On PostgreSQL sequence ids can commit out
   of order, so the bound is read under ``LOCK TABLE response IN SHARE MODE``, held for that one
   statement's transaction only: it waits for inserts in flight (an ``INSERT`` draws its id while
   holding the table's ``ROW EXCLUSIVE`` lock) and is released at once.
2. **Read without blocking writers.** The new responses are read in batches in one snapshot
   (a SQLite read transaction; ``REPEATABLE READ`` on PostgreSQL) and folded into cells in
   memory.
3. **Write briefly, once.** One write transaction (``surveys.db.write_session``: ``BEGIN
   IMMEDIATE`` on SQLite, a per-version advisory lock on PostgreSQL) checks that the watermark is
   still where the read started, recomputes stale cells (erasure, see the model), merges the new
   statistics into the stored blobs of the touched cells only, and moves the watermark. A second
   refresher waits for that lock and then finds the watermark moved: it has nothing to do
   (no-op), or it starts again from the new watermark.

Date filters are whole calendar months (UTC) on the aggregate path. A range that cuts a month is
answered exactly: the whole months come from the aggregates and the cut months are rebuilt from
their raw rows, restricted to the range, in the same snapshot.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    String,
    delete,
    func,
    insert,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from analysis.assessment import Assessment, assess
from analysis.commands import CampaignSource, CellSource, register_campaign_source
from analysis.data import NA_PREFIX, cells_from_frame, merge_cells
from analysis.results import AnalysisError
from analysis.sufficient import CellKey, CellLayout, CellStats, sum_cells
from surveys.answers import COLUMN_OF
from surveys.clock import utcnow
from surveys.db import is_sqlite, read_session, write_session
from surveys.instrument import SCALED_MEASURES, Instrument, Measure
from surveys.instrument_loader import load_instrument_file
from surveys.models import (
    AggregateCell,
    AggregateWatermark,
    Answer,
    Campaign,
    InstrumentVersion,
    Response,
)
from surveys.models.aggregates import new_etag
from surveys.services.instruments import instrument_of

#: Responses read per batch: bounds memory (about 30 answer rows each) whatever the backlog.
BATCH_RESPONSES = 20_000
#: Times a refresh starts again when another refresher moved the watermark meanwhile.
ATTEMPTS = 5
#: Blobs fetched per query when decoding: a parsed blob is a few hundred KB of Python objects.
DECODE_CHUNK = 50
#: First key of the PostgreSQL advisory lock a refresher holds (the second is the version id).
ADVISORY_NAMESPACE = 0x67617067  # "gapg"

_ANSWER_COLUMNS = ("expectation", "perception", "importance", "value")


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What a refresh did: responses folded in, cells written, stale cells recomputed, and each
    refreshed instrument version's watermark afterwards."""

    responses: int = 0
    cells: int = 0
    recomputed: int = 0
    watermarks: tuple[tuple[int, int], ...] = ()

    def __add__(self, other: RefreshResult) -> RefreshResult:
        return RefreshResult(
            self.responses + other.responses,
            self.cells + other.cells,
            self.recomputed + other.recomputed,
            self.watermarks + other.watermarks,
        )

    def watermark(self, instrument_version_id: int) -> int:
        return dict(self.watermarks)[instrument_version_id]


# Refresh --------------------------------------------------------------------------------------
def refresh_aggregates(
    engine: Engine,
    *,
    instrument_version_id: int | None = None,
    batch_size: int = BATCH_RESPONSES,
) -> RefreshResult:
    """Fold new responses into the aggregate cells of one instrument version (or of every
    stored version) and move the watermark; safe to run concurrently. A version with nothing
    new costs two small reads and writes nothing."""
    if instrument_version_id is None:
        with engine.connect() as connection:
            versions = connection.scalars(
                select(InstrumentVersion.id).order_by(InstrumentVersion.id)
            ).all()
    else:
        versions = [instrument_version_id]
    result = RefreshResult()
    for version_id in versions:
        result += _refresh(engine, version_id, batch_size=batch_size, rebuild=False)
    return result


def rebuild_aggregates(
    engine: Engine, instrument_version_id: int, *, batch_size: int = BATCH_RESPONSES
) -> RefreshResult:
    """Recompute every cell of an instrument version from its raw rows and swap them in at
    once (readers see the old cells or the new ones, never a mixture)."""
    return _refresh(engine, instrument_version_id, batch_size=batch_size, rebuild=True)


def _refresh(engine: Engine, version_id: int, *, batch_size: int, rebuild: bool) -> RefreshResult:
    instrument = instrument_of_version(engine, version_id)
    for _attempt in range(ATTEMPTS):
        with _snapshot(engine) as connection:
            start = 0 if rebuild else _watermark(connection, version_id)
            scope = [_by_id(Response.instrument_id) == version_id]
            news = select(Response.id).where(*scope, Response.id > start).limit(1)
            fresh = connection.scalar(news) is not None
            if not rebuild and not fresh and not _has_stale(connection, version_id):
                return RefreshResult(watermarks=((version_id, start),))
        bound = _safe_bound(engine)
        delta = _Accumulated.empty()
        with _snapshot(engine) as connection:
            for batch in _frames(
                connection, instrument, scope, after=start, upto=bound, size=batch_size
            ):
                delta.add(batch, instrument)
        with write_session(engine) as session:
            _lock_version(session, version_id)
            current = _watermark(session.connection(), version_id)
            if rebuild and current > bound:
                continue  # newer responses were folded meanwhile: read up to a newer bound
            if not rebuild and current != start:
                if current >= bound and not _has_stale(session.connection(), version_id):
                    return RefreshResult(watermarks=((version_id, current),))
                continue  # another refresher folded part of our range: start from theirs
            if rebuild:
                session.execute(
                    delete(AggregateCell).where(AggregateCell.instrument_version_id == version_id)
                )
                recomputed = 0
            else:
                recomputed = _recompute_stale(session, instrument, version_id, upto=start)
            written = _write_cells(session, version_id, instrument, delta)
            _set_watermark(session, version_id, bound)
            return RefreshResult(delta.responses, written, recomputed, ((version_id, bound),))
    raise AnalysisError(
        f"could not refresh the aggregates of instrument version {version_id}: other refreshers "
        f"kept moving its watermark ({ATTEMPTS} attempts); try again"
    )


def _by_id(column: ColumnElement[int]) -> ColumnElement[int]:
    """``column`` in a form no index can serve (``column + 0``), so that a query bounded by a
    response id range walks the primary key instead of every response of the instrument in
    ``ix_response_scope`` (which SQLite's planner prefers for an equality, then sorts)."""
    return column + 0


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction that sees one consistent state of the database."""
    options = {} if is_sqlite(engine) else {"isolation_level": "REPEATABLE READ"}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def _safe_bound(engine: Engine) -> int:
    """The largest response id below which every response is committed (module docstring)."""
    with engine.begin() as connection:
        if not is_sqlite(engine):
            connection.execute(text("LOCK TABLE response IN SHARE MODE"))
        return connection.scalar(select(func.max(Response.id))) or 0


def _lock_version(session: Session, version_id: int) -> None:
    """Serialise refreshers of one version (SQLite's ``BEGIN IMMEDIATE`` already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(ADVISORY_NAMESPACE, version_id)))


def _watermark(connection: Connection, version_id: int) -> int:
    value = connection.scalar(
        select(AggregateWatermark.last_response_id).where(
            AggregateWatermark.instrument_version_id == version_id
        )
    )
    return int(value or 0)


def _set_watermark(session: Session, version_id: int, last_response_id: int) -> None:
    changed = session.execute(
        update(AggregateWatermark)
        .where(AggregateWatermark.instrument_version_id == version_id)
        .values(last_response_id=last_response_id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(
            insert(AggregateWatermark).values(
                instrument_version_id=version_id,
                last_response_id=last_response_id,
                updated_at=utcnow(),
            )
        )


def _has_stale(connection: Connection, version_id: int) -> bool:
    return (
        connection.scalar(
            select(AggregateCell.id)
            .where(AggregateCell.instrument_version_id == version_id, AggregateCell.stale)
            .limit(1)
        )
        is not None
    )


class _StoredKey(NamedTuple):
    campaign_id: int
    segment: str
    stage: str
    channel: str
    period: str


@dataclass
class _Accumulated:
    """Cells folded from raw rows so far, with the campaign ids behind their keys."""

    cells: dict[CellKey, CellStats]
    campaign_ids: dict[str, int]
    responses: int = 0

    @classmethod
    def empty(cls) -> _Accumulated:
        return cls({}, {})

    def add(self, batch: _Batch, instrument: Instrument) -> None:
        self.cells = merge_cells(self.cells, cells_from_frame(batch.frame, instrument))
        self.campaign_ids.update(batch.campaign_ids)
        self.responses += len(batch.frame)

    def stored_key(self, key: CellKey) -> _StoredKey:
        return _StoredKey(
            self.campaign_ids[key.campaign or ""], key.segment, key.stage, key.channel, key.period
        )


def _write_cells(
    session: Session, version_id: int, instrument: Instrument, delta: _Accumulated
) -> int:
    """Merge ``delta`` into the stored cells: read and decode only the touched ones."""
    if not delta.cells:
        return 0
    layout = CellLayout.of(instrument)
    wanted = {delta.stored_key(key): cell for key, cell in delta.cells.items()}
    periods = sorted({key.period for key in wanted})
    existing: dict[_StoredKey, tuple[int, int]] = {}
    for row in session.execute(
        select(
            AggregateCell.id,
            AggregateCell.etag,
            AggregateCell.campaign_id,
            AggregateCell.segment,
            AggregateCell.stage,
            AggregateCell.channel,
            AggregateCell.period,
        ).where(
            AggregateCell.instrument_version_id == version_id,
            AggregateCell.period.in_(periods),
        )
    ):
        key = _StoredKey(*row[2:])
        if key in wanted:
            existing[key] = (row.id, row.etag)
    stored = _decoded(session.connection(), list(existing.values()), layout)
    now = utcnow()
    updates, inserts = [], []
    for key, cell in wanted.items():
        if key in existing:
            cell_id = existing[key][0]
            updates.append(_cell_values(stored[cell_id] + cell, now) | {"id": cell_id})
        else:
            inserts.append(
                _cell_values(cell, now) | {"instrument_version_id": version_id, **key._asdict()}
            )
    if updates:
        session.execute(update(AggregateCell), updates)
    if inserts:
        session.execute(insert(AggregateCell), inserts)
    return len(wanted)


def _cell_values(cell: CellStats, now: datetime) -> dict[str, Any]:
    etag = new_etag()
    DECODED.put(etag, cell)
    return {"n": cell.n, "stats": cell.to_json(), "stale": False, "updated_at": now, "etag": etag}


class DecodedCells:
    """Decoded ``stats`` blobs by ``etag`` (least recently used dropped first).

    Decoding a blob costs milliseconds and a dashboard reads hundreds of cells, so a warm reader
    decodes only the cells written since it last looked. The etag is random per write, so an
    entry is exact for as long as the row is unchanged; cached arrays are made read-only.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._cells: OrderedDict[int, CellStats] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: int, layout: CellLayout) -> CellStats | None:
        with self._lock:
            cell = self._cells.get(etag)
            if cell is None:
                return None
            self._cells.move_to_end(etag)
        return cell if cell.layout is layout or cell.layout == layout else None

    def put(self, etag: int, cell: CellStats) -> None:
        cell.ints.flags.writeable = False
        cell.floats.flags.writeable = False
        with self._lock:
            self._cells[etag] = cell
            self._cells.move_to_end(etag)
            while len(self._cells) > self.capacity:
                self._cells.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._cells.clear()


#: Enough for every cell of a few instruments (a cell of the 22-item instrument is ~18 KB).
DECODED = DecodedCells(4096)


def _decoded(
    connection: Connection, rows: Sequence[tuple[int, int]], layout: CellLayout
) -> dict[int, CellStats]:
    """The statistics of the cells ``(id, etag)``: cached decodings, blobs read for the rest."""
    cells: dict[int, CellStats] = {}
    missing: dict[int, int] = {}
    for cell_id, etag in rows:
        cell = DECODED.get(etag, layout)
        if cell is None:
            missing[cell_id] = etag
        else:
            cells[cell_id] = cell
    ids = list(missing)
    for start in range(0, len(ids), DECODE_CHUNK):
        chunk = ids[start : start + DECODE_CHUNK]
        for cell_id, blob in connection.execute(
            select(AggregateCell.id, AggregateCell.stats).where(AggregateCell.id.in_(chunk))
        ):
            cell = CellStats.from_json(blob, layout)
            DECODED.put(missing[cell_id], cell)
            cells[cell_id] = cell
    return cells


def _recompute_stale(session: Session, instrument: Instrument, version_id: int, upto: int) -> int:
    """Rebuild every stale cell from the raw rows left for its key (ids up to ``upto``)."""
    rows = session.execute(
        select(
            AggregateCell.id,
            AggregateCell.campaign_id,
            AggregateCell.segment,
            AggregateCell.stage,
            AggregateCell.channel,
            AggregateCell.period,
        ).where(AggregateCell.instrument_version_id == version_id, AggregateCell.stale)
    ).all()
    connection = session.connection()
    layout = CellLayout.of(instrument)
    now = utcnow()
    for row in rows:
        month_start, month_end = month_bounds(row.period)
        scope = [
            Response.instrument_id == version_id,
            Response.campaign_id == row.campaign_id,
            Response.segment == row.segment,
            Response.stage == row.stage,
            Response.channel == row.channel,
            Response.submitted_at >= month_start,
            Response.submitted_at < month_end,
        ]
        rebuilt = _Accumulated.empty()
        for batch in _frames(connection, instrument, scope, after=0, upto=upto):
            rebuilt.add(batch, instrument)
        if not rebuilt.cells:
            session.execute(delete(AggregateCell).where(AggregateCell.id == row.id))
            continue
        cell = sum_cells(rebuilt.cells.values(), layout)
        session.execute(update(AggregateCell), [_cell_values(cell, now) | {"id": row.id}])
    return len(rows)


# Raw rows → the respondent frame --------------------------------------------------------------
@dataclass(frozen=True)
class _Batch:
    frame: pd.DataFrame
    campaign_ids: dict[str, int]


@dataclass(frozen=True, slots=True)
class _SlotSource:
    """Where one frame column comes from: the answer row of ``key`` and one of its columns."""

    slot: str
    key: str
    column: str
    bit: int
    reverse_total: int | None  # min + max of the scale when the item is reverse-keyed
    choice: tuple[str, ...] = ()


@lru_cache(maxsize=64)
def _sources(instrument: Instrument) -> tuple[_SlotSource, ...]:
    layout = CellLayout.of(instrument)
    wanted = set(layout.slots)
    sources = []
    for slot in instrument.slots():
        if slot.name not in wanted:
            continue
        column, bit = COLUMN_OF[slot.measure]
        reverse_total = None
        choice: tuple[str, ...] = ()
        if slot.item is not None:
            item = instrument.item(slot.item)
            if slot.measure is Measure.CHOICE:
                choice = tuple(option.key for option in item.options)
            elif slot.measure in SCALED_MEASURES and item.reverse:
                scale = instrument.scale_of(item)
                reverse_total = scale.min + scale.max
        key = slot.item if slot.item is not None else slot.dimension or ""
        sources.append(_SlotSource(slot.name, key, column, bit, reverse_total, choice))
    return tuple(sources)


def frame_from_database(
    connection: Connection, instrument: Instrument, scope: Sequence[ColumnElement[bool]]
) -> pd.DataFrame:
    """The respondent frame (``analysis.data``) of the responses matching ``scope`` (conditions
    on ``Response`` columns), in id order, with a ``campaign`` column (the campaign key)."""
    frames = [batch.frame for batch in _frames(connection, instrument, scope, after=0, upto=None)]
    if not frames:
        return _frame(instrument, [], [], [])
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _frames(
    connection: Connection,
    instrument: Instrument,
    scope: Sequence[ColumnElement[bool]],
    *,
    after: int,
    upto: int | None,
    size: int = BATCH_RESPONSES,
) -> Iterator[_Batch]:
    """Batches of at most ``size`` responses with ``after < id <= upto``, as frames."""
    choice_keys = sorted({source.key for source in _sources(instrument) if source.choice})
    last = after
    while True:
        window = [*scope, Response.id > last]
        if upto is not None:
            window.append(Response.id <= upto)
        responses = connection.execute(
            select(
                Response.id,
                Response.uid,
                Response.campaign_id,
                Campaign.key,
                Response.segment,
                Response.stage,
                Response.channel,
                type_coerce(Response.submitted_at, String),
            )
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(*window)
            .order_by(Response.id)
            .limit(size)
        ).all()
        if not responses:
            return
        first_id, last_id = responses[0][0], responses[-1][0]
        rows = [*scope, Response.id >= first_id, Response.id <= last_id]
        answers = _plain_rows(
            connection,
            select(
                Answer.response_id,
                Answer.item,
                *(getattr(Answer, name) for name in _ANSWER_COLUMNS),
                Answer.na_mask,
            )
            .join(Response, Response.id == Answer.response_id)
            .where(*rows),
        )
        choices = (
            _plain_rows(
                connection,
                select(Answer.response_id, Answer.item, Answer.text, Answer.na_mask)
                .join(Response, Response.id == Answer.response_id)
                .where(*rows, Answer.item.in_(choice_keys)),
            )
            if choice_keys
            else []
        )
        frame = _frame(instrument, responses, answers, choices)
        yield _Batch(frame, {str(row[3]): int(row[2]) for row in responses})
        if len(responses) < size:
            return
        last = last_id


def _plain_rows(connection: Connection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """Every row as the driver's plain tuple. A batch has hundreds of thousands of answer rows
    whose columns (integers and text) need no result processing, and building a ``Row`` for
    each costs about as much as the query itself."""
    result = connection.execute(statement)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _frame(
    instrument: Instrument,
    responses: Sequence[Row[Any]],
    answers: Sequence[tuple[Any, ...]],
    choices: Sequence[tuple[Any, ...]],
) -> pd.DataFrame:
    """Responses (id, uid, campaign id, campaign key, segment, stage, channel, submitted_at) and
    their answer rows → the respondent frame, one numpy column at a time."""
    n = len(responses)
    meta = list(zip(*responses, strict=True)) if n else [()] * 8
    ids = np.fromiter(meta[0], dtype=np.int64, count=n)
    layout = CellLayout.of(instrument)
    sources = _sources(instrument)
    na_index = {slot: i for i, slot in enumerate(layout.na_slots)}
    values = np.full((n, len(sources)), np.nan)
    flags = np.zeros((n, len(layout.na_slots)), dtype=bool)

    numeric = _AnswerColumns(answers, ids, ("response_id", "item", *_ANSWER_COLUMNS, "na_mask"))
    texts = _AnswerColumns(choices, ids, ("response_id", "item", "text", "na_mask"))
    for j, source in enumerate(sources):
        table = texts if source.choice else numeric
        found = table.rows_of(source.key)
        if found is None:
            continue
        rows, picked = found
        na = (table.column("na_mask")[picked].astype(np.int64) & source.bit) != 0
        if source.choice:
            positions = {key: float(i) for i, key in enumerate(source.choice)}
            raw = table.column("text")[picked]
            column = np.array([positions.get(value, np.nan) for value in raw], dtype=float)
        else:
            column = table.column(source.column)[picked]
            if source.reverse_total is not None:
                column = source.reverse_total - column
        values[rows, j] = np.where(na, np.nan, column)
        if source.slot in na_index:
            flags[rows, na_index[source.slot]] = na

    frame = pd.DataFrame(
        {
            "response_id": pd.Series(meta[1], dtype=object),
            "submitted_at": _timestamps(meta[7]),
            "segment": pd.Series(meta[4], dtype=object),
            "stage": pd.Series(meta[5], dtype=object),
            "channel": pd.Series(meta[6], dtype=object),
            "campaign": pd.Series(meta[3], dtype=object),
        }
    )
    slots = pd.DataFrame(values, columns=[source.slot for source in sources])
    na_flags = pd.DataFrame(flags, columns=[NA_PREFIX + slot for slot in layout.na_slots])
    return pd.concat([frame, slots, na_flags], axis=1)


class _AnswerColumns:
    """Answer rows as columns, with each row's position among the responses.

    Each column becomes a numpy array when first asked for (``None`` becomes NaN), taken from
    the row tuples with ``itemgetter``: a batch holds hundreds of thousands of rows, and a
    DataFrame built from the tuples (or ``zip(*rows)``) costs several times as much.
    """

    def __init__(
        self, rows: Sequence[tuple[Any, ...]], ids: np.ndarray, names: tuple[str, ...]
    ) -> None:
        self.rows = rows
        self.names = names
        response_ids = np.fromiter(map(itemgetter(0), rows), dtype=np.int64, count=len(rows))
        self.position = np.searchsorted(ids, response_ids)
        codes, uniques = pd.factorize(np.array(self._values("item"), dtype=object))
        # The rows of each item, by one stable sort rather than a mask per item.
        self.order = np.argsort(codes, kind="stable")
        self.bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=len(uniques)))))
        self.code_of = {str(item): i for i, item in enumerate(uniques)}
        self.cache: dict[str, np.ndarray] = {}

    def _values(self, name: str) -> list[Any]:
        return list(map(itemgetter(self.names.index(name)), self.rows))

    def column(self, name: str) -> np.ndarray:
        if name not in self.cache:
            if name == "text":
                values = np.array(self._values(name), dtype=object)
                values[values == None] = np.nan  # noqa: E711 - elementwise on an object array
            else:
                values = np.array(self._values(name), dtype=float)
            self.cache[name] = values
        return self.cache[name]

    def rows_of(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(positions among the responses, indices into the columns) of ``key``'s rows."""
        code = self.code_of.get(key)
        if code is None:
            return None
        rows = self.order[self.bounds[code] : self.bounds[code + 1]]
        return self.position[rows], rows


def _timestamps(values: Sequence[Any]) -> pd.Series:
    """``submitted_at`` as UTC timestamps: SQLite gives ISO text (UTC), PostgreSQL datetimes."""
    if values and isinstance(values[0], str):
        return pd.Series(pd.to_datetime(pd.Series(values), utc=True, format="ISO8601"))
    return pd.Series(pd.to_datetime(list(values), utc=True))


# Reading cells --------------------------------------------------------------------------------
def month_bounds(period: str) -> tuple[datetime, datetime]:
    """The first moment of a month ``YYYY-MM`` and of the next one (UTC)."""
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True, slots=True)
class _DatePlan:
    """A date range as a span of whole months (read from the aggregates) and the months it cuts
    (rebuilt from raw rows within the range)."""

    first_whole: str | None
    last_whole: str | None
    cut: tuple[tuple[datetime, datetime], ...]  # [from, to) within one month each

    @classmethod
    def of(cls, date_from: date | None, date_to: date | None) -> _DatePlan:
        if date_from is not None and date_to is not None and date_from > date_to:
            raise AnalysisError(f"the date range is empty: {date_from} is after {date_to}")
        start = _midnight(date_from) if date_from is not None else None
        end = _midnight(date_to) + timedelta(days=1) if date_to is not None else None
        cut_months: list[str] = []
        first_whole = last_whole = None
        if date_from is not None:
            first_whole = _period(date_from)
            if date_from.day != 1:
                cut_months.append(first_whole)
                first_whole = _period(month_bounds(first_whole)[1])
        if date_to is not None:
            last_whole = _period(date_to)
            if date_to.day != calendar.monthrange(date_to.year, date_to.month)[1]:
                if last_whole not in cut_months:
                    cut_months.append(last_whole)
                last_whole = _period(month_bounds(last_whole)[0] - timedelta(days=1))
        cut = []
        for month in cut_months:
            month_start, month_end = month_bounds(month)
            cut.append(
                (
                    max(month_start, start) if start is not None else month_start,
                    min(month_end, end) if end is not None else month_end,
                )
            )
        return cls(first_whole, last_whole, tuple(cut))

    @property
    def no_whole_month(self) -> bool:
        return (
            self.first_whole is not None
            and self.last_whole is not None
            and self.first_whole > self.last_whole
        )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def cells_from_database(
    engine: Engine,
    *,
    instrument_version_id: int,
    campaign_keys: Sequence[str] = (),
    date_from: date | None = None,
    date_to: date | None = None,
    segments: Sequence[str] = (),
    stages: Sequence[str] = (),
    channels: Sequence[str] = (),
) -> dict[CellKey, CellStats]:
    """The cells of one instrument version that a filter selects, brought up to date first.

    Filters combine with AND; an empty sequence means "all". ``date_from``/``date_to`` are
    inclusive UTC days; months they cut are rebuilt from raw rows (module docstring). Cell keys
    carry the campaign key.
    """
    instrument = instrument_of_version(engine, instrument_version_id)
    layout = CellLayout.of(instrument)
    refresh_aggregates(engine, instrument_version_id=instrument_version_id)
    plan = _DatePlan.of(date_from, date_to)
    with _snapshot(engine) as connection:
        _check_campaigns(connection, instrument_version_id, campaign_keys)
        watermark = _watermark(connection, instrument_version_id)
        cells: dict[CellKey, CellStats] = {}
        if not plan.no_whole_month:
            query = (
                select(
                    AggregateCell.id,
                    AggregateCell.etag,
                    AggregateCell.segment,
                    AggregateCell.stage,
                    AggregateCell.channel,
                    AggregateCell.period,
                    Campaign.key,
                )
                .join(Campaign, Campaign.id == AggregateCell.campaign_id)
                .where(AggregateCell.instrument_version_id == instrument_version_id)
            )
            for column, chosen in (
                (Campaign.key, campaign_keys),
                (AggregateCell.segment, segments),
                (AggregateCell.stage, stages),
                (AggregateCell.channel, channels),
            ):
                if chosen:
                    query = query.where(column.in_(list(chosen)))
            if plan.first_whole is not None:
                query = query.where(AggregateCell.period >= plan.first_whole)
            if plan.last_whole is not None:
                query = query.where(AggregateCell.period <= plan.last_whole)
            rows = connection.execute(query).all()
            stats = _decoded(connection, [(row.id, row.etag) for row in rows], layout)
            cells = {CellKey(*row[2:]): stats[row.id] for row in rows}
        for start, end in plan.cut:
            scope = [
                Response.instrument_id == instrument_version_id,
                Response.submitted_at >= start,
                Response.submitted_at < end,
            ]
            if campaign_keys:
                campaigns = select(Campaign.id).where(Campaign.key.in_(list(campaign_keys)))
                scope.append(Response.campaign_id.in_(campaigns))
            for column, chosen in (
                (Response.segment, segments),
                (Response.stage, stages),
                (Response.channel, channels),
            ):
                if chosen:
                    scope.append(column.in_(list(chosen)))
            for batch in _frames(connection, instrument, scope, after=0, upto=watermark):
                cells = merge_cells(cells, cells_from_frame(batch.frame, instrument))
    return cells


def _check_campaigns(connection: Connection, version_id: int, keys: Sequence[str]) -> None:
    if not keys:
        return
    found = dict(
        connection.execute(
            select(Campaign.key, Campaign.instrument_id).where(Campaign.key.in_(list(keys)))
        )
        .tuples()
        .all()
    )
    unknown = [key for key in keys if key not in found]
    if unknown:
        raise AnalysisError(f"no campaign {', '.join(map(repr, unknown))}")
    other = [key for key in keys if found[key] != version_id]
    if other:
        raise AnalysisError(
            f"campaign {', '.join(map(repr, other))} fields another instrument version"
        )


def cells_hash(cells: Mapping[CellKey, CellStats]) -> str:
    """SHA-256 of the cells' keys and statistics (the assessment's ``data_hash``)."""
    digest = hashlib.sha256()
    for key in sorted(cells, key=lambda key: tuple(part or "" for part in key)):
        cell = cells[key]
        digest.update(json.dumps(list(key)).encode("utf-8"))
        digest.update(cell.ints.tobytes())
        digest.update(cell.floats.tobytes())
    return digest.hexdigest()


# Instruments and campaigns --------------------------------------------------------------------
def instrument_of_version(engine: Engine, instrument_version_id: int) -> Instrument:
    """The stored instrument version (loaded once per content hash by the instruments service)."""
    with read_session(engine) as session:
        row = session.get(InstrumentVersion, instrument_version_id)
        if row is None:
            raise AnalysisError(f"no instrument version with id {instrument_version_id}")
        return instrument_of(row)


def assess_campaign(
    engine: Engine,
    campaign_key: str,
    *,
    by: Sequence[str] = (),
    date_from: date | None = None,
    date_to: date | None = None,
    segments: Sequence[str] = (),
    stages: Sequence[str] = (),
    channels: Sequence[str] = (),
    **options: Any,
) -> Assessment:
    """The assessment of one campaign's responses from the aggregate table (what
    ``gapmeter analyze --campaign KEY`` and the dashboard show). ``options`` go to
    ``analysis.assessment.assess`` (``period``, ``min_cell``, ``alpha``, ``correction``,
    ``targets``; the instrument's own targets by default)."""
    with engine.connect() as connection:
        version_id = connection.scalar(
            select(Campaign.instrument_id).where(Campaign.key == campaign_key)
        )
    if version_id is None:
        raise AnalysisError(f"no campaign {campaign_key!r}")
    instrument = instrument_of_version(engine, version_id)
    cells = cells_from_database(
        engine,
        instrument_version_id=version_id,
        campaign_keys=(campaign_key,),
        date_from=date_from,
        date_to=date_to,
        segments=segments,
        stages=stages,
        channels=channels,
    )
    filters: dict[str, Any] = {"campaign": campaign_key}
    for name, value in (
        ("date_from", date_from),
        ("date_to", date_to),
        ("segments", list(segments)),
        ("stages", list(stages)),
        ("channels", list(channels)),
    ):
        if value:
            filters[name] = value.isoformat() if isinstance(value, date) else value
    options.setdefault("targets", instrument.targets)
    return assess(
        cells,
        instrument,
        by=by,
        data_hash="cells-sha256:" + cells_hash(cells),
        filters=filters,
        **options,
    )


# The analyze command's --campaign -----------------------------------------------------------
def campaign_source(engine: Engine | Callable[[], Engine]) -> CampaignSource:
    """A ``CampaignSource`` for ``gapmeter analyze --campaign KEY`` reading the aggregates of
    ``engine`` (or of the engine a factory returns when the command runs)."""

    def source(keys: tuple[str, ...], instrument_path: Path | None) -> CellSource:
        bound = engine if isinstance(engine, Engine) else engine()
        with bound.connect() as connection:
            versions = dict(
                connection.execute(
                    select(Campaign.key, Campaign.instrument_id).where(Campaign.key.in_(keys))
                )
                .tuples()
                .all()
            )
        unknown = [key for key in keys if key not in versions]
        if unknown:
            raise AnalysisError(f"no campaign {', '.join(map(repr, unknown))}")
        if len(set(versions.values())) > 1:
            raise AnalysisError(
                "these campaigns field different instrument versions; analyse them one at a time"
            )
        version_id = versions[keys[0]]
        instrument = instrument_of_version(bound, version_id)
        if instrument_path is not None:
            given = load_instrument_file(instrument_path)
            if given.content_hash != instrument.content_hash:
                raise AnalysisError(
                    f"{instrument_path.name} is not the instrument these campaigns field "
                    f"({instrument.key} version {instrument.version}); leave out --instrument"
                )
        cells = cells_from_database(bound, instrument_version_id=version_id, campaign_keys=keys)
        return CellSource(
            cells, instrument, "cells-sha256:" + cells_hash(cells), {"campaigns": list(keys)}
        )

    return source


def register_analyze_campaigns(engine: Engine | Callable[[], Engine]) -> None:
    """Let ``gapmeter analyze --campaign KEY`` read this database (the CLI calls this)."""
    register_campaign_source(campaign_source(engine))
