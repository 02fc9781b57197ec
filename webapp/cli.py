"""The ``gapmeter`` command: one entry point for researchers, managers and operators.

It sits at the top of the dependency chain (style.md 3.3 (i)), so it may import all three
packages. Domain errors are printed as their located messages and end the command with exit
status 1 (2 for usage errors, as click does); nothing prints a traceback on bad input.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import current_app, has_app_context
from flask.cli import AppGroup, FlaskGroup, ScriptInfo
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from surveys import taxonomy
from surveys.db import read_session, write_session
from surveys.errors import SurveysError
from webapp import create_app
from webapp.database import get_engine as _engine

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _writing() -> Iterator[Session]:
    with write_session(_engine()) as session:
        yield session


def domain_errors(func: F) -> F:
    """Turn a domain error into its message on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SurveysError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _parse_when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time") from error
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
@click.version_option(package_name="gapmeter")
def main() -> None:
    """Gapmeter: customer feedback and service-quality gap measurement."""


# Database -----------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@domain_errors
def db_upgrade() -> None:
    """Create or migrate the database to the current schema, with the default taxonomy."""
    from surveys.migrate import upgrade

    upgrade(current_app.config["GAPMETER_DATABASE_URL"])
    with _writing() as session:
        taxonomy.ensure_defaults(session)
    click.echo("database is up to date")


# Instruments --------------------------------------------------------------------------------
@main.group()
def instrument() -> None:
    """Questionnaire files: validate, list, show, load, schema."""


@instrument.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def instrument_validate(paths: tuple[Path, ...]) -> None:
    """Check instrument files; every problem is listed with its file, line and field."""
    from surveys.errors import InstrumentError
    from surveys.instrument_loader import load_instrument_file

    failed = 0
    for path in paths:
        try:
            loaded = load_instrument_file(path)
        except InstrumentError as error:
            failed += 1
            for problem in error.problems:
                click.echo(str(problem), err=True)
        else:
            click.echo(
                f"{path}: ok ({loaded.key} v{loaded.version}, {len(loaded.items)} items, "
                f"languages {', '.join(loaded.languages)})"
            )
    if failed:
        sys.exit(1)


@instrument.command("schema")
def instrument_schema() -> None:
    """Print the published JSON Schema of instrument files."""
    import json

    from surveys.instrument_loader import instrument_schema as schema

    click.echo(json.dumps(schema(), indent=2, ensure_ascii=False))


@instrument.command("list")
def instrument_list() -> None:
    """Stored instruments and their versions."""
    from surveys.services.instruments import list_instruments

    with read_session(_engine()) as session:
        rows = list_instruments(session)
        if not rows:
            click.echo("no instruments stored (load one with: gapmeter instrument load PATH)")
        for row in rows:
            click.echo(f"{row.key}\tv{row.version}\t{row.title}\t{row.content_hash[:12]}")


@instrument.command("show")
@click.argument("key")
@click.option("--version", "version", type=int, help="Default: the latest version.")
@domain_errors
def instrument_show(key: str, version: int | None) -> None:
    """Print a stored instrument as canonical JSON."""
    import json

    from surveys.errors import NotFoundError
    from surveys.services.instruments import get_instrument

    with read_session(_engine()) as session:
        row = get_instrument(session, key, version)
        if row is None:
            raise NotFoundError(f"no instrument {key!r}" + (f" v{version}" if version else ""))
        click.echo(json.dumps(row.definition, indent=2, ensure_ascii=False))


@instrument.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@domain_errors
def instrument_load(paths: tuple[Path, ...]) -> None:
    """Validate and store instrument versions (an answered version cannot change)."""
    from surveys.instrument_loader import load_instrument_file
    from surveys.services.instruments import register_instrument

    for path in paths:
        loaded = load_instrument_file(path)
        with _writing() as session:
            row = register_instrument(session, loaded, path.read_text(encoding="utf-8"))
            click.echo(f"{path}: stored {row.key} v{row.version} ({row.content_hash[:12]})")


