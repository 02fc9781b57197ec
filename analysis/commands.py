"""``gapmeter analyze``: an assessment of a response table (or, through a registered source,
of stored campaigns) as a terminal summary or the JSON contract.

The database layer adds ``--campaign`` by registering a source with
``register_campaign_source`` (this module imports nothing from the database); without one,
``--campaign`` says that it is not available.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from analysis.assessment import FACTORS, assess
from analysis.data import cells_from_frame, frame_from_records
from analysis.multiplicity import CORRECTIONS
from analysis.sufficient import CellKey, CellStats
from analysis.suppression import MIN_CELL
from analysis.text_output import render_text
from surveys.errors import SurveysError
from surveys.instrument import Instrument


@dataclass(frozen=True)
class CellSource:
    """Where an assessment's cells came from: the cells, their instrument and provenance."""

    cells: Mapping[CellKey, CellStats]
    instrument: Instrument
    data_hash: str
    filters: Mapping[str, Any] = field(default_factory=dict)


#: ``(campaign keys, --instrument path or None) -> CellSource``; raises a ``SurveysError``.
CampaignSource = Callable[[tuple[str, ...], Path | None], CellSource]

_campaign_sources: list[CampaignSource] = []


def register_campaign_source(source: CampaignSource) -> None:
    """Make ``--campaign KEY`` read cells through ``source`` (the latest registration wins)."""
    _campaign_sources.append(source)


def csv_source(data: Path, instrument_path: Path) -> CellSource:
    """Cells from a response table file; segment, stage and channel as they appear in it."""
    from surveys.instrument_loader import load_instrument_file
    from surveys.response_table import read_response_table

    instrument = load_instrument_file(instrument_path)
    raw = data.read_bytes()
    records = read_response_table(data, instrument, require_complete=False)
    cells = cells_from_frame(frame_from_records(records, instrument), instrument)
    return CellSource(
        cells,
        instrument,
        "sha256:" + hashlib.sha256(raw).hexdigest(),
        {"data": data.name},
    )


def choose_source(
    data: Path | None, instrument_path: Path | None, campaigns: tuple[str, ...]
) -> CellSource:
    """The cells of ``--data`` (with ``--instrument``) or of ``--campaign`` keys: the one rule
    ``analyze`` and ``report`` share. Raises ``click.UsageError`` for a wrong combination."""
    if bool(data) == bool(campaigns):
        raise click.UsageError("give either --data (with --instrument) or --campaign")
    if data is not None:
        if instrument_path is None:
            raise click.UsageError("--data needs --instrument, the file the data answers")
        return csv_source(data, instrument_path)
    if not _campaign_sources:
        raise click.UsageError(
            "--campaign needs the database; this installation has no campaign source"
        )
    return _campaign_sources[-1](campaigns, instrument_path)


def _factors(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    chosen = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [part for part in chosen if part not in FACTORS]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} is not a breakdown; choose from {', '.join(FACTORS)}"
        )
    return chosen


@click.command("analyze")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Response table (CSV) to analyse.",
)
@click.option(
    "--instrument",
    "instrument_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Instrument file (YAML) the data answers.",
)
@click.option("--campaign", "campaigns", multiple=True, help="Stored campaign key (repeatable).")
@click.option("--by", callback=_factors, help="Breakdown: segment,stage,channel,period.")
@click.option(
    "--period", type=click.Choice(["month", "quarter"]), default="month", show_default=True
)
@click.option("--min-cell", type=click.IntRange(min=1), default=MIN_CELL, show_default=True)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
)
@click.option("--correction", type=click.Choice(CORRECTIONS), default="holm", show_default=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write here instead of standard output.",
)
def analyze(
    data: Path | None,
    instrument_path: Path | None,
    campaigns: tuple[str, ...],
    by: tuple[str, ...],
    period: str,
    min_cell: int,
    alpha: float,
    correction: str,
    output_format: str,
    out: Path | None,
) -> None:
    """Gaps, scores, reliability, comparisons, trends and targets of survey responses."""
    try:
        source = choose_source(data, instrument_path, campaigns)
        assessment = assess(
            source.cells,
            source.instrument,
            by=by,
            period=period,
            min_cell=min_cell,
            alpha=alpha,
            correction=correction,
            targets=source.instrument.targets,
            data_hash=source.data_hash,
            filters=source.filters,
        )
    except SurveysError as error:
        raise click.ClickException(str(error)) from error
    if output_format == "json":
        text = json.dumps(assessment.to_json(), indent=2, ensure_ascii=False, allow_nan=False)
        text += "\n"
    else:
        text = render_text(assessment)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
