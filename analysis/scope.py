"""An assessment scope read from the database: instrument version, campaigns, date range,
segments, stages and channels (design.md, "Analysis"), and what the dashboard and the PDF of one
scope need besides the statistics: the respondents' comments.

The statistics path is the aggregate path of ``analysis.store``: ``cells_from_database``
selects the cells of the filter (months a date range cuts are rebuilt from raw rows), and
``analysis.assessment.assess`` computes the one assessment object every view renders.
``assess_campaign`` is the single-campaign case of ``assess_scope``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, select

from analysis.assessment import Assessment, assess
from analysis.report.comments import DEFAULT_POLICY, Comment, comments_from_records
from analysis.store import cells_from_database, cells_hash, instrument_of_version
from analysis.sufficient import CellKey, CellStats
from surveys.db import read_session
from surveys.instrument import Instrument, Measure
from surveys.models import Answer, Campaign, Response
from surveys.services.responses import RECORD_COLUMNS, records_of


@dataclass(frozen=True, slots=True)
class Scope:
    """What an assessment covers. Filters combine with AND; an empty tuple means "all";
    ``date_from`` / ``date_to`` are inclusive UTC days."""

    instrument_version_id: int
    campaigns: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    segments: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def filters(self) -> dict[str, Any]:
        """The filters as the assessment's ``meta.filters`` records them (only those set)."""
        chosen: dict[str, Any] = {}
        for name, value in (
            ("campaigns", list(self.campaigns)),
            ("date_from", self.date_from.isoformat() if self.date_from else None),
            ("date_to", self.date_to.isoformat() if self.date_to else None),
            ("segments", list(self.segments)),
            ("stages", list(self.stages)),
            ("channels", list(self.channels)),
        ):
            if value:
                chosen[name] = value
        return chosen


def scope_cells(engine: Engine, scope: Scope) -> dict[CellKey, CellStats]:
    """The aggregate cells of ``scope`` (brought up to date first)."""
    return cells_from_database(
        engine,
        instrument_version_id=scope.instrument_version_id,
        campaign_keys=scope.campaigns,
        date_from=scope.date_from,
        date_to=scope.date_to,
        segments=scope.segments,
        stages=scope.stages,
        channels=scope.channels,
    )


def assess_scope(
    engine: Engine,
    scope: Scope,
    *,
    by: Sequence[str] = (),
    cells: Mapping[CellKey, CellStats] | None = None,
    **options: Any,
) -> Assessment:
    """The assessment of ``scope``. ``options`` go to ``assess`` (``period``, ``min_cell``,
    ``alpha``, ``correction``, ``targets``: the instrument's own targets by default; pass more,
    e.g. the database's service standards, to have them assessed). ``cells``: the scope's cells
    when the caller has read them already (``scope_cells``), so they are not read twice.

    The stored version's own ``Instrument`` object is assessed, so its cached cell layout is
    shared with the cells (a copy with other targets would compare layouts field by field).
    """
    instrument = instrument_of_version(engine, scope.instrument_version_id)
    if cells is None:
        cells = scope_cells(engine, scope)
    options.setdefault("targets", instrument.targets)
    return assess(
        cells,
        instrument,
        by=by,
        data_hash="cells-sha256:" + cells_hash(cells),
        filters=scope.filters(),
        **options,
    )


def _response_filter(scope: Scope) -> list[ColumnElement[bool]]:
    """The scope as conditions on ``response`` rows (the raw-row twin of the cell filter)."""
    conditions: list[ColumnElement[bool]] = [Response.instrument_id == scope.instrument_version_id]
    if scope.campaigns:
        chosen = select(Campaign.id).where(Campaign.key.in_(list(scope.campaigns)))
        conditions.append(Response.campaign_id.in_(chosen))
    if scope.date_from is not None:
        conditions.append(Response.submitted_at >= _midnight(scope.date_from))
    if scope.date_to is not None:
        conditions.append(Response.submitted_at < _midnight(scope.date_to) + timedelta(days=1))
    for column, values in (
        (Response.segment, scope.segments),
        (Response.stage, scope.stages),
        (Response.channel, scope.channels),
    ):
        if values:
            conditions.append(column.in_(list(values)))
    return conditions


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def scope_comments(
    engine: Engine,
    scope: Scope,
    instrument: Instrument,
    *,
    limit: int = DEFAULT_POLICY.max_input,
) -> list[Comment]:
    """The free-text answers of the scope's respondents, each with the respondent's dimension
    gaps, segment, stage and channel (what ``analysis.report.comments.select_comments`` takes).

    Only respondents with a non-empty text answer are read, oldest first, at most ``limit``
    of them (the comment rule's ``max_input``).
    """
    text_items = [item.key for item in instrument.items_with(Measure.TEXT)]
    if not text_items:
        return []
    with_text = select(Answer.response_id).where(
        Answer.item.in_(text_items), Answer.text.is_not(None), Answer.text != ""
    )
    query = (
        select(*RECORD_COLUMNS)
        .where(*_response_filter(scope), Response.id.in_(with_text))
        .order_by(Response.id)
        .limit(limit)
    )
    with read_session(engine) as session:
        rows = session.connection().execute(query).all()
        records = records_of(session, instrument, rows) if rows else []
    return comments_from_records(records, instrument)