# Taxonomy -----------------------------------------------------------------------------------
def _taxonomy_group(kind: str) -> click.Group:
    group = AppGroup(kind, help=f"The {kind}s responses are classified by.")

    @group.command("list")
    def list_() -> None:
        with read_session(_engine()) as session:
            for term in taxonomy.list_terms(session, kind):
                click.echo(f"{term.key}\t{term.label}")

    @group.command("add")
    @click.argument("key")
    @click.argument("label")
    @domain_errors
    def add(key: str, label: str) -> None:
        with _writing() as session:
            taxonomy.add_term(session, kind, key, label)
        click.echo(f"added {kind} {key}")

    @group.command("rename")
    @click.argument("key")
    @click.argument("label")
    @domain_errors
    def rename(key: str, label: str) -> None:
        with _writing() as session:
            taxonomy.rename_term(session, kind, key, label)
        click.echo(f"renamed {kind} {key}")

    @group.command("remove")
    @click.argument("key")
    @domain_errors
    def remove(key: str) -> None:
        with _writing() as session:
            taxonomy.remove_term(session, kind, key)
        click.echo(f"removed {kind} {key}")

    return group


for _kind in ("segment", "stage", "channel"):
    main.add_command(_taxonomy_group(_kind))


# Campaigns and invitations ------------------------------------------------------------------
@main.group()
def campaign() -> None:
    """Fieldings of an instrument version for a stage and channel."""


@campaign.command("create")
@click.option("--key", required=True, help="Short name used in the survey link /s/KEY.")
@click.option("--name", required=True)
@click.option("--instrument", "instrument_ref", required=True, help="KEY or KEY:VERSION.")
@click.option("--stage", required=True)
@click.option("--channel", required=True)
@click.option("--segment", help="Segment of every respondent of an open link.")
@click.option("--access", type=click.Choice(["open", "invitation"]), default="open")
@click.option("--opens", help="ISO 8601; default now.")
@click.option("--closes", help="ISO 8601; default never.")
@domain_errors
def campaign_create(
    key: str,
    name: str,
    instrument_ref: str,
    stage: str,
    channel: str,
    segment: str | None,
    access: str,
    opens: str | None,
    closes: str | None,
) -> None:
    """Create a campaign."""
    from surveys.errors import NotFoundError
    from surveys.models import Access
    from surveys.services.campaigns import create_campaign
    from surveys.services.instruments import get_instrument

    instrument_key, _, version = instrument_ref.partition(":")
    with _writing() as session:
        row = get_instrument(session, instrument_key, int(version) if version else None)
        if row is None:
            raise NotFoundError(f"no instrument {instrument_ref!r}; load it first")
        created = create_campaign(
            session,
            key=key,
            name=name,
            instrument_row=row,
            stage=stage,
            channel=channel,
            segment=segment,
            access=Access(access),
            opens_at=_parse_when(opens),
            closes_at=_parse_when(closes),
        )
        click.echo(f"created campaign {created.key}: {_base_url()}/s/{created.key}")


@campaign.command("list")
def campaign_list() -> None:
    """Campaigns with their state and response counts."""
    from sqlalchemy import func

    from surveys.models import Campaign, Response

    with read_session(_engine()) as session:
        counts = dict(
            session.execute(
                select(Response.campaign_id, func.count()).group_by(Response.campaign_id)
            ).all()
        )
        for row in session.scalars(select(Campaign).order_by(Campaign.key)):
            click.echo(
                f"{row.key}\t{row.state()}\t{row.instrument.key} v{row.instrument.version}"
                f"\t{row.stage}/{row.channel}\t{counts.get(row.id, 0)} responses"
            )


def _set_window(key: str, **window: datetime | None) -> None:
    from surveys.errors import NotFoundError
    from surveys.services.campaigns import get_campaign

    with _writing() as session:
        row = get_campaign(session, key)
        if row is None:
            raise NotFoundError(f"no campaign {key!r}")
        for name, value in window.items():
            setattr(row, name, value)


@campaign.command("close")
@click.argument("key")
@domain_errors
def campaign_close(key: str) -> None:
    """Close a campaign now."""
    _set_window(key, closes_at=datetime.now(UTC))
    click.echo(f"closed {key}")


@campaign.command("open")
@click.argument("key")
@domain_errors
def campaign_open(key: str) -> None:
    """Open a campaign now, with no closing date."""
    _set_window(key, opens_at=datetime.now(UTC), closes_at=None)
    click.echo(f"opened {key}")


def _base_url() -> str:
    return str(current_app.config.get("GAPMETER_BASE_URL", "http://127.0.0.1:5000")).rstrip("/")


