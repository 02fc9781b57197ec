"""Insights pages for managers: the dashboard of a scope, method notes, service standards
(targets) and the PDF report of the same scope (rendered by a background job)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from analysis.assessment import Assessment
from analysis.report.fetcher import PACKAGED_ASSETS
from analysis.report.inputs import distributions_from_cells
from analysis.report.render import render_report
from analysis.results import AnalysisError
from analysis.scope import assess_scope, instrument_of_version, scope_cells, scope_comments
from analysis.sufficient import CellKey, CellStats
from surveys.db import write_session
from surveys.errors import NotFoundError, SurveysError
from surveys.instrument import Instrument
from surveys.models import InstrumentVersion, Role, Target
from surveys.services import audit, instruments
from surveys.services import targets as target_service
from webapp.auth.policy import public
from webapp.database import get_engine, get_session, release_session
from webapp.insights import bp
from webapp.insights.dashboard import DASHBOARDS, METHOD_NOTES
from webapp.insights.forms import TargetForm
from webapp.insights.jobs import EXTENSION, BusyError, JobState, ReportJobs
from webapp.insights.params import (
    AXES,
    ScopeChoice,
    options,
    parse_scope,
    taxonomy_labels,
)

#: The dashboard's (and its PDF's) breakdown: the segment × stage heat map.
BY = ("segment", "stage")


# The dashboard --------------------------------------------------------------------------------
@bp.get("/")
def index() -> ResponseReturnValue:
    """The dashboard of the scope the GET parameters choose."""
    session = get_session()
    choice = parse_scope(session, request.args)
    context: dict[str, Any] = {
        "choice": choice,
        "options": options(session, choice.row),
        "selected": _selected(request.args, choice),
        "query": urlencode(choice.query()),
        "board": None,
    }
    if choice.row is None or choice.scope is None or choice.errors:
        status = 400 if choice.errors else 200
        return render_template("insights/dashboard.html", **context), status
    instrument = _assessed_instrument(choice.row)
    labels = taxonomy_labels(session)
    release_session()
    try:
        assessment = _assess(get_engine(), choice, instrument)
    except AnalysisError as error:
        choice.errors.append(str(error))
        return render_template("insights/dashboard.html", **context), 400
    scope = choice.scope
    board = DASHBOARDS.get_or_build(
        assessment, instrument, lambda: scope_comments(get_engine(), scope, instrument), labels
    )
    context["board"] = board
    context["generated"] = board.generated_at
    return render_template("insights/dashboard.html", **context)


def _assess(
    engine: Engine,
    choice: ScopeChoice,
    instrument: Instrument,
    cells: Mapping[CellKey, CellStats] | None = None,
) -> Assessment:
    """The one assessment of the scope that the dashboard and its PDF both render."""
    if choice.scope is None:
        raise AnalysisError("no scope chosen")
    return assess_scope(
        engine, choice.scope, by=BY, cells=cells, period=choice.period, targets=instrument.targets
    )


def _assessed_instrument(row: InstrumentVersion) -> Instrument:
    """The version with its file's targets and the database's active ones (the report names
    each target by the label this instrument carries)."""
    return target_service.with_database_targets(get_session(), row)


def _selected(args: MultiDict[str, str], choice: ScopeChoice) -> dict[str, Any]:
    """What the scope form shows as chosen (echoes the parameters, even wrong ones)."""
    chosen: dict[str, Any] = {name: set(args.getlist(name)) for name in ("campaign", *AXES)}
    chosen["instrument"] = (
        f"{choice.row.key}:{choice.row.version}" if choice.row is not None else ""
    )
    chosen["from"] = args.get("from", "")
    chosen["to"] = args.get("to", "")
    chosen["period"] = choice.period
    return chosen


@bp.get("/methods")
def methods() -> ResponseReturnValue:
    """The method note of every number the dashboard shows (anchors ``#m-<name>``)."""
    return render_template("insights/methods.html", notes=METHOD_NOTES)


# The PDF report -------------------------------------------------------------------------------
@bp.post("/reports")
def start_report() -> ResponseReturnValue:
    """Queue the PDF of the scope in the form (the dashboard's), then show its wait page."""
    if not request.form.get("instrument"):
        flash("Choose an instrument for the report.", "error")
        return redirect(url_for("insights.index"), 303)
    session = get_session()
    choice = parse_scope(session, request.form)
    if choice.row is None or choice.scope is None or choice.errors:
        flash("The report's scope is not valid: " + "; ".join(choice.errors), "error")
        return redirect(url_for("insights.index"), 303)
    instrument = _assessed_instrument(choice.row)
    labels = taxonomy_labels(session)
    engine = get_engine()
    organisation = current_app.config["GAPMETER_ORGANISATION"]
    scope = choice.scope

    def render() -> bytes:
        cells = scope_cells(engine, scope)
        assessment = _assess(engine, choice, instrument, cells)
        comments = scope_comments(engine, scope, instrument)
        stored = instrument_of_version(engine, scope.instrument_version_id)
        return render_report(
            assessment.to_json(),
            instrument,
            comments=comments,
            distributions=distributions_from_cells(cells, stored),
            organisation=organisation,
            taxonomy_labels=labels,
        )

    filename = _filename(choice.row)
    try:
        job = report_jobs().submit(current_user.id, urlencode(choice.query()), filename, render)
    except BusyError:
        flash("Many reports are being rendered right now. Try again in a minute.", "error")
        return redirect(url_for("insights.index", **_multi(choice)), 303)
    return redirect(url_for("insights.report", job_id=job.id), 303)


@bp.get("/reports/<job_id>")
def report(job_id: str) -> ResponseReturnValue:
    """The wait page: refreshes itself while the PDF renders, then links to it."""
    job = _own_job(job_id)
    reply = current_app.make_response(render_template("insights/report.html", job=job))
    if job.pending:  # the page's <meta http-equiv="refresh">, also as a header
        reply.headers["Refresh"] = "2"
    return reply


@bp.get("/reports/<job_id>/pdf")
def report_pdf(job_id: str) -> ResponseReturnValue:
    job = _own_job(job_id)
    if job.state != "done":
        return redirect(url_for("insights.report", job_id=job.id), 303)
    return send_file(
        io.BytesIO(report_jobs().pdf(job).read_bytes()),  # a few hundred KB; no open file left
        mimetype="application/pdf",
        as_attachment=True,
        download_name=job.filename,
        max_age=0,
    )


def report_jobs() -> ReportJobs:
    jobs: ReportJobs = current_app.extensions[EXTENSION]
    return jobs


def _own_job(job_id: str) -> JobState:
    job = report_jobs().get(job_id)
    if job is None or (job.owner != current_user.id and current_user.role != Role.ADMIN):
        abort(404)
    return job


def _filename(row: InstrumentVersion) -> str:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"gapmeter-{row.key}-v{row.version}-{day}.pdf"


def _multi(choice: ScopeChoice) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in choice.query():
        values.setdefault(name, []).append(value)
    return values


# Targets --------------------------------------------------------------------------------------
@bp.get("/targets")
def targets() -> ResponseReturnValue:
    """Every stored target (active first), and the instruments' own targets."""
    session = get_session()
    rows = target_service.list_targets(session)
    latest = {row.key: row for row in instruments.list_instruments(session)}  # highest last
    listed = []
    for target in rows:
        version = latest.get(target.instrument_key)
        fits = version is not None and target_service.applies_to(session, target, version)
        listed.append({"target": target, "fits": fits, "version": version})
    own = [
        (row, spec) for row in latest.values() for spec in instruments.instrument_of(row).targets
    ]
    return render_template(
        "insights/targets.html", listed=listed, own=own, versions=list(latest.values())
    )


@bp.route("/targets/new", methods=["GET", "POST"])
def new_target() -> ResponseReturnValue:
    row = _version_from(request.args.get("instrument", ""))
    form = TargetForm()
    _prepare(form, row)
    if form.validate_on_submit():
        fields = _fields(form)
        release_session()
        try:
            with write_session(get_engine()) as writing:
                version = _version_in(writing, row)
                target_service.create_target(
                    writing, version, form.key.data or "", fields, actor=_actor()
                )
        except SurveysError as error:
            return _target_page(form, row, None, str(error))
        flash(f"Target {form.key.data} created.")
        return redirect(url_for("insights.targets"), 303)
    return _target_page(form, row, None)


@bp.route("/targets/<int:target_id>/edit", methods=["GET", "POST"])
def edit_target(target_id: int) -> ResponseReturnValue:
    session = get_session()
    target = _target(target_id)
    row = instruments.get_instrument(session, target.instrument_key)
    if row is None or target.retired_at is not None:
        abort(404)
    form = TargetForm(obj=target if request.method == "GET" else None)
    if request.method == "GET":
        for axis in AXES:
            getattr(form, axis).data = (target.scope or {}).get(axis, "")
        form.subject.data = target.subject or ""
    form.key.data = target.key  # the key does not change
    _prepare(form, row)
    if form.validate_on_submit():
        fields = _fields(form)
        release_session()
        try:
            with write_session(get_engine()) as writing:
                stored = target_service.get_target(writing, target_id)
                version = _version_in(writing, row)
                target_service.update_target(writing, stored, version, fields, actor=_actor())
        except SurveysError as error:
            return _target_page(form, row, target_id, str(error))
        flash(f"Target {target.key} saved.")
        return redirect(url_for("insights.targets"), 303)
    return _target_page(form, row, target_id)


@bp.post("/targets/<int:target_id>/retire")
def retire_target(target_id: int) -> ResponseReturnValue:
    _target(target_id)
    release_session()
    with write_session(get_engine()) as writing:
        stored = target_service.get_target(writing, target_id)
        target_service.retire_target(writing, stored, actor=_actor())
        key = stored.key
    flash(f"Target {key} retired: it is no longer assessed.")
    return redirect(url_for("insights.targets"), 303)


def _target(target_id: int) -> Target:
    try:
        return target_service.get_target(get_session(), target_id)
    except SurveysError:
        abort(404)


def _version_in(session: Session, row: InstrumentVersion) -> InstrumentVersion:
    """``row`` as seen by ``session`` (a write session of its own)."""
    found = session.get(InstrumentVersion, row.id)
    if found is None:
        raise NotFoundError(f"instrument version {row.key} v{row.version} is gone")
    return found


def _version_from(value: str) -> InstrumentVersion:
    """The instrument version ``key:version`` (or the latest of ``key``) a new target is
    checked against; 404 when there is none."""
    key, _, version = value.partition(":")
    session = get_session()
    row = (
        instruments.get_instrument(session, key, int(version) if version.isdigit() else None)
        if key
        else None
    )
    if row is None:
        abort(404)
    return row


def _prepare(form: TargetForm, row: InstrumentVersion) -> None:
    terms = options(get_session(), row)
    form.set_choices(target_service.subject_choices(row), terms)


def _fields(form: TargetForm) -> target_service.TargetFields:
    return target_service.TargetFields(
        metric=form.metric.data or "",
        threshold=float(form.threshold.data or 0.0),
        direction=form.direction.data or "",
        subject=form.subject.data or None,
        scope={axis: getattr(form, axis).data for axis in AXES if getattr(form, axis).data},
        label=form.label.data or None,
    )


def _target_page(
    form: TargetForm, row: InstrumentVersion, target_id: int | None, error: str | None = None
) -> ResponseReturnValue:
    status = 422 if error or form.errors else 200
    page = render_template(
        "insights/target_form.html", form=form, row=row, target_id=target_id, error=error
    )
    return page, status


def _actor() -> str:
    return audit.user_ref(current_user.id)


# Chart fonts ----------------------------------------------------------------------------------
#: The fonts the charts are measured in (the PDF's own OFL files), served so that the SVG text
#: fits in a browser exactly as in the PDF. Only these names; nothing else is read.
CHART_FONTS = {
    "SourceSansPro-Regular.otf": "fonts/SourceSansPro-Regular.otf",
    "NotoSansTC-Regular.otf": "fonts/NotoSansTC-Regular.otf",
}


@bp.get("/fonts/<name>")
@public
def font(name: str) -> ResponseReturnValue:
    """A chart font (public: free fonts, cacheable; no data)."""
    asset = PACKAGED_ASSETS.get(CHART_FONTS.get(name, ""))
    if asset is None:
        abort(404)
    reply = current_app.response_class(asset.read(), mimetype=asset.mime)
    reply.cache_control.public = True
    reply.cache_control.max_age = 7 * 86400
    return reply
