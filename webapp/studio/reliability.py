"""The reliability table of the studio: the statistics engine's reliability blocks (Cronbach's
alpha with the Feldt interval, corrected item-total r, alpha-if-deleted; methods.md,
"Reliability") for an instrument version, or one campaign of it, read from the aggregate cells.

The engine decides what is shown: a block with fewer complete respondents than the minimum
reporting size carries no statistics, only its n and the reason; warnings (alpha below 0.7, an
item-total r below 0.3) come with the block.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from analysis.assessment import assess
from analysis.reliability import ALPHA_WARNING, ITEM_TOTAL_WARNING
from analysis.results import Reliability
from analysis.store import cells_from_database
from analysis.suppression import MIN_CELL
from surveys.instrument import Instrument

METHOD = (
    "Cronbach's alpha on respondents who answered every item of the dimension (listwise), "
    "with Feldt's 95% interval; item-total r is each item's correlation with the sum of the "
    f"other items; warnings below alpha {ALPHA_WARNING} and item-total r {ITEM_TOTAL_WARNING}; "
    "reported for expectations and perceptions separately, because difference scores are less "
    "reliable than their parts (methods.md, Reliability)."
)


@dataclass(frozen=True)
class ReliabilityView:
    """What the page shows: respondents in scope, the minimum cell, and one row per block
    (empty when the whole scope is below the minimum)."""

    n: int
    min_cell: int
    rows: tuple[Reliability, ...]
    method: str = METHOD

    @property
    def suppressed(self) -> bool:
        return self.n < self.min_cell


def reliability_view(
    engine: Engine,
    instrument_version_id: int,
    instrument: Instrument,
    campaign_key: str | None = None,
    *,
    min_cell: int = MIN_CELL,
) -> ReliabilityView:
    """The reliability blocks of the version's responses (of one campaign when given)."""
    cells = cells_from_database(
        engine,
        instrument_version_id=instrument_version_id,
        campaign_keys=(campaign_key,) if campaign_key else (),
    )
    assessment = assess(cells, instrument, min_cell=min_cell, targets=())
    whole = assessment.whole
    rows = whole.reliability if whole is not None else ()
    return ReliabilityView(assessment.meta.n_responses, min_cell, rows)