@main.command("invite")
@click.option("--campaign", "campaign_key", required=True)
@click.option("--count", type=click.IntRange(1, 1_000_000), help="How many personal links.")
@click.option("--segment", help="Segment of these respondents (with --count).")
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV of respondents: a segment column, other columns kept as attributes.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--base-url", help="Public address of the survey site (default GAPMETER_BASE_URL).")
@domain_errors
def invite(
    campaign_key: str,
    count: int | None,
    segment: str | None,
    source: Path | None,
    out: Path,
    base_url: str | None,
) -> None:
    """Issue one-time invitation tokens and write a CSV of personal links."""
    from surveys.errors import NotFoundError
    from surveys.services.campaigns import get_campaign
    from surveys.services.invitations import (
        invitations_from_csv,
        issue_invitations,
        write_invitation_links,
    )

    if (count is None) == (source is None):
        raise click.UsageError("give either --count N --segment S, or --from FILE.csv")
    if count is not None and not segment:
        raise click.UsageError("--count needs --segment")
    with _writing() as session:
        row = get_campaign(session, campaign_key)
        if row is None:
            raise NotFoundError(f"no campaign {campaign_key!r}")
        if source is not None:
            with source.open(encoding="utf-8-sig", newline="") as stream:
                issued = invitations_from_csv(session, row, stream)
        else:
            issued = issue_invitations(session, row, count or 0, segment or "")
    with out.open("w", encoding="utf-8", newline="") as stream:
        write_invitation_links(issued, (base_url or _base_url()).rstrip("/"), stream)
    click.echo(f"issued {len(issued)} invitations; links written to {out}")


# Responses ----------------------------------------------------------------------------------
@main.group()
def responses() -> None:
    """The response table (CSV): export and import."""


@responses.command("export")
@click.option("--campaign", "campaign_key", required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@domain_errors
def responses_export(campaign_key: str, out: Path | None) -> None:
    """Write a campaign's responses in the CSV response format."""
    from surveys.response_table import export_response_table

    if out is None:
        export_response_table(_engine(), campaign_key=campaign_key, stream=sys.stdout)
        return
    with out.open("w", encoding="utf-8", newline="") as stream:
        export_response_table(_engine(), campaign_key=campaign_key, stream=stream)
    click.echo(f"written {out}", err=True)


@responses.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "campaign_key", required=True)
@domain_errors
def responses_import(path: Path, campaign_key: str) -> None:
    """Import a CSV: every row is checked first; all rows are imported or none."""
    from surveys.errors import ImportRowsError
    from surveys.models import Source
    from surveys.response_table import import_response_table

    try:
        result = import_response_table(
            _engine(), path, campaign_key=campaign_key, source=Source.IMPORT
        )
    except ImportRowsError as error:
        for problem in error.problems:
            click.echo(f"{path}: {problem}", err=True)
        click.echo(f"nothing imported: {len(error.problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"imported {result.added} responses; {result.duplicates} already present")


# The main job ---------------------------------------------------------------------------------
@main.command("demo")
@click.option("--responses", "count", default=5000, show_default=True, type=click.IntRange(0))
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--serve/--no-serve", default=True, show_default=True)
@domain_errors
def demo(count: int, seed: int, host: str, port: int, serve: bool) -> None:
    """Set up a database with the library, campaigns and a year of synthetic responses, print
    the links, and serve the app."""
    from surveys.demo import populate_demo
    from webapp.auth.commands import create_demo_accounts

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"database: {app.config['GAPMETER_DATABASE_URL']}")
    base = f"http://{host}:{port}"
    if "GAPMETER_BASE_URL" not in os.environ:  # links the studio issues point at this server
        app.config["GAPMETER_BASE_URL"] = base
    summary = populate_demo(_engine(), responses=count, seed=seed)
    for line in summary.describe(base):
        click.echo(line)
    click.echo(f"demo accounts (sign in at {base}/login; passwords are new on every demo run):")
    for email, role, password in create_demo_accounts(_engine()):
        click.echo(f"  {role:<10} {email:<24} {password}")
    if serve:
        from werkzeug.serving import run_simple

        click.echo(f"serving on {base}/ (Ctrl+C to stop)")
        run_simple(host, port, app, threaded=True, use_reloader=False)


def _register_package_commands() -> None:
    """Commands that live with their package: accounts and keys (``webapp.auth``), ``analyze``
    and ``report`` (``analysis``), whose ``--campaign`` reads the app's database."""
    from analysis.commands import analyze
    from analysis.report.command import register_comment_database, report
    from analysis.store import register_analyze_campaigns
    from webapp.auth.commands import apikey, user

    for command in (user, apikey, analyze, report):
        main.add_command(command)
    register_analyze_campaigns(_app_engine)
    register_comment_database(_app_engine)


def _app_engine() -> Engine:
    """The app's engine for a command that runs without an app context (``analyze``)."""
    if has_app_context():
        return _engine()
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        return _engine()


_register_package_commands()
