"""``gapmeter report``: the PDF assessment report of a response table or of stored campaigns.

The data options (``--data``, ``--instrument``, ``--campaign``, ``--by``, ``--period``,
``--min-cell``, ``--alpha``, ``--correction``) are the very ``click`` options of
``gapmeter analyze`` (``analysis.commands``), reused rather than redeclared, so the two commands
always accept the same filters and breakdowns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from analysis import commands
from analysis.assessment import assess
from analysis.report.comments import Comment
from analysis.report.inputs import (
    comments_from_database,
    comments_from_table,
    distributions_from_cells,
)
from analysis.report.voice import LANGUAGES, ReportError
from surveys.errors import SurveysError
from surveys.instrument import Instrument

#: Options shared with ``gapmeter analyze`` (by parameter name).
SHARED = ("data", "instrument_path", "campaigns", "by", "period", "min_cell", "alpha", "correction")


#: Where ``--campaign`` reads the respondents' comments: the database the campaign source reads
#: (the CLI registers the app's engine, or a factory for it, with ``register_comment_database``).
_comment_databases: list[Engine | Callable[[], Engine]] = []


def register_comment_database(engine: Engine | Callable[[], Engine]) -> None:
    """Let ``gapmeter report --campaign KEY`` read comments from ``engine`` (latest wins)."""
    _comment_databases.append(engine)


def _comments(
    data: Path | None, campaigns: tuple[str, ...], instrument: Instrument
) -> Sequence[Comment]:
    """Free-text answers of the response table, or of the stored campaigns, with each
    respondent's dimension gaps (``analysis.report.inputs``)."""
    if data is not None:
        return comments_from_table(data, instrument)
    if campaigns and _comment_databases:
        engine = _comment_databases[-1]
        bound = engine if isinstance(engine, Engine) else engine()
        return comments_from_database(bound, campaigns, instrument)
    return ()


def _report(
    data: Path | None,
    instrument_path: Path | None,
    campaigns: tuple[str, ...],
    by: tuple[str, ...],
    period: str,
    min_cell: int,
    alpha: float,
    correction: str,
    out: Path,
    lang: str,
    paper: str,
    organisation: str,
    title: str | None,
    with_comments: bool,
) -> None:
    """Write the PDF assessment report: summary, gap profile, segments and stages, trends,
    service standards, scores, respondents' comments and appendix."""
    from analysis.report.render import render_report
    from analysis.report.sandbox import warm_up

    warm_up()  # WeasyPrint is imported in the render server while the analysis runs
    try:
        source = commands.choose_source(data, instrument_path, campaigns)
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
        comments = _comments(data, campaigns, source.instrument) if with_comments else ()
        pdf = render_report(
            assessment.to_json(),
            source.instrument,
            comments=comments,
            distributions=distributions_from_cells(source.cells, source.instrument),
            organisation=organisation,
            language=lang,
            paper=paper,
            title=title,
        )
    except (SurveysError, ReportError) as error:
        raise click.ClickException(str(error)) from error
    out.write_bytes(pdf)
    click.echo(f"wrote {out} ({len(pdf):,} bytes)")


def _shared_params() -> list[click.Parameter]:
    by_name = {param.name: param for param in commands.analyze.params}
    missing = [name for name in SHARED if name not in by_name]
    if missing:  # pragma: no cover - guards the coupling with `analyze`
        raise RuntimeError(f"gapmeter analyze no longer has {', '.join(missing)}")
    return [by_name[name] for name in SHARED]


def _callback(**options: Any) -> None:
    _report(**options)


report = click.Command(
    "report",
    callback=_callback,
    help=_report.__doc__,
    params=[
        *_shared_params(),
        click.Option(
            ["--out"],
            type=click.Path(dir_okay=False, writable=True, path_type=Path),
            required=True,
            help="PDF file to write.",
        ),
        click.Option(
            ["--lang"],
            type=click.Choice(LANGUAGES),
            default="en",
            show_default=True,
            help="Language of the report.",
        ),
        click.Option(
            ["--paper"],
            type=click.Choice(["A4", "Letter"], case_sensitive=False),
            default="A4",
            show_default=True,
        ),
        click.Option(
            ["--organisation"], default="Gapmeter", show_default=True, help="Shown on the cover."
        ),
        click.Option(["--title"], default=None, help="Report title (default: per language)."),
        click.Option(
            ["--comments/--no-comments", "with_comments"],
            default=True,
            show_default=True,
            help="Include respondents' comments (the text answers of the table or campaigns).",
        ),
    ],
)
