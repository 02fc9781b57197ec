"""What a report shows besides the assessment, read from the assessment's own source: the
respondents' comments (with each respondent's dimension gaps) and the answer distributions of
the score items.

Both sources give the same shapes, through ``comments.comments_from_records``:
``comments_from_table`` reads a response table (``surveys.response_table``),
``comments_from_database`` the stored responses of campaigns (``analysis.scope.scope_comments``,
which the web app's report uses too), and
``distributions_from_cells`` sums the assessment's own cells, so the counts shown are those the
scores were computed from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.report.comments import DEFAULT_POLICY, Comment, comments_from_records
from analysis.sufficient import CellKey, CellLayout, CellStats, sum_cells
from surveys.instrument import Instrument, Measure

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: Measures of a single-measure item whose answer distribution the Scores section shows.
DISTRIBUTED = (Measure.NPS, Measure.RATING, Measure.CES)


def distributions_from_cells(
    cells: Mapping[CellKey, CellStats], instrument: Instrument
) -> dict[str, dict[int, int]]:
    """Whole-scope answer counts ``{item: {value: count}}`` of every item that feeds a headline
    score (NPS, CSAT, CES) or asks one rating, NPS or CES question, in instrument order."""
    layout = CellLayout.of(instrument)
    total = sum_cells(cells.values(), layout)
    found: dict[str, dict[int, int]] = {}
    for item in instrument.items:
        measures = [m for m in item.measures if m in DISTRIBUTED]
        if len(item.measures) != 1 or not measures:
            continue
        slot = item.slot_name(measures[0])
        if not layout.has_single(slot):
            continue
        counts = total.value_counts(slot)
        found[item.key] = {
            int(value): int(count)
            for value, count in zip(counts.values, counts.counts, strict=True)
        }
    return found


def comments_from_table(data: Path, instrument: Instrument) -> list[Comment]:
    """The free-text answers of a response table with each respondent's dimension gaps."""
    from surveys.response_table import read_response_table

    if not instrument.items_with(Measure.TEXT):
        return []
    records = read_response_table(data, instrument, require_complete=False)
    return comments_from_records(records, instrument)


def comments_from_database(
    engine: Engine,
    campaign_keys: Sequence[str],
    instrument: Instrument,
    *,
    limit: int = DEFAULT_POLICY.max_input,
) -> list[Comment]:
    """The free-text answers of the stored responses of ``campaign_keys`` (the first ``limit``
    respondents with one, in response order: the comment rule reads no more), each with the
    respondent's dimension gaps, segment, stage and channel: ``analysis.scope.scope_comments``
    of the campaigns' scope. ``instrument`` is the one the campaigns field."""
    from sqlalchemy import select

    from analysis.scope import Scope, scope_comments
    from surveys.models import Campaign

    if not campaign_keys or limit <= 0:
        return []
    with engine.connect() as connection:
        versions = set(
            connection.scalars(
                select(Campaign.instrument_id).where(Campaign.key.in_(list(campaign_keys)))
            )
        )
    if len(versions) != 1:
        return []  # unknown keys, or several instrument versions: the assessment refused them
    scope = Scope(instrument_version_id=versions.pop(), campaigns=tuple(campaign_keys))
    return scope_comments(engine, scope, instrument, limit=limit)
